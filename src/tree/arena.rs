//! The tree value both reconstructions produce: frames in an arena, laid out in
//! pre-order with children sorted by function label, plus what was cut; and how sure
//! each frame's width is ([`Certainty`]), the one rule every format shows.

use std::collections::BinaryHeap;

use super::{Queued, clean};
use crate::model::{FuncId, Profile};

/// Index of the synthetic root frame ("all") in every [`CallTree`].
pub const ROOT: u32 = 0;

/// No function: the root's entry in [`TreeBuilder`]'s stack links.
const NO_FUNC: FuncId = FuncId::MAX;

/// One box of a flame graph. Times are seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// The function drawn; `None` only for the synthetic root that spans the profile.
    pub func: Option<FuncId>,
    pub parent: u32,
    /// 0 for the root, 1 for the first real frames.
    pub depth: u32,
    /// Offset from the left edge of the root.
    pub start: f64,
    /// Width: time spent in this frame and everything above it.
    pub total: f64,
    /// Time in this frame not covered by drawn children (includes `cut`; the frame's
    /// own time is [`Frame::own_time`]).
    pub self_time: f64,
    /// Time of children that were too narrow to draw (already part of `self_time`).
    pub cut: f64,
    /// How many children were not drawn (their time is `cut`).
    pub cut_count: u32,
    /// Calls made in this context (estimated when `exact` is false).
    pub calls: f64,
    /// True when `total` comes straight from the data; false when time was split
    /// between contexts by estimation.
    pub exact: bool,
    /// The range of widths consistent with the data (equal to `total` when exact).
    pub min_total: f64,
    pub max_total: f64,
}

/// How far a frame can be trusted, from [`CallTree::certainty`]. Formats show
/// the grade rather than `exact` alone: on profiles where most functions have several
/// callers nearly every frame is estimated, and only the size of the range says which
/// estimates mean something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Certainty {
    /// The frame and every frame below it have their width straight from the data.
    Exact,
    /// Estimated somewhere on its stack, but the ranges of widths the data allows,
    /// added up from the root, stay within half the width (about ±25 %).
    Close,
    /// Estimated, with ranges that add up to more than half the width (or a width that
    /// is zero or not a number, so no range can be called close).
    Guess,
}

impl Certainty {
    /// The widest range, as a share of the width, that still counts as [`Certainty::Close`].
    pub const CLOSE_SPREAD: f64 = 0.5;

    /// The lowercase name formats write: `exact`, `close`, `guess`.
    pub fn name(self) -> &'static str {
        match self {
            Certainty::Exact => "exact",
            Certainty::Close => "close",
            Certainty::Guess => "guess",
        }
    }
}

impl Frame {
    /// How far its width may be off, as a share of it: `(max_total - min_total) /
    /// total` for an estimated frame, 0 for an exact one, infinite where no range can
    /// be told (a zero width, or numbers that are not finite).
    pub fn spread(&self) -> f64 {
        if self.exact {
            return 0.0;
        }
        let spread = (self.max_total - self.min_total) / self.total;
        if self.total > 0.0 && spread.is_finite() {
            spread.max(0.0)
        } else {
            f64::INFINITY
        }
    }

    /// Time in the frame itself: `self_time` without the children too narrow to draw
    /// (`cut`), which are not the frame's own time.
    pub fn own_time(&self) -> f64 {
        (self.self_time - self.cut).max(0.0)
    }

    pub fn root(total: f64) -> Frame {
        Frame {
            func: None,
            parent: ROOT,
            depth: 0,
            start: 0.0,
            total,
            self_time: 0.0,
            cut: 0.0,
            cut_count: 0,
            calls: 0.0,
            exact: true,
            min_total: total,
            max_total: total,
        }
    }
}

/// One step of [`CallTree::walk_stacks`], in pre-order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StackStep {
    /// The current stack becomes its first `depth - 1` frames and this function
    /// (`depth` ≥ 1; `None` is the root's, which no walked frame has).
    Enter(usize, Option<FuncId>),
    /// The current stack is complete: its self time, plus that of the frames cut below
    /// it. The root's own time is on no stack.
    Complete(f64),
}

/// A reconstructed tree. `frames[0]` is the root; frames are in pre-order and each
/// frame's children are sorted by function (so by `file, line, name`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallTree {
    frames: Vec<Frame>,
    children: Vec<u32>,
    child_ranges: Vec<(u32, u32)>,
    /// Time in frames cut by the threshold or the frame bound.
    pub cut_time: f64,
    /// How many frames were cut (not drawn).
    pub cut_frames: u64,
    /// True when the frame bound was reached.
    pub truncated: bool,
    /// Frames that were drawn but not expanded because the bound was reached.
    pub unexpanded: u64,
    /// Per frame, its grade (see [`CallTree::certainty`]).
    grades: Vec<Certainty>,
}

impl CallTree {
    /// The tree with every width and time multiplied by `weight`. The exact trees are
    /// drawn in the stacks' own whole units (austin's microseconds) and scaled once
    /// drawn: the subtractions that give each frame's self time are then exact, and a
    /// frame with no time of its own has exactly none.
    pub(crate) fn scaled(mut self, weight: f64) -> CallTree {
        if weight == 1.0 {
            return self;
        }
        for f in &mut self.frames {
            for x in [
                &mut f.start,
                &mut f.total,
                &mut f.self_time,
                &mut f.cut,
                &mut f.calls,
                &mut f.min_total,
                &mut f.max_total,
            ] {
                *x *= weight;
            }
        }
        self.cut_time *= weight;
        self
    }

    /// The tree with the frames `settled` has as exact made exact too: the frames on
    /// the same stack (the same functions from the root) whose width agrees with
    /// `settled`'s within `tolerance` of the total. For a tree of estimated stacks and
    /// the tree the data alone settles: where the data fixes a width and the estimate
    /// holds it, the width is no estimate, nor are its calls (taken from `settled`,
    /// for a frame not exact already).
    pub(crate) fn settled_by(mut self, settled: &CallTree, tolerance: f64) -> CallTree {
        let slack = tolerance * self.frames[ROOT as usize].total.abs();
        let mut todo = vec![(ROOT, ROOT)];
        while let Some((mine, theirs)) = todo.pop() {
            let their_children = settled.children(theirs);
            for &c in self.children(mine) {
                let func = self.frames[c as usize].func;
                let Some(&t) = their_children
                    .iter()
                    .find(|&&t| settled.frames[t as usize].func == func)
                else {
                    continue;
                };
                let other = &settled.frames[t as usize];
                if !other.exact || settled.grades[t as usize] != Certainty::Exact {
                    continue;
                }
                if (self.frames[c as usize].total - other.total).abs() > slack {
                    continue;
                }
                todo.push((c, t));
            }
            // A frame exact already (a recorded stack's) keeps its own calls: those of
            // its very stack, which the settled tree can only sum over the function.
            if mine != ROOT && !self.frames[mine as usize].exact {
                let calls = settled.frames[theirs as usize].calls;
                let f = &mut self.frames[mine as usize];
                f.exact = true;
                f.min_total = f.total;
                f.max_total = f.total;
                f.calls = calls;
            }
        }
        self.grades = grades(&self.frames, &self.children, &self.child_ranges);
        self
    }

    /// The functions from the root's child up to frame `i`, root first.
    pub fn stack_of(&self, i: u32) -> Vec<FuncId> {
        let mut stack = Vec::with_capacity(self.frames[i as usize].depth as usize);
        let mut at = i;
        while at != ROOT {
            let f = &self.frames[at as usize];
            stack.extend(f.func);
            at = f.parent;
        }
        stack.reverse();
        stack
    }

    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    pub fn frame(&self, i: u32) -> &Frame {
        &self.frames[i as usize]
    }

    /// Children of frame `i`, in drawing order.
    pub fn children(&self, i: u32) -> &[u32] {
        let (a, b) = self.child_ranges[i as usize];
        &self.children[a as usize..b as usize]
    }

    /// Walks the tree's stacks as folded output writes them, no deeper than
    /// `max_depth` frames (see [`StackStep`]). Returns how many frames, and how much
    /// self time, were below the cut.
    pub fn walk_stacks<E>(
        &self,
        max_depth: usize,
        mut step: impl FnMut(StackStep) -> Result<(), E>,
    ) -> Result<(u64, f64), E> {
        let (mut deep_frames, mut deep_time) = (0u64, 0.0);
        let mut pending = None;
        for frame in self.frames.iter().skip(1) {
            let depth = frame.depth as usize;
            if depth > max_depth {
                if let Some(p) = pending.as_mut() {
                    *p += frame.self_time;
                }
                deep_frames += 1;
                deep_time += frame.self_time;
                continue;
            }
            if let Some(time) = pending {
                step(StackStep::Complete(time))?;
            }
            step(StackStep::Enter(depth, frame.func))?;
            pending = Some(frame.self_time);
        }
        if let Some(time) = pending {
            step(StackStep::Complete(time))?;
        }
        Ok((deep_frames, deep_time))
    }

    /// The total width of the tree (the root's width).
    pub fn total(&self) -> f64 {
        self.frames.first().map_or(0.0, |f| f.total)
    }

    /// Number of frames, root excluded.
    pub fn len(&self) -> usize {
        self.frames.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Deepest depth of any frame.
    pub fn max_depth(&self) -> u32 {
        self.frames.iter().map(|f| f.depth).max().unwrap_or(0)
    }

    /// How far frame `i` can be trusted, as a stack: [`Certainty::Exact`] when it and
    /// every frame below it are exact; otherwise [`Certainty::Close`] when the spreads
    /// ([`Frame::spread`]) of the frames from the root up to it add up to at most
    /// [`Certainty::CLOSE_SPREAD`], else [`Certainty::Guess`]. A width straight from
    /// the data (an exact frame) placed on an estimated stack is only as sure as that
    /// stack: measured against true stacks, a grade of the frame alone left "close"
    /// frames 19-70 % off, this one 1-16 %.
    pub fn certainty(&self, i: u32) -> Certainty {
        self.grades[i as usize]
    }

    /// Frame indexes from the root's child down to `i` (the stack of `i`).
    pub fn stack(&self, i: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = i;
        while at != ROOT {
            out.push(at);
            at = self.frames[at as usize].parent;
        }
        out.reverse();
        out
    }
}

impl CallTree {
    /// Keeps only the stacks that pass through a frame whose function satisfies
    /// `matches` (`--focus`). A matching frame keeps its whole subtree and its numbers;
    /// a frame below it (an ancestor) keeps only the width of the matching stacks above
    /// it, so its self time becomes 0 and it has no cut children; every other frame is
    /// dropped. The root shrinks to the focused time, and `cut_time`/`cut_frames` count
    /// only the cut children of the frames kept. Iterative: two passes over the
    /// pre-order, then a rebuild.
    pub fn focused(&self, matches: impl Fn(FuncId) -> bool) -> CallTree {
        let n = self.frames.len();
        if n == 0 {
            return self.clone();
        }
        // inside[i]: frame i or one of its ancestors matches.
        let mut inside = vec![false; n];
        for i in 1..n {
            let f = &self.frames[i];
            inside[i] = inside[f.parent as usize] || f.func.is_some_and(&matches);
        }
        // kept[i]: the width frame i keeps; children come after parents in pre-order,
        // so a reverse walk sees every child before its parent.
        let mut kept = vec![0.0f64; n];
        for i in (1..n).rev() {
            if inside[i] {
                kept[i] = self.frames[i].total;
            }
            let p = self.frames[i].parent as usize;
            if !inside[p] && kept[i] > 0.0 {
                kept[p] += kept[i];
            }
        }
        let mut b = TreeBuilder::new(kept[0]);
        // What was cut is what was cut under the frames kept whole (the others keep no
        // cut children), not the whole tree's: a footer must not report cut time from
        // stacks the focus left out.
        b.truncated = self.truncated;
        b.unexpanded = self.unexpanded;
        let mut new_id = vec![u32::MAX; n];
        new_id[0] = ROOT;
        for i in 1..n {
            let f = &self.frames[i];
            let parent = new_id[f.parent as usize];
            if kept[i] <= 0.0 || parent == u32::MAX {
                continue;
            }
            let mut frame = Frame {
                parent,
                ..f.clone()
            };
            if !inside[i] {
                frame.total = kept[i];
                frame.cut = 0.0;
                frame.cut_count = 0;
                frame.min_total = frame.min_total.min(kept[i]);
                frame.max_total = kept[i];
            }
            b.cut_time += frame.cut;
            b.cut_frames += u64::from(frame.cut_count);
            new_id[i] = b.push(frame);
        }
        b.finish()
    }
}

/// How far [`TreeBuilder::push`] looks for the pushed function's nearest occurrence.
const REPEAT_LOOKBACK: usize = 512;

fn bloom_bit(func: FuncId) -> u128 {
    1u128 << (func.wrapping_mul(0x9E37_79B9) >> 25)
}

/// Collects frames in any order; [`TreeBuilder::finish`] lays them out.
pub(crate) struct TreeBuilder {
    frames: Vec<Frame>,
    /// Per frame, a 128-bit Bloom filter of the functions on its stack: a cheap "no"
    /// for [`TreeBuilder::has_ancestor`].
    blooms: Vec<u128>,
    /// Per frame, an upper bound on how often any one function appears on its stack
    /// (`u16::MAX` when unknown): a cheap "no" for [`TreeBuilder::ancestor_count_reaches`].
    max_repeats: Vec<u16>,
    /// Per frame, how often its own function appears on its stack, itself included
    /// (`u16::MAX` when unknown).
    repeats: Vec<u16>,
    /// Per frame, its parent and function ([`NO_FUNC`] for the root): what walks down a
    /// stack read, kept apart from the frames so that a walk touches 8 bytes a step.
    links: Vec<(u32, FuncId)>,
    pub unexpanded: u64,
    pub cut_time: f64,
    pub cut_frames: u64,
    pub truncated: bool,
}

impl TreeBuilder {
    pub fn new(total: f64) -> TreeBuilder {
        TreeBuilder {
            frames: vec![Frame::root(total)],
            blooms: vec![0],
            max_repeats: vec![0],
            repeats: vec![0],
            links: vec![(ROOT, NO_FUNC)],
            unexpanded: 0,
            cut_time: 0.0,
            cut_frames: 0,
            truncated: false,
        }
    }

    pub fn frame(&self, i: u32) -> &Frame {
        &self.frames[i as usize]
    }

    /// An empty tree as wide as the profile's total time (Σ own time, odd times counted
    /// as zero), with that total; or, when there is no time to draw, or so much that
    /// widths would overflow (absurd data the callers divide first: see `time_scale`), the finished empty
    /// tree.
    pub fn for_profile(profile: &Profile) -> Result<(TreeBuilder, f64), Box<CallTree>> {
        let total: f64 = profile.functions().iter().map(|f| clean(f.stats.tt)).sum();
        let mut tree = TreeBuilder::new(total);
        // Room for about as many frames as the profile has edges (pip list: 7,322 edges,
        // 1,837 frames), up to 16k: growing the tables copies them.
        let room = (profile.edges().len() + 1).min(1 << 14);
        tree.frames.reserve(room);
        tree.blooms.reserve(room);
        tree.links.reserve(room);
        tree.max_repeats.reserve(room);
        tree.repeats.reserve(room);
        if total > 0.0 && total.is_finite() {
            Ok((tree, total))
        } else {
            Err(Box::new(tree.finish()))
        }
    }

    /// True when `func` is drawn in `frame` or one of its ancestors. Looks at most
    /// `lookback` frames down: deeper cycles are unrolled until their time runs out.
    pub fn has_ancestor(&self, frame: u32, func: FuncId, lookback: usize) -> bool {
        if self.blooms[frame as usize] & bloom_bit(func) == 0 {
            return false;
        }
        let mut at = frame;
        for _ in 0..lookback {
            if at == ROOT {
                return false;
            }
            let f = &self.frames[at as usize];
            if f.func == Some(func) {
                return true;
            }
            at = f.parent;
        }
        false
    }

    /// Adds a child frame; its depth is set from the parent, its self time starts at
    /// its total and shrinks as children are added.
    pub fn push(&mut self, mut frame: Frame) -> u32 {
        let parent = frame.parent as usize;
        frame.depth = self.frames[parent].depth + 1;
        frame.self_time = frame.total;
        let id = self.frames.len() as u32;
        self.frames[parent].self_time -= frame.total;
        let bloom = self.blooms[parent] | frame.func.map_or(0, bloom_bit);
        let repeat = frame
            .func
            .map_or(0, |f| self.repeats_below(parent as u32, f));
        self.blooms.push(bloom);
        self.links
            .push((frame.parent, frame.func.unwrap_or(NO_FUNC)));
        self.repeats.push(repeat);
        self.max_repeats.push(self.max_repeats[parent].max(repeat));
        self.frames.push(frame);
        id
    }

    /// How often `func` will appear on a stack that adds it on top of `frame`: one more
    /// than at its nearest occurrence, found within [`REPEAT_LOOKBACK`] frames (so a
    /// push costs at most that many steps), else unknown (`u16::MAX`).
    fn repeats_below(&self, frame: u32, func: FuncId) -> u16 {
        if self.blooms[frame as usize] & bloom_bit(func) == 0 {
            return 1;
        }
        let mut at = frame;
        for _ in 0..REPEAT_LOOKBACK {
            if at == ROOT {
                return 1;
            }
            let (parent, f) = self.links[at as usize];
            if f == func {
                return self.repeats[at as usize].saturating_add(1);
            }
            at = parent;
        }
        u16::MAX
    }

    /// Whether `func` appears at least `times` times in `frame` and its ancestors (at
    /// most `lookback` deep). Stops as soon as the answer is known.
    pub fn ancestor_count_reaches(
        &self,
        frame: u32,
        func: FuncId,
        lookback: usize,
        times: usize,
    ) -> bool {
        if times == 0 {
            return true;
        }
        if self.blooms[frame as usize] & bloom_bit(func) == 0
            || usize::from(self.max_repeats[frame as usize]) < times
        {
            return false;
        }
        let mut at = frame;
        let mut n = 0;
        for _ in 0..lookback {
            if at == ROOT {
                break;
            }
            let (parent, f) = self.links[at as usize];
            n += usize::from(f == func);
            if n >= times {
                return true;
            }
            at = parent;
        }
        false
    }

    /// Whether `func` may stand on the stack of `frame` (never a false "no"): the
    /// cheap test before a walk.
    pub fn may_be_on_stack(&self, frame: u32, func: FuncId) -> bool {
        self.blooms[frame as usize] & bloom_bit(func) != 0
    }

    /// Calls `visit(caller, callee)` for each frame of `frame`'s stack, from `frame`
    /// down, at most `lookback` frames (`caller` is `None` at the bottom).
    pub fn walk_stack(
        &self,
        frame: u32,
        lookback: usize,
        mut visit: impl FnMut(Option<FuncId>, FuncId),
    ) {
        let mut at = frame;
        for _ in 0..lookback {
            if at == ROOT {
                break;
            }
            let (parent, func) = self.links[at as usize];
            if func != NO_FUNC {
                let caller = self.links[parent as usize].1;
                visit((caller != NO_FUNC).then_some(caller), func);
            }
            at = parent;
        }
    }

    /// Whether the call `caller` → `callee` already stands on the stack of `frame` (a
    /// frame of `callee` right above one of `caller`, at most `lookback` deep).
    pub fn call_on_stack(
        &self,
        frame: u32,
        caller: FuncId,
        callee: FuncId,
        lookback: usize,
    ) -> bool {
        if self.blooms[frame as usize] & bloom_bit(callee) == 0 {
            return false;
        }
        let mut at = frame;
        for _ in 0..lookback {
            if at == ROOT {
                break;
            }
            let (parent, func) = self.links[at as usize];
            if func == callee && self.links[parent as usize].1 == caller {
                return true;
            }
            at = parent;
        }
        false
    }

    /// The widest frame waiting in `queue`, or `None` when the queue is empty or the
    /// tree has reached `budget` frames (then it is marked truncated, and the frames
    /// left in the queue stay unexpanded).
    pub fn next_to_expand(&mut self, queue: &mut BinaryHeap<Queued>, budget: usize) -> Option<u32> {
        let next = queue.pop()?;
        if self.frames.len() >= budget {
            self.truncated = true;
            self.unexpanded = 1 + queue.len() as u64;
            return None;
        }
        Some(next.frame())
    }

    /// Records that a child of `parent` of width `width` was not drawn.
    pub fn cut(&mut self, parent: u32, width: f64) {
        if width > 0.0 {
            let f = &mut self.frames[parent as usize];
            f.cut += width;
            f.cut_count = f.cut_count.saturating_add(1);
            self.cut_time += width;
            self.cut_frames += 1;
        }
    }

    /// Sorts children by function, lays frames out in pre-order and computes offsets.
    /// Iterative: trees can be thousands of levels deep.
    pub fn finish(self) -> CallTree {
        let TreeBuilder {
            frames,
            cut_time,
            cut_frames,
            truncated,
            unexpanded,
            ..
        } = self;
        let n = frames.len();
        // Each frame's children in one flat list (a counting sort by parent):
        // `kids[kid_start[i]..kid_start[i + 1]]`, ordered by function.
        let mut kid_start = vec![0u32; n + 1];
        for f in frames.iter().skip(1) {
            kid_start[f.parent as usize + 1] += 1;
        }
        for i in 0..n {
            kid_start[i + 1] += kid_start[i];
        }
        let mut fill = kid_start.clone();
        let mut kids = vec![0u32; n.saturating_sub(1)];
        for (i, f) in frames.iter().enumerate().skip(1) {
            let at = &mut fill[f.parent as usize];
            kids[*at as usize] = i as u32;
            *at += 1;
        }
        drop(fill);
        let kids_of = |i: u32| kid_start[i as usize] as usize..kid_start[i as usize + 1] as usize;
        for i in 0..n as u32 {
            // (function, index) is unique: an unstable sort gives the one order.
            kids[kids_of(i)].sort_unstable_by_key(|&c| (frames[c as usize].func, c));
        }
        // Pre-order walk; new ids are assigned in visiting order.
        let mut order: Vec<u32> = Vec::with_capacity(n);
        let mut stack: Vec<u32> = vec![ROOT];
        while let Some(i) = stack.pop() {
            order.push(i);
            stack.extend(kids[kids_of(i)].iter().rev());
        }
        let mut new_id = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            new_id[old as usize] = new as u32;
        }
        let mut out: Vec<Frame> = Vec::with_capacity(n);
        let mut children = Vec::with_capacity(n.saturating_sub(1));
        let mut child_ranges = Vec::with_capacity(n);
        for &old in &order {
            let mut f = frames[old as usize].clone();
            f.parent = new_id[f.parent as usize];
            f.self_time = f.self_time.max(0.0);
            out.push(f);
            let a = children.len() as u32;
            children.extend(kids[kids_of(old)].iter().map(|&c| new_id[c as usize]));
            child_ranges.push((a, children.len() as u32));
        }
        // Offsets: each child starts where the previous sibling ended.
        for i in 0..out.len() {
            let (a, b) = child_ranges[i];
            let mut x = out[i].start;
            for &c in &children[a as usize..b as usize] {
                out[c as usize].start = x;
                x += out[c as usize].total;
            }
        }
        let grades = grades(&out, &children, &child_ranges);
        CallTree {
            frames: out,
            children,
            child_ranges,
            cut_time,
            cut_frames,
            truncated,
            unexpanded,
            grades,
        }
    }
}

/// Every frame's [`Certainty`], spreads summed from the root up, parents first.
fn grades(frames: &[Frame], children: &[u32], child_ranges: &[(u32, u32)]) -> Vec<Certainty> {
    let mut grade = vec![Certainty::Exact; frames.len()];
    let mut spread = vec![0.0f64; frames.len()];
    let mut todo = vec![ROOT];
    while let Some(p) = todo.pop() {
        let (a, b) = child_ranges[p as usize];
        for &c in &children[a as usize..b as usize] {
            let f = &frames[c as usize];
            let sum = spread[p as usize] + f.spread();
            spread[c as usize] = sum;
            grade[c as usize] = if f.exact && grade[p as usize] == Certainty::Exact {
                Certainty::Exact
            } else if sum <= Certainty::CLOSE_SPREAD {
                Certainty::Close
            } else {
                Certainty::Guess
            };
            todo.push(c);
        }
    }
    grade
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(parent: u32, func: u32, total: f64) -> Frame {
        Frame {
            func: Some(func),
            parent,
            ..Frame::root(total)
        }
    }

    #[test]
    fn ancestor_counts_agree_with_a_plain_count_of_the_stack() {
        // A stack cycling through 5 functions, 1000 deep (past both lookbacks), with
        // 333 functions seen once each (saturating the Bloom filter); then a stack of
        // 300 distinct functions but one, seen 3 times.
        let cycling = |i: u32| if i.is_multiple_of(3) { 1000 + i } else { i % 5 };
        let distinct = |i: u32| if i.is_multiple_of(100) { 7 } else { 2000 + i };
        for (depth, func_at) in [(1000, &cycling as &dyn Fn(u32) -> u32), (300, &distinct)] {
            let mut t = TreeBuilder::new(1.0);
            let mut top = ROOT;
            let mut stack: Vec<u32> = Vec::new();
            for i in 0..depth {
                let func = func_at(i);
                top = t.push(child(top, func, 1.0));
                stack.push(func);
            }
            for func in [0, 1, 4, 7, 1003, 2001] {
                for lookback in [10, 512, 2000] {
                    let seen = stack
                        .iter()
                        .rev()
                        .take(lookback)
                        .filter(|&&f| f == func)
                        .count();
                    for times in [0, 1, 2, 24, seen, seen + 1] {
                        assert_eq!(
                            t.ancestor_count_reaches(top, func, lookback, times),
                            seen >= times,
                            "func {func}, lookback {lookback}, times {times}"
                        );
                    }
                }
            }
        }
    }

    fn estimated(total: f64, min_total: f64, max_total: f64) -> Frame {
        Frame {
            exact: false,
            min_total,
            max_total,
            ..Frame::root(total)
        }
    }

    #[test]
    fn spread_is_the_range_over_the_width() {
        assert_eq!(Frame::root(4.0).spread(), 0.0);
        // An exact frame has no spread whatever its (unused) range says.
        let wide_exact = Frame {
            exact: true,
            ..estimated(1.0, 0.0, 9.0)
        };
        assert_eq!(wide_exact.spread(), 0.0);
        assert_eq!(estimated(4.0, 4.0, 4.0).spread(), 0.0);
        assert_eq!(estimated(4.0, 3.0, 5.0).spread(), 0.5);
        // No width, or one that is not a number: no range can be told.
        for f in [
            estimated(0.0, 0.0, 0.0),
            estimated(f64::NAN, 1.0, 1.0),
            estimated(f64::INFINITY, 1.0, f64::INFINITY),
            estimated(1.0, 1.0, f64::NAN),
        ] {
            assert_eq!(f.spread(), f64::INFINITY);
        }
        let names: Vec<_> = [Certainty::Exact, Certainty::Close, Certainty::Guess]
            .map(Certainty::name)
            .into();
        assert_eq!(names, ["exact", "close", "guess"]);
    }

    #[test]
    fn certainty_adds_the_spreads_up_the_stack() {
        // root → a (exact) → b (spread 0.3) → c (exact) → d (spread 0.2) → e (0.01),
        // and a → x (spread 0.5000001).
        let mut b = TreeBuilder::new(10.0);
        let exact = |parent, func, total| Frame {
            exact: true,
            ..child(parent, func, total)
        };
        let est = |parent, func, total: f64, lo: f64, hi: f64| Frame {
            exact: false,
            min_total: lo,
            max_total: hi,
            ..child(parent, func, total)
        };
        let a = b.push(exact(ROOT, 0, 10.0));
        let bb = b.push(est(a, 1, 10.0, 8.0, 11.0));
        let c = b.push(exact(bb, 2, 5.0));
        let d = b.push(est(c, 3, 5.0, 4.5, 5.5));
        let e = b.push(est(d, 4, 1.0, 1.0, 1.01));
        let x = b.push(est(a, 5, 0.1, 0.05, 0.1000001));
        let t = b.finish();
        let grade_of = |func: u32| {
            let i = (0..t.frames().len() as u32)
                .find(|&i| t.frame(i).func == Some(func))
                .unwrap();
            t.certainty(i)
        };
        let _ = (a, bb, c, d, e, x);
        assert_eq!(t.certainty(ROOT), Certainty::Exact);
        assert_eq!(grade_of(0), Certainty::Exact);
        assert_eq!(grade_of(1), Certainty::Close);
        // Exact width, estimated stack.
        assert_eq!(grade_of(2), Certainty::Close);
        // 0.3 + 0.2 = 0.5: still close; 0.51 above it: a guess.
        assert_eq!(grade_of(3), Certainty::Close);
        assert_eq!(grade_of(4), Certainty::Guess);
        assert_eq!(grade_of(5), Certainty::Guess);
    }

    #[test]
    fn own_time_leaves_out_the_cut_children() {
        let f = Frame {
            self_time: 3.0,
            cut: 2.0,
            ..Frame::root(5.0)
        };
        assert_eq!(f.own_time(), 1.0);
        // Estimated children can leave less self time than was cut: never negative.
        let f = Frame {
            self_time: 1.0,
            cut: 2.0,
            ..Frame::root(5.0)
        };
        assert_eq!(f.own_time(), 0.0);
    }

    #[test]
    fn walked_stacks_carry_the_time_below_the_cut() {
        // root(10) → a(10) → b(6) → c(4); a also calls d(3). Self: a 1, b 2, c 4, d 3.
        let mut b = TreeBuilder::new(10.0);
        let a = b.push(child(ROOT, 1, 10.0));
        let bb = b.push(child(a, 2, 6.0));
        b.push(child(bb, 3, 4.0));
        b.push(child(a, 4, 3.0));
        let t = b.finish();
        let walk = |max_depth| {
            let mut steps = Vec::new();
            let cut = t
                .walk_stacks(max_depth, |s| {
                    steps.push(s);
                    Ok::<(), ()>(())
                })
                .unwrap();
            (steps, cut)
        };
        let (steps, cut) = walk(usize::MAX);
        assert_eq!(cut, (0, 0.0));
        use StackStep::{Complete, Enter};
        assert_eq!(
            steps,
            [
                Enter(1, Some(1)),
                Complete(1.0),
                Enter(2, Some(2)),
                Complete(2.0),
                Enter(3, Some(3)),
                Complete(4.0),
                Enter(2, Some(4)),
                Complete(3.0),
            ]
        );
        // Cut at depth 2: c's 4 s goes onto b's stack.
        let (steps, cut) = walk(2);
        assert_eq!(cut, (1, 4.0));
        assert_eq!(steps[3], Complete(6.0));
        assert_eq!(steps.len(), 6);
    }

    #[test]
    fn finish_orders_children_by_function_and_lays_out_offsets() {
        let mut b = TreeBuilder::new(10.0);
        let late = b.push(child(ROOT, 5, 4.0));
        b.push(child(ROOT, 2, 6.0));
        b.push(child(late, 1, 1.0));
        let t = b.finish();
        let top: Vec<_> = t.children(ROOT).iter().map(|&c| t.frame(c).func).collect();
        assert_eq!(top, vec![Some(2), Some(5)]);
        let second = t.children(ROOT)[1];
        assert_eq!(t.frame(second).start, 6.0);
        assert_eq!(t.frame(second).self_time, 3.0);
        assert_eq!(t.children(second).len(), 1);
        assert_eq!(t.frame(t.children(second)[0]).depth, 2);
        assert_eq!(t.frame(ROOT).self_time, 0.0);
    }

    #[test]
    fn focus_keeps_stacks_through_the_match_only() {
        // root ─ 1 (10) ─┬─ 2 (4) ── 3 (1)
        //                └─ 4 (5)
        let mut b = TreeBuilder::new(10.0);
        let a = b.push(Frame {
            func: Some(1),
            parent: ROOT,
            ..Frame::root(10.0)
        });
        let m = b.push(Frame {
            func: Some(2),
            parent: a,
            ..Frame::root(4.0)
        });
        b.push(Frame {
            func: Some(3),
            parent: m,
            ..Frame::root(1.0)
        });
        b.push(Frame {
            func: Some(4),
            parent: a,
            ..Frame::root(5.0)
        });
        // 3's frame cuts a child of 0.5, 4's one of 2: only the first is in the focus.
        b.cut(3, 0.5);
        b.cut(4, 2.0);
        let whole = b.finish();
        assert_eq!((whole.cut_time, whole.cut_frames), (2.5, 2));
        let t = whole.focused(|f| f == 2);
        assert_eq!((t.cut_time, t.cut_frames), (0.5, 1));
        assert_eq!(t.total(), 4.0);
        assert_eq!(t.len(), 3);
        let a = t.children(ROOT)[0];
        assert_eq!((t.frame(a).total, t.frame(a).self_time), (4.0, 0.0));
        let m = t.children(a)[0];
        assert_eq!((t.frame(m).total, t.frame(m).self_time), (4.0, 3.0));
        // Inside the focus a frame keeps its cut children, apart from its own time.
        let leaf = t.frame(t.children(m)[0]);
        assert_eq!((leaf.self_time, leaf.cut, leaf.own_time()), (1.0, 0.5, 0.5));
        assert!(t.focused(|f| f == 99).is_empty());
    }
}
