//! flameprof 0.4's inverted tree: who spends the self time, called from where.
//!
//! Each function stands at the width of its own time (exact). Beneath it, its callers
//! share that width by the callee's own time under each caller (exact, from the edge's
//! `tt`). Further down, a caller's width is split among its own callers by edge
//! cumulative time (estimated, unless the function has a single caller). Callers
//! already in the chain are not repeated (recursion folded), and the part of a width
//! no caller accounts for (calls from outside the profile) stays with the frame.

use std::collections::BinaryHeap;

use super::arena::{CallTree, Frame, ROOT, TreeBuilder};
use super::{EdgeNumbers, Queued, TreeOptions, clean, edge_numbers};
use crate::model::{FuncId, Profile, count_f64};

const RECURSION_LOOKBACK: usize = 256;

/// Builds the inverted tree of `profile`.
pub fn build(profile: &Profile, options: &TreeOptions) -> CallTree {
    let (tree, total) = match TreeBuilder::for_profile(profile) {
        Ok(started) => started,
        Err(empty) => return *empty,
    };
    let mut x = Expansion {
        profile,
        options,
        min_width: options.min_width(total),
        tree,
        queue: BinaryHeap::new(),
        numbers: Vec::with_capacity(profile.edges().len()),
        numbered_at: vec![UNSET; profile.functions().len()],
        callers: Vec::new(),
    };
    x.push_leaves();
    let budget = options.frame_budget(profile);
    while let Some(frame) = x.tree.next_to_expand(&mut x.queue, budget) {
        x.expand(frame);
    }
    x.tree.finish()
}

/// Not numbered yet (see [`Expansion::numbers`]).
const UNSET: usize = usize::MAX;

/// The tree as it grows, the queue of frames to expand, and the caller edges' numbers.
struct Expansion<'a> {
    profile: &'a Profile,
    options: &'a TreeOptions,
    min_width: f64,
    tree: TreeBuilder,
    queue: BinaryHeap<Queued>,
    /// Edge numbers, computed once per callee the first time one of its frames is
    /// expanded: most functions never are. `numbers` holds them callee after callee, in
    /// the order of `callers_of`, from `numbered_at[callee]` on; nothing is computed (or
    /// touched) per edge of a callee never expanded. Room for every edge is reserved
    /// once, so that the table never moves: memory reserved is only paid for where used.
    numbers: Vec<EdgeNumbers>,
    numbered_at: Vec<usize>,
    /// The callers a frame is given (reused): `(caller, index into numbers)`.
    callers: Vec<(FuncId, usize)>,
}

impl Expansion<'_> {
    /// Pushes every function with own time at that width, and queues it.
    fn push_leaves(&mut self) {
        for (id, f) in self.profile.functions().iter().enumerate() {
            let width = clean(f.stats.tt);
            if width <= 0.0 {
                continue;
            }
            if width < self.min_width {
                self.tree.cut(ROOT, width);
                continue;
            }
            let frame = self.tree.push(Frame {
                func: Some(id as FuncId),
                parent: ROOT,
                calls: count_f64(f.stats.nc.max(0)),
                ..Frame::root(width)
            });
            self.queue.push(Queued::new(width, frame));
        }
    }

    /// The indices into `numbers` of `func`'s caller edges, numbering them first if no
    /// frame of `func` was expanded before.
    fn caller_numbers(&mut self, func: FuncId) -> std::ops::Range<usize> {
        let profile = self.profile;
        if self.numbered_at[func as usize] == UNSET {
            self.numbered_at[func as usize] = self.numbers.len();
            self.numbers.extend(
                profile
                    .callers_of(func)
                    .iter()
                    .map(|e| edge_numbers(profile, e)),
            );
        }
        let first = self.numbered_at[func as usize];
        first..first + profile.callers_of(func).len()
    }

    /// Gives `frame` its callers beneath it.
    fn expand(&mut self, frame: u32) {
        let parent = self.tree.frame(frame).clone();
        let Some(func) = parent.func else { return };
        let profile = self.profile;
        let components = profile.components();
        let edges = self.caller_numbers(func);
        let tree = &self.tree;
        self.callers.clear();
        self.callers.extend(
            profile
                .callers_of(func)
                .iter()
                .zip(edges.clone())
                // Only a caller in the same cycle can already be an ancestor.
                .filter(|(e, _)| {
                    e.caller != func
                        && (components[e.caller as usize] != components[func as usize]
                            || !tree.has_ancestor(frame, e.caller, RECURSION_LOOKBACK))
                })
                .map(|(e, i)| (e.caller, i)),
        );
        if self.callers.is_empty() {
            return;
        }
        let single = self.callers.len() == 1 && edges.len() == 1;
        self.push_callers(frame, &parent, single);
    }

    /// Pushes the callers listed in `callers` beneath `frame` (of `parent`'s function),
    /// sharing its width; `single` when they are all of its function's callers and one.
    fn push_callers(&mut self, frame: u32, parent: &Frame, single: bool) {
        let Some(func) = parent.func else { return };
        let depth = parent.depth as usize + 1;
        let first_level = parent.parent == ROOT;
        let (numbers, callers) = (&self.numbers, &self.callers);
        // Weights: own time under each caller at the first level, cumulative time below.
        let weight = |n: &EdgeNumbers| if first_level { n.tt } else { n.ct };
        let sum: f64 = callers.iter().map(|&(_, i)| weight(&numbers[i])).sum();
        let f = &self.profile.functions()[func as usize].stats;
        let (base, by_calls) = if sum > 0.0 {
            let own = if first_level {
                clean(f.tt)
            } else {
                clean(f.ct)
            };
            (own.max(sum), false)
        } else {
            // No time on any edge: fall back to call counts (0.4 divides by zero here).
            let calls: f64 = callers.iter().map(|&(_, i)| numbers[i].nc).sum();
            (count_f64(f.nc.max(0)).max(calls), true)
        };
        if base <= 0.0 {
            return;
        }
        for &(caller, i) in callers {
            let n = &numbers[i];
            let part = if by_calls { n.nc } else { weight(n) } / base;
            let width = parent.total * part;
            if width < self.min_width || !self.options.depth_allowed(depth) {
                self.tree.cut(frame, width);
                continue;
            }
            let exact = n.timed && !by_calls && parent.exact && (first_level || single);
            let child = self.tree.push(Frame {
                func: Some(caller),
                parent: frame,
                calls: n.nc
                    * if first_level {
                        1.0
                    } else {
                        parent.total / base.max(f64::MIN_POSITIVE)
                    },
                exact,
                min_total: if exact { width } else { 0.0 },
                max_total: if exact { width } else { parent.total },
                ..Frame::root(width)
            });
            self.queue.push(Queued::new(width, child));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EdgeStats, FuncKey, ProfileBuilder, Stats};

    fn key(name: &str) -> FuncKey {
        FuncKey::new("app.py", 1, name)
    }

    fn st(nc: i128, tt: f64, ct: f64) -> Stats {
        Stats { cc: nc, nc, tt, ct }
    }

    /// `leaf` called by `a` and `b` with the given edge numbers `(nc, tt, ct)`; the
    /// inverted tree at threshold 0, and the frame of `leaf` in it.
    fn leaf_with_two_callers(leaf: Stats, from_a: Stats, from_b: Stats) -> (CallTree, u32) {
        let mut b = ProfileBuilder::new();
        b.add_function(key("a"), st(1, 0.0, from_a.ct));
        b.add_function(key("b"), st(1, 0.0, from_b.ct));
        b.add_function(key("leaf"), leaf);
        b.add_edge(key("a"), key("leaf"), EdgeStats::Timed(from_a));
        b.add_edge(key("b"), key("leaf"), EdgeStats::Timed(from_b));
        let options = TreeOptions {
            threshold: 0.0,
            ..TreeOptions::default()
        };
        let t = build(&b.finish(), &options);
        let leaf = t.children(ROOT)[0];
        (t, leaf)
    }

    #[test]
    fn self_time_is_split_by_the_callee_s_own_time_under_each_caller() {
        let (t, leaf) = leaf_with_two_callers(st(2, 4.0, 4.0), st(1, 1.0, 1.0), st(1, 3.0, 3.0));
        assert_eq!(t.frame(leaf).total, 4.0);
        let callers: Vec<(f64, bool)> = t
            .children(leaf)
            .iter()
            .map(|&c| (t.frame(c).total, t.frame(c).exact))
            .collect();
        assert_eq!(callers, vec![(1.0, true), (3.0, true)]);
    }

    #[test]
    fn edges_without_time_fall_back_to_call_counts() {
        let (t, leaf) = leaf_with_two_callers(st(4, 2.0, 2.0), st(1, 0.0, 0.0), st(3, 0.0, 0.0));
        let widths: Vec<f64> = t.children(leaf).iter().map(|&c| t.frame(c).total).collect();
        assert_eq!(widths, vec![0.5, 1.5]);
    }
}
