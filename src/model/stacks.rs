//! Exact stacks: what a sampling profiler's collapsed output records (each distinct
//! stack, root first, and how many samples saw it), kept beside the per-function table
//! so that the trees need not be reconstructed from it.
//!
//! [`Profile::from_stacks`] derives the functions and edges from the stacks with the
//! convention CPython 3.15's sampled pstats files use, so that `-f stats` and `-f json`
//! agree with the trees: a function's `tt` and `cc` are the samples with it on top, its
//! `ct` and `nc` the samples with it anywhere on the stack, counted once per stack (a
//! recursive function is not counted twice), and a caller→callee edge counts the samples
//! whose stack holds that call, again once per stack.

use std::collections::HashMap;

use super::{Edge, EdgeStats, FuncId, FuncKey, Function, Measure, Profile, Stats};

/// What the value at the end of a stack counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StackValue {
    /// Samples (py-spy, flamegraph.pl, CPython 3.15, our `-f log`).
    #[default]
    Samples,
    /// Microseconds of wall or CPU time (austin's `wall` and `cpu` modes).
    Microseconds,
    /// Nanoseconds of a profile of calls, its stacks sampled beside it and made to
    /// agree with its times ([`Profile::guided_by`]): estimated, each stack backed by
    /// some number of samples ([`Stacks::support`]).
    Nanoseconds,
}

impl StackValue {
    /// What one unit of the value weighs in the trees: a sample, or a microsecond as
    /// seconds.
    pub fn weight(self) -> f64 {
        match self {
            StackValue::Samples => 1.0,
            StackValue::Microseconds => 1e-6,
            StackValue::Nanoseconds => 1e-9,
        }
    }
}

/// Distinct stacks, sorted (as sequences of function ids, root first) with their
/// sample counts: the same stacks in any order, or repeated, give the same table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stacks {
    /// Every stack's frames, one after the other.
    frames: Vec<FuncId>,
    /// Where each stack's frames end in `frames`.
    ends: Vec<usize>,
    /// Samples (or microseconds, see `unit`) per stack, each at least 1.
    values: Vec<u64>,
    /// What `values` count.
    unit: StackValue,
    /// Per stack, the samples behind it (guided stacks only; else empty).
    support: Vec<f64>,
    /// Per stack, how many times its last frame was called on it, where that was
    /// recorded (call paths); else empty. NaN for a stack of unknown calls.
    calls: Vec<f64>,
}

impl Stacks {
    /// Stacks already distinct and in order, with the samples behind each (see
    /// [`Stacks::support`]).
    pub(super) fn from_sorted_raw(raw: RawStacks, support: Vec<f64>) -> Stacks {
        Stacks {
            frames: raw.frames,
            ends: raw.ends,
            values: raw.values,
            unit: raw.unit,
            support,
            calls: raw.calls.into_iter().map(calls_f64).collect(),
        }
    }

    /// These stacks as recorded at every call: each backed without bound (exact).
    pub(super) fn recorded(&self) -> Stacks {
        Stacks {
            support: vec![f64::INFINITY; self.len()],
            ..self.clone()
        }
    }

    /// How many times stack `i`'s last frame was called on that very stack, where the
    /// stacks were recorded at every call (`flameprof run`'s call paths).
    pub fn calls(&self, i: usize) -> Option<f64> {
        self.calls.get(i).copied().filter(|n| !n.is_nan())
    }

    /// How many samples back stack `i` (fractions where a sample's time was split),
    /// for stacks sampled beside a profile of calls; `None` for stacks that are the
    /// data themselves (collapsed input), which need no support.
    pub fn support(&self, i: usize) -> Option<f64> {
        self.support.get(i).copied()
    }

    /// Whether the stacks are estimated (sampled beside a profile of calls) rather
    /// than the data themselves.
    pub fn is_estimated(&self) -> bool {
        self.unit == StackValue::Nanoseconds
    }

    /// How many distinct stacks.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// What the stacks' values count.
    pub fn unit(&self) -> StackValue {
        self.unit
    }

    /// Stack `i`: its frames from the root up, and its value (samples or microseconds,
    /// see [`Stacks::unit`]; [`StackValue::weight`] makes it the trees' width).
    pub fn get(&self, i: usize) -> (&[FuncId], u64) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        (&self.frames[start..self.ends[i]], self.values[i])
    }

    /// Every stack in order, with its samples.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[FuncId], u64)> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The width of the trees: samples, or seconds for microseconds.
    pub fn total(&self) -> f64 {
        let w = self.unit.weight();
        self.values.iter().map(|&v| v as f64 * w).sum()
    }

    /// Frames in all stacks.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }
}

/// `raw` as the table, renumbered by `new_id` where it lies, when it is already
/// sorted by the renumbered frames, distinct and of no empty value (as a recording's
/// stacks are written): no copy of the frames. `Err(raw)` otherwise, untouched.
fn in_place(mut raw: RawStacks, new_id: &[FuncId]) -> Result<Stacks, RawStacks> {
    let n = raw.values.len();
    let ready = {
        let renumbered = |i: usize| raw.get(i).iter().map(|&f| new_id[f as usize]);
        raw.values.iter().all(|&v| v > 0)
            && (1..n).all(|i| renumbered(i - 1).cmp(renumbered(i)).is_lt())
    };
    if !ready {
        return Err(raw);
    }
    for f in &mut raw.frames {
        *f = new_id[*f as usize];
    }
    let calls = std::mem::take(&mut raw.calls);
    let mut stacks = Stacks::from_sorted_raw(raw, Vec::new());
    if calls.len() == n {
        stacks.calls = calls.into_iter().map(calls_f64).collect();
    }
    Ok(stacks)
}

/// `raw` as the table: renumbered by `new_id`, sorted by its frames so that equal
/// stacks are neighbours (and added up) and the table does not depend on the input's
/// order, stacks of no value left out.
fn sorted_copy(raw: RawStacks, new_id: &[FuncId]) -> Stacks {
    let mut idx: Vec<usize> = (0..raw.values.len())
        .filter(|&i| raw.values[i] > 0)
        .collect();
    let renumbered = |i: usize| raw.get(i).iter().map(|&f| new_id[f as usize]);
    idx.sort_by(|&a, &b| renumbered(a).cmp(renumbered(b)));
    let mut stacks = Stacks {
        unit: raw.unit,
        ..Stacks::default()
    };
    let called = raw.calls.len() == raw.values.len();
    let calls_of = |i: usize| calls_f64(raw.calls[i]);
    for &i in &idx {
        let same =
            !stacks.is_empty() && renumbered(i).eq(stacks.get(stacks.len() - 1).0.iter().copied());
        if same {
            let last = stacks.values.len() - 1;
            stacks.values[last] = stacks.values[last].saturating_add(raw.values[i]);
            if called {
                stacks.calls[last] += calls_of(i);
            }
        } else {
            stacks.frames.extend(renumbered(i));
            stacks.ends.push(stacks.frames.len());
            stacks.values.push(raw.values[i]);
            if called {
                stacks.calls.push(calls_of(i));
            }
        }
    }
    stacks
}

/// A raw stack's calls as [`Stacks::calls`] keeps them: `u64::MAX`, unknown, is NaN.
fn calls_f64(n: u64) -> f64 {
    if n == u64::MAX { f64::NAN } else { n as f64 }
}

/// Stacks as a reader collects them: frames are indexes into a list of keys the
/// reader keeps (any order, any duplicates of a stack).
#[derive(Debug, Default)]
pub struct RawStacks {
    pub frames: Vec<u32>,
    pub ends: Vec<usize>,
    pub values: Vec<u64>,
    /// What `values` count.
    pub unit: StackValue,
    /// Per stack, the calls of its last frame on it (see [`Stacks::calls`]): empty, or
    /// one per stack, `u64::MAX` for unknown.
    pub calls: Vec<u64>,
}

impl RawStacks {
    /// Appends one stack (root first) of `value` samples.
    pub fn push(&mut self, frames: impl IntoIterator<Item = u32>, value: u64) {
        self.frames.extend(frames);
        self.ends.push(self.frames.len());
        self.values.push(value);
    }

    /// Appends one stack (root first) of `value`, whose last frame was called `calls`
    /// times on it. Either every stack is pushed so or none.
    pub fn push_called(&mut self, frames: impl IntoIterator<Item = u32>, value: u64, calls: u64) {
        self.push(frames, value);
        self.calls.push(calls);
    }

    fn get(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.frames[start..self.ends[i]]
    }
}

impl Profile {
    /// The profile of exact stacks: `keys` are the distinct functions, `raw` the stacks
    /// as indexes into `keys`. Identical stacks are added up, stacks of no samples left
    /// out; functions are sorted by key as always. Its measure is samples without an
    /// interval, or for microseconds seconds of unknown sample counts.
    pub fn from_stacks(keys: Vec<FuncKey>, raw: RawStacks) -> Profile {
        Profile::of_stacks(keys, raw, true)
    }

    /// [`Profile::from_stacks`] without the functions' and edges' numbers (all zero,
    /// no edge): the stacks of a recording, which only guide a profile of calls
    /// ([`Profile::guided_by`] reads their keys and stacks), and whose numbers would
    /// cost a pass over every frame.
    pub fn stacks_only(keys: Vec<FuncKey>, raw: RawStacks) -> Profile {
        Profile::of_stacks(keys, raw, false)
    }

    fn of_stacks(keys: Vec<FuncKey>, raw: RawStacks, summed: bool) -> Profile {
        let mut order: Vec<u32> = (0..keys.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]));
        let mut new_id = vec![0 as FuncId; keys.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old as usize] = new as FuncId;
        }
        let mut slots: Vec<Option<FuncKey>> = keys.into_iter().map(Some).collect();
        let mut functions: Vec<Function> = order
            .iter()
            .map(|&old| Function {
                key: slots[old as usize]
                    .take()
                    .unwrap_or_else(|| FuncKey::new("", 0, "")),
                stats: Stats::default(),
                listed: true,
            })
            .collect();
        drop(slots);
        let unit = raw.unit;
        let stacks = match in_place(raw, &new_id) {
            Ok(stacks) => stacks,
            Err(raw) => sorted_copy(raw, &new_id),
        };
        let listing: Vec<FuncId> = (0..functions.len() as FuncId).collect();
        if !summed {
            let first_caller = vec![super::NO_FUNCTION; functions.len()];
            let mut profile = Profile::from_sorted(functions, Vec::new(), listing, first_caller);
            profile.measure = Measure::Samples {
                seconds: unit == StackValue::Microseconds,
            };
            profile.stacks = Some(stacks);
            return profile;
        }
        // Per function and per call, counted once per stack: `seen` holds the stack
        // that counted it last.
        let mut seen = vec![usize::MAX; functions.len()];
        let mut calls: HashMap<(FuncId, FuncId), (u64, usize)> = HashMap::new();
        // Without sample counts, each count is the unknown -1 (not added up).
        let known = unit == StackValue::Samples;
        let count = |value: u64| if known { i128::from(value) } else { -1 };
        let add = |n: i128, value: u64| {
            if known {
                n.saturating_add(i128::from(value))
            } else {
                -1
            }
        };
        for (s, (frames, value)) in stacks.iter().enumerate() {
            let v = value as f64 * unit.weight();
            for (d, &f) in frames.iter().enumerate() {
                if seen[f as usize] != s {
                    seen[f as usize] = s;
                    let st = &mut functions[f as usize].stats;
                    st.nc = add(st.nc, value);
                    st.ct += v;
                }
                if d > 0 {
                    let e = calls.entry((frames[d - 1], f)).or_insert((0, usize::MAX));
                    if e.1 != s {
                        *e = (e.0.saturating_add(value), s);
                    }
                }
            }
            if let Some(&top) = frames.last() {
                let st = &mut functions[top as usize].stats;
                st.cc = add(st.cc, value);
                st.tt += v;
            }
        }
        drop(seen);
        let mut edges: Vec<Edge> = calls
            .into_iter()
            .map(|((caller, callee), (n, _))| Edge {
                caller,
                callee,
                stats: EdgeStats::Count(count(n).into()),
            })
            .collect();
        edges.sort_unstable_by_key(|e| (e.callee, e.caller));
        // Stacks have no stats dict: its order, for `-f stats`' ties, is the functions'
        // own, and each callee's first caller its first by id.
        let mut first_caller = vec![super::NO_FUNCTION; functions.len()];
        for e in &edges {
            if first_caller[e.callee as usize] == super::NO_FUNCTION {
                first_caller[e.callee as usize] = e.caller;
            }
        }
        let mut profile = Profile::from_sorted(functions, edges, listing, first_caller);
        profile.measure = Measure::Samples {
            seconds: unit == StackValue::Microseconds,
        };
        profile.stacks = Some(stacks);
        profile
    }

    /// The exact stacks, when the profile was read from them (collapsed stacks).
    pub fn stacks(&self) -> Option<&Stacks> {
        self.stacks.as_ref()
    }

    /// The stacks with every `(file, name)` function's per-line keys made one, at the
    /// smallest of their lines, as [`Profile::group_lines`] does for sampled stats files:
    /// py-spy, austin and CPython record the line being run, so one function is as many
    /// keys as it had lines running. Every frame is kept, only rekeyed (a recursive call
    /// stays two frames), so the stacks and their totals are as exact as before; the
    /// numbers per function are derived anew from them.
    pub fn group_stack_lines(&self) -> Profile {
        let Some(stacks) = self.stacks() else {
            return self.clone();
        };
        let mut group: HashMap<(&str, &str), u32> = HashMap::new();
        let mut keys: Vec<FuncKey> = Vec::new();
        let to: Vec<u32> = (self.functions.iter())
            .map(|f| {
                let k = &f.key;
                let g = *group
                    .entry((k.file.as_str(), k.name.as_str()))
                    .or_insert_with(|| {
                        keys.push(k.clone());
                        keys.len() as u32 - 1
                    });
                let line = &mut keys[g as usize].line;
                *line = (*line).min(k.line);
                g
            })
            .collect();
        if keys.len() == self.functions.len() {
            return self.clone();
        }
        drop(group);
        let mut raw = RawStacks {
            unit: stacks.unit(),
            ..RawStacks::default()
        };
        for (frames, value) in stacks.iter() {
            raw.push(frames.iter().map(|&f| to[f as usize]), value);
        }
        Profile::from_stacks(keys, raw)
    }
}
