//! Stacks recorded or sampled beside cProfile, made to agree with it:
//! [`Profile::guided_by`].
//!
//! `flameprof run` records the program's call paths while cProfile counts its calls
//! (or, where its recorder cannot be loaded, samples its stacks). cProfile knows every
//! function's own time exactly, and each caller→callee edge's own time of the callee
//! (`tt` of the callers dict), but no stack. The recorded paths know every stack and
//! its own time, measured with their own clock beside cProfile's; samples know the
//! real stacks too, but are few and see no builtin. The guided stacks take the shape
//! from the stacks and every amount from cProfile:
//!
//! 1. Each stack is mapped onto the profile's functions (frames it does not know are
//!    left out), and a builtin that called back into Python (a sort key, a `map`
//!    function, `exec`) is put back between the two Python frames where the profile
//!    has no direct call but one through a builtin (samples lack them).
//! 2. A sample ends at the Python function that was running or had called a builtin.
//!    Its time is split between the function itself and the builtins it calls, in the
//!    proportions of the function's own time and those builtins' own time under it.
//!    (A recorded path holds its own time only, its builtins' on their own paths.)
//! 3. The stacks ending in a function under a caller are scaled so that they hold
//!    exactly its own time under that caller (the edge's `tt`), and at the root what
//!    no edge holds: every function's self time is pstats' in every output, and so is
//!    its split between its callers, which a sampler caught at the calls it makes
//!    would skew.
//! 4. Own time the stacks never saw under a caller (a function too short to be
//!    caught) is spread as the stats alone would draw it there (the caller passes
//!    that estimate in); where the estimate does not draw it either, it goes under
//!    the stacks of that caller in proportion to the time under its heaviest frames;
//!    a caller never seen either is looked for further up, through each function's
//!    heaviest caller.
//!
//! The result is the profile with these stacks attached in nanoseconds; each stack
//! keeps how many samples back it, so that the trees can say how sure each frame is:
//! a recorded stack is backed without bound (it is exact), unless step 4 added to it.

use std::collections::{BTreeMap, HashMap};

use super::stacks::{RawStacks, StackValue, Stacks};
use super::{EdgeStats, FuncId, Profile};

/// Stacks (root first) with their time in seconds, the samples behind it (unbounded
/// for a recorded stack) and the calls of its last frame on it (recorded stacks; NaN
/// for unknown).
type SampledStacks = BTreeMap<Vec<FuncId>, (f64, f64, f64)>;

/// A stack (root first) ending in a function, and a time on it.
pub type Head = (Vec<FuncId>, f64);

/// What stands behind stacks kept beside a profile of calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Samples: as many as the stacks file's header counts in all, from which each
    /// stack's support is counted; without it, one per stack.
    Sampled(Option<u64>),
    /// Every call, recorded: each stack as the program ran it.
    Recorded,
}

/// At most this many of a function's stack prefixes take the time of a callee the
/// samples never saw, the heaviest, as many as hold [`HEADS_SHARE`] of its time.
const MAX_HEADS: usize = 16;
const HEADS_SHARE: f64 = 0.95;

/// How many callers up an unseen function's time looks for a caller that was seen.
const MAX_CALLER_HOPS: usize = 256;

impl Profile {
    /// This profile (cProfile's) with the stacks of `sampled` (recorded or sampled in
    /// this very run, as `backing` says) made to agree with it, as the module comment
    /// says. `None` when the stacks hold no time on any function of the profile.
    ///
    /// `unseen(f)` gives the stacks (root first, ending in `f`) and own times over which
    /// to spread the own time of `f` the samples never saw: the estimate from the stats
    /// alone, where the caller of this model has one; empty, and that time goes under
    /// the stacks of `f`'s callers (step 4).
    pub fn guided_by(
        &self,
        sampled: &Profile,
        backing: Backing,
        unseen: &dyn Fn(FuncId) -> Vec<Head>,
    ) -> Option<Profile> {
        let stacks = sampled.stacks()?;
        let ids: Vec<Option<FuncId>> = (sampled.functions().iter())
            .map(|f| self.find(&f.key))
            .collect();
        let g = Guide::new(self);
        // (stack, time in seconds, samples) with builtins split off the leaves.
        let mut leaves: SampledStacks = BTreeMap::new();
        let per_sample = match backing {
            Backing::Sampled(samples) => mean_sample(stacks, samples),
            Backing::Recorded => 0.0,
        };
        let recorded = backing == Backing::Recorded;
        if recorded {
            // The recorded stacks come sorted and distinct, and both profiles number
            // their functions in the order of their keys: mapped, they stay in order
            // but where a frame the profile lacks is left out (then two stacks may
            // become one). So they are sorted (a check, mostly) and merged, rather
            // than looked up one by one in the maps.
            let unit = stacks.unit().weight();
            let mut mapped: Vec<(Vec<FuncId>, f64, f64)> = (stacks.iter().enumerate())
                .map(|(i, (frames, value))| {
                    let stack: Vec<FuncId> =
                        frames.iter().filter_map(|&f| ids[f as usize]).collect();
                    (
                        stack,
                        value as f64 * unit,
                        stacks.calls(i).unwrap_or(f64::NAN),
                    )
                })
                .filter(|s| !s.0.is_empty())
                .collect();
            mapped.sort_by(|a, b| a.0.cmp(&b.0));
            mapped.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    kept.1 += later.1;
                    kept.2 += later.2;
                }
                same
            });
            leaves = (mapped.into_iter())
                .map(|(stack, seconds, calls)| (stack, (seconds, f64::INFINITY, calls)))
                .collect();
        }
        for (frames, value) in stacks.iter().filter(|_| !recorded) {
            let seconds = value as f64 * stacks.unit().weight();
            let mapped: Vec<FuncId> = frames.iter().filter_map(|&f| ids[f as usize]).collect();
            let Some(stack) = g.with_builtins(&mapped) else {
                continue;
            };
            let samples = if per_sample > 0.0 {
                seconds / per_sample
            } else {
                0.0
            };
            g.split_leaf(stack, seconds, samples, &mut leaves);
        }
        if leaves.is_empty() {
            return None;
        }
        let mut stacks = g.scaled(leaves);
        g.place_unseen(&mut stacks, unseen);
        let mut raw = RawStacks {
            unit: StackValue::Nanoseconds,
            ..RawStacks::default()
        };
        let order = stacks.iter();
        let mut support = Vec::with_capacity(order.len());
        let mut carry = 0.0;
        for (frames, &(seconds, samples, called)) in order {
            let exact = seconds * 1e9 + carry;
            let ns = exact.round().max(0.0);
            carry = exact - ns;
            if ns < 1.0 {
                continue;
            }
            if backing == Backing::Recorded {
                // The calls of a stack as recorded; unknown where time was placed on it.
                let n = Some(called).filter(|n| n.is_finite() && samples.is_infinite());
                raw.push_called(
                    frames.iter().copied(),
                    ns as u64,
                    n.map_or(u64::MAX, |n| n as u64),
                );
            } else {
                raw.push(frames.iter().copied(), ns as u64);
            }
            support.push(samples);
        }
        let guided = Stacks::from_sorted_raw(raw, support);
        let mut profile = self.clone();
        profile.stacks = Some(guided);
        Some(profile)
    }
}

impl Profile {
    /// This profile (of calls) drawn from `recording`'s stacks as they are, when its
    /// numbers were derived from that very recording (so that the stacks hold every
    /// own time of it already) and both name the same functions in the same order:
    /// every stack recorded, so every frame exact. `None` when they name other
    /// functions; [`Profile::guided_by`] then makes them agree.
    pub fn drawn_from(&self, recording: &Profile) -> Option<Profile> {
        let stacks = recording.stacks()?;
        let same = self.functions().len() == recording.functions().len()
            && (self.functions().iter())
                .zip(recording.functions())
                .all(|(a, b)| a.key == b.key);
        if !same || stacks.unit() != StackValue::Nanoseconds {
            return None;
        }
        let mut profile = self.clone();
        profile.stacks = Some(stacks.recorded());
        Some(profile)
    }
}

/// Seconds per sample: the sampled time over the samples the file's header counts, or
/// (no header) over the stacks.
fn mean_sample(stacks: &Stacks, samples: Option<u64>) -> f64 {
    let total = stacks.total();
    let samples = samples.unwrap_or(stacks.len() as u64);
    if samples > 0 {
        total / samples as f64
    } else {
        0.0
    }
}

/// The profile's numbers the steps read.
struct Guide<'a> {
    profile: &'a Profile,
}

impl<'a> Guide<'a> {
    fn new(profile: &'a Profile) -> Guide<'a> {
        Guide { profile }
    }

    fn is_builtin(&self, f: FuncId) -> bool {
        self.profile.function(f).key.is_builtin()
    }

    /// The edge caller→callee, if the profile has it.
    fn edge(&self, caller: FuncId, callee: FuncId) -> Option<&EdgeStats> {
        let callers = self.profile.callers_of(callee);
        callers
            .binary_search_by_key(&caller, |e| e.caller)
            .ok()
            .map(|i| &callers[i].stats)
    }

    /// The callee's own time under the caller (the callers dict's `tt`).
    fn edge_own(&self, caller: FuncId, callee: FuncId) -> f64 {
        match self.edge(caller, callee) {
            Some(EdgeStats::Timed(s)) => positive(s.tt),
            _ => 0.0,
        }
    }

    /// `stack` with the builtins put back that the samples cannot see: between two
    /// frames with no call between them, the builtin the first called that called the
    /// second (the one whose call holds the most time). `None` for an empty stack.
    fn with_builtins(&self, stack: &[FuncId]) -> Option<Vec<FuncId>> {
        let (&first, rest) = stack.split_first()?;
        let mut out = Vec::with_capacity(stack.len() + 2);
        // The root: a stack that starts below cProfile's root gets its caller.
        out.push(first);
        for &next in rest {
            let prev = *out.last().expect("not empty");
            if self.edge(prev, next).is_none()
                && let Some(b) = self.builtin_between(prev, next)
            {
                out.push(b);
            }
            out.push(next);
        }
        Some(out)
    }

    fn builtin_between(&self, caller: FuncId, callee: FuncId) -> Option<FuncId> {
        let mut best: Option<(f64, FuncId)> = None;
        for e in self.profile.callees_of(caller) {
            if !self.is_builtin(e.callee) {
                continue;
            }
            if let Some(EdgeStats::Timed(s)) = self.edge(e.callee, callee) {
                let t = positive(s.ct);
                if best.is_none_or(|(bt, _)| t > bt) {
                    best = Some((t, e.callee));
                }
            } else if self.edge(e.callee, callee).is_some() && best.is_none() {
                best = Some((0.0, e.callee));
            }
        }
        best.map(|(_, b)| b)
    }

    /// Adds the sample's time to `leaves`: to the stack itself for its top function's
    /// own time, to the stack and a builtin for each builtin the top function calls, in
    /// proportion to their own times under it.
    fn split_leaf(
        &self,
        stack: Vec<FuncId>,
        seconds: f64,
        samples: f64,
        leaves: &mut SampledStacks,
    ) {
        let top = *stack.last().expect("not empty");
        let own = positive(self.profile.function(top).stats.tt);
        let builtins: Vec<(FuncId, f64)> = if self.is_builtin(top) {
            Vec::new()
        } else {
            (self.profile.callees_of(top))
                .filter(|e| self.is_builtin(e.callee) && e.callee != top)
                .map(|e| (e.callee, self.edge_own(top, e.callee)))
                .filter(|&(_, t)| t > 0.0)
                .collect()
        };
        let whole = own + builtins.iter().map(|b| b.1).sum::<f64>();
        let mut add = |stack: Vec<FuncId>, share: f64| {
            let slot = leaves.entry(stack).or_insert((0.0, 0.0, f64::NAN));
            slot.0 += seconds * share;
            slot.1 += samples * share;
        };
        if !whole.is_finite() || whole <= 0.0 {
            add(stack, 1.0);
            return;
        }
        for &(b, t) in &builtins {
            let mut with = stack.clone();
            with.push(b);
            add(with, t / whole);
        }
        add(stack, own / whole);
    }

    /// Each function's stacks scaled to its own time under each caller (a stack's
    /// last two frames): cProfile's edges hold it exactly, so a sampler that catches a
    /// function more often under one caller than its time there (it is sampled at
    /// the calls it makes, say) does not move time between callers.
    fn scaled(&self, leaves: SampledStacks) -> SampledStacks {
        let mut sampled: BTreeMap<(FuncId, Option<FuncId>), f64> = BTreeMap::new();
        for (stack, &(seconds, ..)) in &leaves {
            *sampled.entry(self.leaf_key(stack)).or_default() += seconds;
        }
        leaves
            .into_iter()
            .filter_map(|(stack, (seconds, samples, calls))| {
                let key = self.leaf_key(&stack);
                let target = self.target(key);
                let seen = sampled[&key];
                (seen > 0.0 && target > 0.0)
                    .then(|| (stack, (seconds * target / seen, samples, calls)))
            })
            .collect()
    }

    /// What a leaf's time is scaled against: the function and its caller, when the
    /// profile has that edge with its times; the function alone otherwise.
    fn leaf_key(&self, stack: &[FuncId]) -> (FuncId, Option<FuncId>) {
        let top = stack[stack.len() - 1];
        // An edge with a bare count (the `profile` module's) holds no time to scale to.
        let caller = (stack.len() > 1)
            .then(|| stack[stack.len() - 2])
            .filter(|&c| matches!(self.edge(c, top), Some(EdgeStats::Timed(_))));
        (top, caller)
    }

    /// The own time a leaf key must hold in all: its own time under that caller, or
    /// without one, the part of `tottime` no caller's edge holds (a root's).
    fn target(&self, (f, caller): (FuncId, Option<FuncId>)) -> f64 {
        match caller {
            Some(c) => self.edge_own(c, f),
            None => self.own_at_root(f),
        }
    }

    /// The own time of `f` that no caller's edge holds: all of it for a root.
    fn own_at_root(&self, f: FuncId) -> f64 {
        let under: f64 = (self.profile.callers_of(f).iter())
            .map(|e| self.edge_own(e.caller, f))
            .sum();
        positive(positive(self.profile.function(f).stats.tt) - under)
    }

    /// Places the own time the samples never saw under its callers' stacks (see the
    /// module comment, step 4), caller by caller: what each edge's own time lacks.
    fn place_unseen(&self, stacks: &mut SampledStacks, unseen: &dyn Fn(FuncId) -> Vec<Head>) {
        let n = self.profile.functions().len();
        // What the stacks hold as own time per leaf key (function, caller).
        let mut held: HashMap<(FuncId, Option<FuncId>), f64> = HashMap::new();
        for (stack, &(seconds, ..)) in stacks.iter() {
            *held.entry(self.leaf_key(stack)).or_default() += seconds;
        }
        // Per function, the stack prefixes that end in it and the time under each:
        // made when first needed (a complete recording seldom lacks anything).
        let mut prefixes: Option<Prefixes> = None;
        let mut placed: Vec<(Vec<FuncId>, f64)> = Vec::new();
        // Per caller, its path up to a function the stacks hold (see `seen_ancestor`).
        let mut ancestors: HashMap<FuncId, (Vec<FuncId>, Option<FuncId>)> = HashMap::new();
        for f in 0..n as FuncId {
            let own = positive(self.profile.function(f).stats.tt);
            let tiny = 1e-12 * own.max(1e-300);
            // What each of f's leaf keys lacks: under each caller, and at the root.
            let keys = (self.profile.callers_of(f).iter())
                .map(|e| Some(e.caller))
                .chain(std::iter::once(None));
            let lacking: Vec<(Option<FuncId>, f64)> = keys
                .map(|c| {
                    let key = (f, c);
                    let has = held.get(&key).copied().unwrap_or(0.0);
                    (c, self.target(key) - has)
                })
                .filter(|&(_, t)| t > tiny)
                .collect();
            if lacking.is_empty() {
                continue;
            }
            // The estimate's stacks of f, by the caller they end under.
            let mut estimated: HashMap<Option<FuncId>, Vec<Head>> = HashMap::new();
            for (stack, t) in unseen(f) {
                let t = positive(t);
                if t > 0.0 && !stack.is_empty() {
                    estimated
                        .entry(self.leaf_key(&stack).1)
                        .or_default()
                        .push((stack, t));
                }
            }
            for (caller, amount) in lacking {
                if let Some(heads) = estimated.get(&caller) {
                    let spread: f64 = heads.iter().map(|h| h.1).sum();
                    if spread > 0.0 && spread.is_finite() {
                        for (stack, t) in heads {
                            placed.push((stack.clone(), amount * t / spread));
                        }
                        continue;
                    }
                }
                let Some(caller) = caller else {
                    placed.push((vec![f], amount));
                    continue;
                };
                let prefixes = prefixes.get_or_insert_with(|| Prefixes::of(stacks, n));
                let (path, seen) = ancestors
                    .entry(caller)
                    .or_insert_with(|| self.seen_ancestor(caller, prefixes));
                match seen.and_then(|a| prefixes.of_function(a)) {
                    Some(heads) => {
                        let total: f64 = heads.iter().map(|h| h.1).sum();
                        for (head, weight) in heads {
                            let mut stack = head.clone();
                            stack.extend(path.iter().rev());
                            stack.push(f);
                            placed.push((stack, amount * weight / total));
                        }
                    }
                    None => {
                        let mut stack: Vec<FuncId> = path.iter().rev().copied().collect();
                        stack.push(f);
                        placed.push((stack, amount));
                    }
                }
            }
        }
        for (stack, seconds) in placed {
            let slot = stacks.entry(stack).or_insert((0.0, 0.0, f64::NAN));
            slot.0 += seconds;
            // A recorded stack with time placed on it is no longer as recorded.
            if slot.1.is_infinite() {
                slot.1 = 0.0;
            }
        }
    }

    /// From `caller` up through each function's heaviest caller, the first function
    /// the stacks hold: the path walked (from `caller` up, that function excluded) and
    /// that function. None within [`MAX_CALLER_HOPS`]: the whole path, root first once
    /// reversed.
    fn seen_ancestor(&self, caller: FuncId, prefixes: &Prefixes) -> (Vec<FuncId>, Option<FuncId>) {
        let mut path = Vec::new();
        let mut visited = std::collections::HashSet::new();
        let mut at = caller;
        for _ in 0..MAX_CALLER_HOPS {
            if prefixes.of_function(at).is_some() {
                return (path, Some(at));
            }
            path.push(at);
            visited.insert(at);
            let up = (self.profile.callers_of(at).iter())
                .filter(|e| !visited.contains(&e.caller))
                .max_by(|a, b| {
                    let (x, y) = (edge_time(&a.stats), edge_time(&b.stats));
                    x.total_cmp(&y).then(b.caller.cmp(&a.caller))
                });
            match up {
                Some(e) => at = e.caller,
                None => return (path, None),
            }
        }
        (path, None)
    }
}

/// An edge's cumulative time (its call count for a bare count).
fn edge_time(s: &EdgeStats) -> f64 {
    match s {
        EdgeStats::Timed(s) => positive(s.ct),
        EdgeStats::Count(n) => n.get().max(0) as f64,
    }
}

/// The stack prefixes that end in each function (its outermost frame on each stack),
/// with the time under each.
struct Prefixes {
    by_function: HashMap<FuncId, Vec<Head>>,
}

impl Prefixes {
    /// The heads of `stacks` (sorted, as a map keeps them), of `functions` functions:
    /// walked as a trie, so that each distinct prefix is visited once, and only the
    /// heaviest [`MAX_HEADS`] prefixes of each function are copied out.
    fn of(stacks: &SampledStacks, functions: usize) -> Prefixes {
        // The current prefix: per frame, the time under it and whether it is its
        // function's outermost frame there (a recursion's inner frames would count
        // the same time again).
        let mut path: Vec<(f64, bool)> = Vec::new();
        let mut on_path = vec![0u32; functions];
        // Per function: the time under all its heads, and the heaviest heads.
        let mut total = vec![0.0f64; functions];
        let mut best: HashMap<FuncId, Vec<Head>> = HashMap::new();
        let mut prev: &[FuncId] = &[];
        let mut close = |prev: &[FuncId], path: &mut Vec<(f64, bool)>, on_path: &mut [u32]| {
            let (seconds, outermost) = path.pop().expect("a frame to close");
            let at = path.len();
            let f = prev[at];
            on_path[f as usize] -= 1;
            if !outermost {
                return;
            }
            total[f as usize] += seconds;
            let heads = best.entry(f).or_default();
            let heavier = |h: &Head| h.1 > seconds || (h.1 == seconds && h.0[..] < prev[..=at]);
            let rank = heads.iter().take_while(|h| heavier(h)).count();
            if rank < MAX_HEADS {
                heads.insert(rank, (prev[..=at].to_vec(), seconds));
                heads.truncate(MAX_HEADS);
            }
        };
        for (stack, &(seconds, ..)) in stacks {
            let common = prev.iter().zip(stack).take_while(|(a, b)| a == b).count();
            while path.len() > common {
                close(prev, &mut path, &mut on_path);
            }
            for &f in &stack[common..] {
                path.push((0.0, on_path[f as usize] == 0));
                on_path[f as usize] += 1;
            }
            for frame in &mut path {
                frame.0 += seconds;
            }
            prev = stack;
        }
        while !path.is_empty() {
            close(prev, &mut path, &mut on_path);
        }
        // Only as many as hold nearly all the time: an unseen callee goes under each,
        // and a function on thousands of stacks would make thousands of stacks of
        // each of its callees.
        for (f, heads) in best.iter_mut() {
            let all = total[*f as usize];
            let mut held = 0.0;
            let keep = heads
                .iter()
                .take_while(|h| {
                    let before = held;
                    held += h.1;
                    before < HEADS_SHARE * all
                })
                .count()
                .clamp(1, MAX_HEADS);
            heads.truncate(keep);
        }
        Prefixes { by_function: best }
    }

    fn of_function(&self, f: FuncId) -> Option<&[Head]> {
        self.by_function
            .get(&f)
            .map(Vec::as_slice)
            .filter(|h| h.iter().any(|x| x.1 > 0.0))
    }
}

fn positive(t: f64) -> f64 {
    if t.is_finite() && t > 0.0 { t } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Count, FuncKey, ProfileBuilder, Stats};

    fn key(name: &str) -> FuncKey {
        if name.starts_with('<') {
            FuncKey::new("~", 0, name)
        } else {
            FuncKey::new("app.py", 1, name)
        }
    }

    fn stats(n: i64, tt: f64, ct: f64) -> Stats {
        Stats {
            cc: n.into(),
            nc: n.into(),
            tt,
            ct,
        }
    }

    /// main → load → process → parse (→ <ord>), main → check → process → validate;
    /// main → sorted builtin → key (a callback); main → tiny (never sampled).
    fn profile() -> Profile {
        let mut b = ProfileBuilder::new();
        let rows = [
            ("main", stats(1, 0.1, 10.0)),
            ("load", stats(1, 0.0, 4.0)),
            ("check", stats(4, 0.0, 4.0)),
            ("process", stats(5, 0.5, 8.0)),
            ("parse", stats(100, 2.0, 3.5)),
            ("<ord>", stats(1000, 1.5, 1.5)),
            ("validate", stats(400, 4.0, 4.0)),
            ("<sorted>", stats(1, 0.5, 1.5)),
            ("key", stats(50, 1.0, 1.0)),
            ("tiny", stats(3, 0.4, 0.4)),
        ];
        for (name, s) in rows {
            b.add_function(key(name), s);
        }
        let edges = [
            ("main", "load", stats(1, 0.0, 4.0)),
            ("main", "check", stats(4, 0.0, 4.0)),
            ("load", "process", stats(1, 0.25, 4.0)),
            ("check", "process", stats(4, 0.25, 4.0)),
            ("process", "parse", stats(100, 2.0, 3.5)),
            ("parse", "<ord>", stats(1000, 1.5, 1.5)),
            ("process", "validate", stats(400, 4.0, 4.0)),
            ("main", "<sorted>", stats(1, 0.5, 1.5)),
            ("<sorted>", "key", stats(50, 1.0, 1.0)),
            ("main", "tiny", stats(3, 0.4, 0.4)),
        ];
        for (from, to, s) in edges {
            b.add_edge(key(from), key(to), EdgeStats::Timed(s));
        }
        b.finish()
    }

    fn samples(text: &str) -> Profile {
        let text = format!("# mode: wall\n{text}");
        let loaded = crate::input::load("samples", bytes::Bytes::from(text)).unwrap();
        loaded.profile
    }

    /// The guided stacks as `name;name value-in-seconds`, by stack.
    fn stacks(p: &Profile) -> BTreeMap<String, f64> {
        let s = p.stacks().unwrap();
        s.iter()
            .map(|(frames, v)| {
                let names: Vec<&str> = (frames.iter())
                    .map(|&f| p.function(f).key.name.as_str())
                    .collect();
                (names.join(";"), v as f64 * s.unit().weight())
            })
            .collect()
    }

    /// Asserts that the guided `stack` holds `want` seconds.
    fn assert_holds(got: &BTreeMap<String, f64>, stack: &str, want: f64) {
        let v = got.get(stack).copied().unwrap_or(0.0);
        assert!(
            (v - want).abs() < 1e-6,
            "{stack}: {v} (want {want})\n{got:#?}"
        );
    }

    /// Asserts what the stacks of `profile()`'s run hold whatever guided them: parse
    /// only under load, validate only under check (the stats alone cannot tell, and
    /// would put four fifths of parse under check), each edge's own time cProfile's
    /// (process's 0.5 s half under each caller), the sort key under the builtin that
    /// called it back.
    fn assert_callers_hold(got: &BTreeMap<String, f64>) {
        assert_holds(got, "main;load;process;parse", 2.0);
        assert_holds(got, "main;load;process;parse;<ord>", 1.5);
        assert_holds(got, "main;check;process;validate", 4.0);
        assert!(!got.keys().any(|k| k.contains("check;process;parse")));
        assert_holds(got, "main;load;process", 0.25);
        assert_holds(got, "main;check;process", 0.25);
        assert_holds(got, "main;<sorted>;key", 1.0);
    }

    #[test]
    fn samples_give_the_shape_and_the_stats_every_own_time() {
        // Frames as the sampler writes them (file:line:name), values in microseconds:
        // no builtin is ever seen, and `tiny` never.
        let f = |names: &str| {
            names
                .split(';')
                .map(|n| format!("app.py:1:{n}"))
                .collect::<Vec<_>>()
                .join(";")
        };
        let text = [
            (f("main;load;process;parse"), 300),
            (f("main;load;process"), 30),
            (f("main;check;process;validate"), 380),
            (f("main;check;process"), 20),
            (f("main;key"), 90),
            (f("main"), 40),
        ]
        .iter()
        .map(|(s, v)| format!("{s} {v}\n"))
        .collect::<String>();
        let profile = profile();
        let guided = profile
            .guided_by(&samples(&text), Backing::Sampled(Some(860)), &|_| {
                Vec::new()
            })
            .unwrap();
        let got = stacks(&guided);
        let near = |stack: &str, want: f64| assert_holds(&got, stack, want);
        // process's own 0.5 s split as cProfile's edges have it under each caller,
        // not as sampled (30 to 20); the callback back under the builtin that made it.
        assert_callers_hold(&got);
        // A builtin's own time with no sample of its caller's: under the caller.
        near("main;<sorted>", 0.5);
        // Never sampled: under its caller, from the stats.
        near("main;tiny", 0.4);
        // Every function's own time is pstats'.
        let mut own: BTreeMap<&str, f64> = BTreeMap::new();
        for (stack, v) in &got {
            *own.entry(stack.rsplit(';').next().unwrap()).or_default() += v;
        }
        for f in profile.functions() {
            let held = own.get(f.key.name.as_str()).copied().unwrap_or(0.0);
            assert!(
                (held - f.stats.tt).abs() < 1e-6,
                "{}: {held} vs {}",
                f.key.name,
                f.stats.tt
            );
        }
        // Each stack is backed by its samples (by their share of the sampled time).
        let s = guided.stacks().unwrap();
        let support: f64 = (0..s.len()).filter_map(|i| s.support(i)).sum();
        assert!((support - 860.0).abs() < 1e-6, "{support}");
    }

    #[test]
    fn edges_with_bare_counts_leave_the_split_to_the_samples() {
        // The `profile` module's callers dicts hold call counts only: each function's
        // own time still holds, split between its callers as sampled.
        let mut b = ProfileBuilder::new();
        for (name, s) in [
            ("main", stats(1, 1.0, 9.0)),
            ("load", stats(1, 0.0, 6.0)),
            ("check", stats(1, 0.0, 2.0)),
            ("work", stats(20, 8.0, 8.0)),
        ] {
            b.add_function(key(name), s);
        }
        for (from, to, n) in [
            ("main", "load", 1),
            ("main", "check", 1),
            ("load", "work", 10),
            ("check", "work", 10),
        ] {
            b.add_edge(key(from), key(to), EdgeStats::Count((n as Count).into()));
        }
        let profile = b.finish();
        let text = "app.py:1:main 100\napp.py:1:main;app.py:1:load;app.py:1:work 600\n\
                    app.py:1:main;app.py:1:check;app.py:1:work 200\n";
        let guided = profile
            .guided_by(&samples(text), Backing::Sampled(Some(900)), &|_| Vec::new())
            .unwrap();
        let got = stacks(&guided);
        let near = |stack: &str, want: f64| assert_holds(&got, stack, want);
        near("main;load;work", 6.0);
        near("main;check;work", 2.0);
        near("main", 1.0);
    }

    /// Call paths as the recorder writes them, of `profile()`'s run: `(path, calls,
    /// own microseconds)`, frames by name, builtins included; `tiny` was not recorded.
    fn recorded(paths: &[(&str, u64, u64)]) -> Profile {
        let mut names: Vec<&str> = Vec::new();
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        let mut text = String::from("# flameprof call paths 1\n");
        let mut body = String::new();
        for (path, calls, own) in paths {
            let frames: Vec<&str> = path.split(';').collect();
            let f = *frames.last().unwrap();
            if !names.contains(&f) {
                names.push(f);
                let file = if f.starts_with('<') {
                    "~:0:"
                } else {
                    "app.py:1:"
                };
                text.push_str(&format!("f {file}{f}\n"));
            }
            let parent = ids
                .get(&path[..path.len() - f.len()].trim_end_matches(';'))
                .copied()
                .unwrap_or(0);
            ids.insert(path, ids.len() + 1);
            let function = names.iter().position(|n| *n == f).unwrap();
            body.push_str(&format!("n {parent} {function} {calls} {}\n", own * 1000));
        }
        text.push_str(&body);
        crate::input::call_paths::load(&bytes::Bytes::from(text))
            .unwrap()
            .profile
    }

    #[test]
    fn recorded_paths_are_the_stacks_with_their_calls_and_the_stats_times() {
        let profile = profile();
        // Times off from cProfile's by a few percent (another clock), shapes exact.
        let paths = [
            ("main", 1, 105),
            ("main;load", 1, 1),
            ("main;load;process", 1, 260),
            ("main;load;process;parse", 100, 2100),
            ("main;load;process;parse;<ord>", 1000, 1450),
            ("main;check", 4, 1),
            ("main;check;process", 4, 240),
            ("main;check;process;validate", 400, 4100),
            ("main;<sorted>", 1, 520),
            ("main;<sorted>;key", 50, 990),
        ];
        let guided = profile
            .guided_by(&recorded(&paths), Backing::Recorded, &|_| Vec::new())
            .unwrap();
        let got = stacks(&guided);
        let near = |stack: &str, want: f64| assert_holds(&got, stack, want);
        // Each edge's own time is cProfile's, in the recorded stacks of that edge.
        assert_callers_hold(&got);
        near("main", 0.1);
        // Not recorded: placed from the stats, and not backed as recorded.
        near("main;tiny", 0.4);
        let s = guided.stacks().unwrap();
        for i in 0..s.len() {
            let names: Vec<&str> = (s.get(i).0.iter())
                .map(|&f| guided.function(f).key.name.as_str())
                .collect();
            let path = names.join(";");
            let want = paths.iter().find(|p| p.0 == path).map(|p| p.1 as f64);
            assert_eq!(s.calls(i), want, "{path}");
            assert_eq!(
                s.support(i).unwrap().is_infinite(),
                want.is_some(),
                "{path}"
            );
        }
    }

    #[test]
    fn a_recording_draws_the_stats_derived_from_it_as_it_is() {
        let text = "# flameprof call paths 1\nf a.py:1:main\nf a.py:5:f\n\
                    n 0 0 1 100\nn 1 1 3 50\n";
        let paths = crate::input::call_paths::CallPaths::parse(&bytes::Bytes::from(text)).unwrap();
        let (stats, stacks) = (paths.stats(), paths.stacks().unwrap());
        let drawn = stats.drawn_from(&stacks).unwrap();
        let s = drawn.stacks().unwrap();
        assert_eq!(s.len(), 2);
        assert!((0..2).all(|i| s.support(i) == Some(f64::INFINITY)));
        assert_eq!(s.calls(1), Some(3.0));
        // Another profile's functions: not drawn as they are.
        assert!(profile().drawn_from(&stacks).is_none());
    }

    #[test]
    fn samples_of_nothing_the_profile_knows_guide_nothing() {
        let profile = profile();
        assert!(
            profile
                .guided_by(
                    &samples("other.py:1:f 100\n"),
                    Backing::Sampled(None),
                    &|_| Vec::new()
                )
                .is_none()
        );
    }
}
