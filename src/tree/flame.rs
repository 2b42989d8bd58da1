//! The flame tree estimator: pools per edge, largest context first.
//!
//! Each caller→callee edge's cumulative time is a pool that the contexts (frames) of
//! the caller draw from, so no edge is spent twice. Frames are expanded from a
//! priority queue, widest first: big contexts take their share first and small ones
//! take what is left. A frame of a function whose whole time it holds takes its pools
//! whole, so single-context paths are exact. Recursion is folded: a function already
//! on the stack is not drawn again, and the time of the inner calls stays in the
//! outermost frame (whose `ct`, by cProfile's definition, already includes it).

use std::collections::BinaryHeap;

use super::arena::{CallTree, Frame, ROOT, TreeBuilder};
use super::{Queued, TreeOptions, clean, edge_numbers};
use crate::model::{FuncId, Profile};

/// How far up the stack the recursion check looks; deeper cycles are unrolled until
/// their pools run dry, which still terminates.
const RECURSION_LOOKBACK: usize = 256;

/// Builds the flame tree of `profile`.
pub fn build(profile: &Profile, options: &TreeOptions) -> CallTree {
    let functions = profile.functions();
    let total: f64 = functions.iter().map(|f| clean(f.stats.tt)).sum();
    let mut tree = TreeBuilder::new(total);
    if total <= 0.0 {
        return tree.finish();
    }
    let min_width = options.min_width(total);

    // Remaining cumulative time of each edge, indexed like `profile.edges()`.
    let edges = profile.edges();
    let mut pool: Vec<f64> = edges
        .iter()
        .map(|e| edge_numbers(profile, e.callee, &e.stats).ct)
        .collect();

    let mut queue = BinaryHeap::new();
    for (func, width, calls, exact) in roots(profile, total) {
        if width < min_width {
            tree.cut(ROOT, width);
            continue;
        }
        let frame = tree.push(Frame {
            func: Some(func),
            parent: ROOT,
            calls,
            exact,
            min_total: if exact { width } else { 0.0 },
            max_total: width
                .max(clean(functions[func as usize].stats.ct))
                .min(total),
            ..Frame::root(width)
        });
        queue.push(Queued { width, frame });
    }

    while let Some(Queued { frame, .. }) = queue.pop() {
        let parent = tree.frame(frame).clone();
        let Some(func) = parent.func else { continue };
        let depth = parent.depth as usize + 1;
        let ct_f = clean(functions[func as usize].stats.ct);
        let share = if ct_f > 0.0 {
            (parent.total / ct_f).min(1.0)
        } else {
            0.0
        };
        let whole = share >= 1.0 - 1e-9;

        // What each callee edge would give this context, before the parent's width cap.
        let mut wants: Vec<(usize, FuncId, f64, f64, bool)> = Vec::new();
        for &idx in profile.callee_edge_ids(func) {
            let idx = idx as usize;
            let e = &edges[idx];
            if e.callee == func || tree.has_ancestor(frame, e.callee, RECURSION_LOOKBACK) {
                continue;
            }
            let numbers = edge_numbers(profile, e.callee, &e.stats);
            let want = if whole {
                pool[idx]
            } else {
                (numbers.ct * share).min(pool[idx])
            };
            if want > 0.0 {
                let exact = parent.exact && whole && numbers.timed && pool[idx] == numbers.ct;
                wants.push((idx, e.callee, want, numbers.nc * share, exact));
            }
        }
        let asked: f64 = wants.iter().map(|w| w.2).sum();
        let scale = if asked > parent.total {
            parent.total / asked
        } else {
            1.0
        };
        for (idx, callee, want, calls, exact) in wants {
            let width = want * scale;
            pool[idx] -= width;
            let numbers = edge_numbers(profile, callee, &profile.edges()[idx].stats);
            if width < min_width || !options.depth_allowed(depth) {
                tree.cut(frame, width);
                continue;
            }
            if tree.len() >= options.max_frames {
                tree.truncated = true;
                tree.cut(frame, width);
                continue;
            }
            let exact = exact && scale == 1.0;
            let (lo, hi) = if exact {
                (width, width)
            } else {
                (
                    (numbers.ct - (ct_f - parent.total)).max(0.0).min(width),
                    numbers.ct.min(parent.total).max(width),
                )
            };
            let child = tree.push(Frame {
                func: Some(callee),
                parent: frame,
                calls,
                exact,
                min_total: lo,
                max_total: hi,
                ..Frame::root(width)
            });
            if profile.callees_of(callee).len() > 0 {
                queue.push(Queued {
                    width,
                    frame: child,
                });
            }
        }
    }
    tree.finish()
}

/// The frames at the bottom of the graph: `(function, width, calls, exact)`.
///
/// A function nobody called (no caller edges) is a root with its whole `ct`, exact.
/// A function with calls its callers do not account for (e.g. `builtins.exec` started
/// by `python -m cProfile`, then called again by importlib) is a root for those calls.
/// Roots claim time widest first and never more than the profile's total, so the roots
/// add up to the total (when a file records no callers at all, nested functions would
/// otherwise be counted twice).
fn roots(profile: &Profile, total: f64) -> Vec<(FuncId, f64, f64, bool)> {
    let mut exact_roots = Vec::new();
    let mut partial_roots = Vec::new();
    for (id, f) in profile.functions().iter().enumerate() {
        let id = id as FuncId;
        let ct = clean(f.stats.ct);
        let callers = profile.callers_of(id);
        let outside: Vec<_> = callers.iter().filter(|e| e.caller != id).collect();
        if outside.is_empty() {
            if ct > 0.0 {
                exact_roots.push((id, ct, f.stats.nc.max(0) as f64));
            }
        } else {
            let covered: i128 = callers
                .iter()
                .map(|e| e.stats.calls().max(0))
                .fold(0, i128::saturating_add);
            let uncovered = f.stats.nc.saturating_sub(covered);
            if uncovered > 0 && ct > 0.0 {
                partial_roots.push((id, ct, uncovered as f64));
            }
        }
    }
    let by_width =
        |a: &(FuncId, f64, f64), b: &(FuncId, f64, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    exact_roots.sort_by(by_width);
    partial_roots.sort_by(by_width);
    let mut remaining = total;
    let mut out = Vec::new();
    for (list, exact) in [(exact_roots, true), (partial_roots, false)] {
        for (id, ct, calls) in list {
            let width = ct.min(remaining);
            if width <= 0.0 {
                break;
            }
            remaining -= width;
            out.push((id, width, calls, exact && width == ct));
        }
    }
    out
}
