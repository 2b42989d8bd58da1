//! The flame tree estimator.
//!
//! A pstats file keeps caller→callee totals, not stacks; this module turns them into
//! the most plausible tree the data allows (method and measured error: the README's
//! "How the tree is built" section). In short:
//!
//! - **Pools per edge.** Each caller→callee edge's cumulative time is a pool that the
//!   contexts (frames) of the caller draw from, so no edge is spent twice.
//! - **Widest context first.** Frames are expanded from a priority queue, so big
//!   contexts choose first and small ones take what is left. A frame holding all of
//!   its function's time takes its pools whole: single-context paths are exact.
//! - **Each context's own budget.** A frame's children share what the frame did not
//!   spend itself; its own time comes from the edge it was reached by (the callee's
//!   `tt` under that caller), so children are split by the context's real budget
//!   rather than by one proportional factor.
//! - **Atoms and dispatchers.** An edge with a single call (a module body run by
//!   `exec`, `main()` run by a module) is indivisible: it is placed whole in a context
//!   whose budget fits it, never smeared over all of them. A function whose callees'
//!   calls add up to its own (`builtins.exec`) makes one child call per call, so a
//!   context with k calls gets at most k atoms.
//! - **Recursion.** Direct recursion is unrolled with a constant share per level (see
//!   [`recursion_ratio`]): folded, it gives back exactly the data. Re-entry through a cycle of several functions (imports
//!   run `exec` inside `exec`) is drawn where the budget allows, at most
//!   [`MAX_REENTRY`] times per stack; edges inside such a cycle are not bounded by
//!   their pools, because cProfile counts their `ct` for the outermost call only.

use std::collections::BinaryHeap;

use super::arena::{CallTree, Frame, ROOT, TreeBuilder};
use super::{EdgeNumbers, Queued, TreeOptions, clean, edge_numbers};
use crate::model::{FuncId, Profile};

/// How often one function may appear on a stack through a cycle of calls.
pub const MAX_REENTRY: usize = 24;
/// How far down a stack re-entry is counted.
const LOOKBACK: usize = 512;

/// What the estimator knows of each function, computed once.
struct FunctionFacts {
    ct: f64,
    tt: f64,
    nc: f64,
    /// Strongly connected component of the call graph (self-edges aside).
    scc: u32,
    /// In a cycle of two or more functions, or calling itself.
    recursive: bool,
    /// The edge by which it calls itself directly, when that is its only recursion
    /// (not also part of a cycle of several functions): drawn as a chain.
    self_edge: Option<usize>,
    /// Recursive calls per outermost call (self-edge calls / primitive calls).
    inner_per_outer: f64,
    /// Share of a frame's width spent in its direct recursive calls (see
    /// [`recursion_ratio`]); 0 without direct recursion.
    ratio: f64,
    /// Every call makes exactly one child call (`builtins.exec`).
    dispatcher: bool,
}

/// Builds the flame tree of `profile`.
pub fn build(profile: &Profile, options: &TreeOptions) -> CallTree {
    let (mut tree, total) = match TreeBuilder::for_profile(profile) {
        Ok(started) => started,
        Err(empty) => return empty,
    };
    let min_width = options.min_width(total);
    let edges = profile.edges();
    let numbers: Vec<EdgeNumbers> = edges.iter().map(|e| edge_numbers(profile, e)).collect();
    let facts = function_facts(profile, &numbers);
    let mut pool: Vec<f64> = numbers.iter().map(|n| n.ct).collect();
    // Estimated own time of each frame, indexed by builder frame id.
    let mut own: Vec<f64> = vec![0.0];
    // Direct recursion: inner calls still to draw below each frame (see `recursion_ratio`).
    let mut chain_left: Vec<f64> = vec![0.0];

    let mut queue = BinaryHeap::new();
    for (func, width, calls, exact) in roots(profile, total) {
        if width < min_width {
            tree.cut(ROOT, width);
            continue;
        }
        let fact = &facts[func as usize];
        let frame = tree.push(Frame {
            func: Some(func),
            parent: ROOT,
            calls,
            exact,
            min_total: if exact { width } else { 0.0 },
            max_total: width.max(fact.ct).min(total),
            ..Frame::root(width)
        });
        let left = calls * fact.inner_per_outer;
        chain_left.push(left);
        own.push(own_time(
            fact,
            width,
            calls,
            None,
            chain_continues(fact, width, left, min_width),
        ));
        queue.push(Queued { width, frame });
    }

    let budget = options.frame_budget(profile);
    let mut children: Vec<Child> = Vec::new();
    while let Some(frame) = tree.next_to_expand(&mut queue, budget) {
        let parent = tree.frame(frame).clone();
        let Some(func) = parent.func else { continue };
        let depth = parent.depth as usize + 1;
        let fact = &facts[func as usize];
        let share = if fact.ct > 0.0 {
            (parent.total / fact.ct).min(1.0)
        } else {
            0.0
        };
        let whole = parent.exact && !fact.recursive && share >= 1.0 - 1e-9;
        children.clear();
        plan_children(
            profile,
            &facts,
            &numbers,
            &pool,
            &tree,
            frame,
            own[frame as usize],
            chain_left[frame as usize],
            share,
            whole,
            min_width,
            &mut children,
        );

        for c in children.drain(..) {
            let e = &edges[c.edge];
            let n = &numbers[c.edge];
            pool[c.edge] -= c.width;
            if c.width < min_width || !options.depth_allowed(depth) {
                tree.cut(frame, c.width);
                continue;
            }
            let part = if n.ct > 0.0 {
                (c.width / n.ct).min(1.0)
            } else {
                share
            };
            let is_self = e.caller == e.callee;
            let calls = if is_self {
                parent.calls.min(chain_left[frame as usize])
            } else {
                n.nc * part
            };
            let (lo, hi) = if c.exact {
                (c.width, c.width)
            } else {
                let others = (fact.ct - parent.total).max(0.0);
                (
                    (n.ct - others).max(0.0).min(c.width),
                    n.ct.min(parent.total).max(c.width),
                )
            };
            let child = tree.push(Frame {
                func: Some(e.callee),
                parent: frame,
                calls,
                exact: c.exact,
                min_total: lo,
                max_total: hi,
                ..Frame::root(c.width)
            });
            let callee = &facts[e.callee as usize];
            let left = if is_self {
                chain_left[frame as usize] - calls
            } else {
                calls * callee.inner_per_outer
            };
            chain_left.push(left);
            let continues = chain_continues(callee, c.width, left, min_width);
            own.push(own_time(callee, c.width, calls, Some((n, part)), continues));
            if profile.callee_edge_ids(e.callee).is_empty() {
                continue;
            }
            queue.push(Queued {
                width: c.width,
                frame: child,
            });
        }
    }
    tree.finish()
}

/// One child a frame will get.
struct Child {
    edge: usize,
    width: f64,
    exact: bool,
}

/// Decides the children of one frame: which edges, how wide.
#[allow(clippy::too_many_arguments)]
fn plan_children(
    profile: &Profile,
    facts: &[FunctionFacts],
    numbers: &[EdgeNumbers],
    pool: &[f64],
    tree: &TreeBuilder,
    frame: u32,
    own: f64,
    chain_left: f64,
    share: f64,
    whole: bool,
    min_width: f64,
    out: &mut Vec<Child>,
) {
    let parent = tree.frame(frame);
    let Some(func) = parent.func else { return };
    let fact = &facts[func as usize];
    let edges = profile.edges();
    let candidates = profile
        .callee_edge_ids(func)
        .iter()
        .map(|&i| i as usize)
        .filter(|&i| {
            let callee = edges[i].callee;
            // A callee outside this function's cycle cannot be one of its ancestors:
            // skip the ancestor walk (it costs up to LOOKBACK steps on deep stacks).
            callee != func
                && pool_or_cycle(facts, func, callee, pool[i])
                && (!in_cycle(facts, func, callee) || reentry_allowed(tree, frame, callee))
        });

    if whole {
        // The only context of this function: every edge is taken whole.
        let mut sum = 0.0;
        for i in candidates {
            let exact = numbers[i].timed
                && pool[i] == numbers[i].ct
                && !in_cycle(facts, func, edges[i].callee);
            out.push(Child {
                edge: i,
                width: pool[i],
                exact,
            });
            sum += pool[i];
        }
        if sum > parent.total && sum > 0.0 {
            let scale = parent.total / sum;
            for c in out.iter_mut() {
                c.width *= scale;
                c.exact = false;
            }
        }
        return;
    }

    let mut budget = (parent.total - own).max(0.0);
    // Direct recursion (see `recursion_ratio`): the inner call takes its share first.
    if let Some(e) = fact.self_edge
        && chain_continues(fact, parent.total, chain_left, min_width)
    {
        let width = fact.ratio * parent.total;
        out.push(Child {
            edge: e,
            width,
            exact: false,
        });
        budget = (budget - width).max(0.0);
    }

    // Atoms first, widest first: indivisible single calls placed whole where they fit.
    let mut atoms: Vec<usize> = Vec::new();
    let mut divisible: Vec<usize> = Vec::new();
    for i in candidates {
        let n = &numbers[i];
        if n.nc == 1.0 && pool[i] == n.ct && n.ct > 0.0 {
            atoms.push(i);
        } else {
            divisible.push(i);
        }
    }
    atoms.sort_by(|&a, &b| numbers[b].ct.total_cmp(&numbers[a].ct).then(a.cmp(&b)));
    let mut call_limit = if fact.dispatcher {
        parent.calls.round().max(1.0)
    } else {
        f64::INFINITY
    };
    let slack = 0.02 * parent.total;
    for i in atoms {
        if call_limit < 1.0 {
            break;
        }
        let ct = numbers[i].ct;
        // Contexts come widest first: an atom wider than this one fits no later
        // context of the function either, so it goes here, as wide as the budget allows.
        if (ct <= budget + slack || ct > parent.total) && budget > 0.0 {
            // A single call's width is its `ct`, straight from the data, wherever the
            // call is placed: it may eat into the estimated own time, not past the frame.
            let room = parent.total - out.iter().map(|c| c.width).sum::<f64>();
            let width = ct.min(room.max(0.0));
            out.push(Child {
                edge: i,
                width,
                exact: numbers[i].timed && ct - width <= ct * EXACT_TOLERANCE,
            });
            budget = (budget - width).max(0.0);
            call_limit -= 1.0;
        }
    }

    // Divisible edges, in three passes over one width per edge:
    // 1. edges back into a cycle take what their pools still hold (cProfile counts
    //    their `ct` at the outermost entry of the cycle, so the first, widest contexts
    //    are the ones that ran it);
    // 2. the other edges share what is left, in proportion to what each would give
    //    this context, bounded by their pools;
    // 3. time still unexplained goes back into the cycle (re-entry deeper down, where
    //    the pools, counted at the outermost entry only, have nothing left).
    let cyclic: Vec<bool> = divisible
        .iter()
        .map(|&i| in_cycle(facts, func, edges[i].callee))
        .collect();
    let want: Vec<f64> = divisible
        .iter()
        .map(|&i| (numbers[i].ct * share).min(pool[i].max(0.0)))
        .collect();
    let mut widths = vec![0.0; divisible.len()];
    let has_cycle = cyclic.iter().any(|&c| c);
    for pass in [Pass::CyclePools, Pass::Others, Pass::CycleFill] {
        if budget <= 0.0 {
            break;
        }
        let weight = |k: usize| match pass {
            Pass::CyclePools if cyclic[k] => want[k],
            Pass::Others if !cyclic[k] => want[k],
            // A single call is placed once (as an atom), never again.
            Pass::CycleFill if cyclic[k] && numbers[divisible[k]].nc > 1.0 => {
                numbers[divisible[k]].ct * share
            }
            _ => 0.0,
        };
        let asked: f64 = (0..divisible.len()).map(weight).sum();
        if asked <= 0.0 {
            continue;
        }
        // Passes bounded by pools never grow past them; the last pass, and the
        // others when nothing can come after, fill the budget.
        let fills = matches!(pass, Pass::CycleFill) || (matches!(pass, Pass::Others) && !has_cycle);
        let available = budget;
        let fraction = (available / asked).min(1.0);
        for k in 0..divisible.len() {
            // Share of the budget first: stays finite when the weights are denormal.
            let mut width = if fills {
                available * (weight(k) / asked)
            } else {
                weight(k) * fraction
            };
            if !matches!(pass, Pass::CycleFill) {
                width = width.min(pool[divisible[k]].max(0.0) - widths[k]).max(0.0);
            }
            widths[k] += width;
            budget -= width;
        }
        budget = budget.max(0.0);
    }
    for (&i, &width) in divisible.iter().zip(&widths) {
        if width > 0.0 {
            out.push(Child {
                edge: i,
                width,
                exact: false,
            });
        }
    }
    debug_assert!(out.iter().map(|c| c.width).sum::<f64>() <= parent.total * (1.0 + 1e-9));
}

#[derive(Clone, Copy)]
enum Pass {
    CyclePools,
    Others,
    CycleFill,
}

/// Whether an edge may still give time: its pool has some, or it lies in a cycle
/// (where the pool undercounts).
fn pool_or_cycle(facts: &[FunctionFacts], caller: FuncId, callee: FuncId, pool: f64) -> bool {
    pool > 0.0 || in_cycle(facts, caller, callee)
}

fn in_cycle(facts: &[FunctionFacts], caller: FuncId, callee: FuncId) -> bool {
    caller != callee && facts[caller as usize].scc == facts[callee as usize].scc
}

/// Re-entry through a cycle is allowed a bounded number of times per stack.
fn reentry_allowed(tree: &TreeBuilder, frame: u32, func: FuncId) -> bool {
    if !tree.has_ancestor(frame, func, LOOKBACK) {
        return true;
    }
    tree.count_ancestor(frame, func, LOOKBACK) < MAX_REENTRY
}

/// The time a frame spends itself. Reached through an edge that is not recursive,
/// it is the callee's own time under that caller, in proportion; for functions in a
/// cycle (whose `ct` counts only the outermost call) it is the own time per call
/// times the calls in this context; for direct recursion, see [`recursion_ratio`].
fn own_time(
    fact: &FunctionFacts,
    width: f64,
    calls: f64,
    via: Option<(&EdgeNumbers, f64)>,
    continues: bool,
) -> f64 {
    let estimate = if fact.self_edge.is_some() {
        // Direct recursion (see `recursion_ratio`): each level keeps (1 - r) of its
        // width, split between own time and callees as in the totals; the last level
        // drawn keeps what would recurse.
        let ratio = if continues { fact.ratio } else { 0.0 };
        if fact.ct > 0.0 {
            (1.0 - ratio) * width * (fact.tt / fact.ct).min(1.0)
        } else {
            0.0
        }
    } else if fact.recursive {
        if fact.nc > 0.0 {
            fact.tt / fact.nc * calls
        } else {
            0.0
        }
    } else if let Some((edge, part)) = via {
        if edge.timed {
            edge.tt * part
        } else {
            fact.tt * if fact.ct > 0.0 { width / fact.ct } else { 0.0 }
        }
    } else if fact.ct > 0.0 {
        fact.tt * (width / fact.ct).min(1.0)
    } else {
        0.0
    };
    estimate.clamp(0.0, width)
}

/// Direct recursion is drawn unrolled, each level passing the same share `r` of its
/// width on to its inner call: `r` = time in the recursive calls (the self-edge's
/// `ct`, which cProfile counts for the outermost recursive call) / the function's
/// `ct`. Each level splits the rest between own time and callees as the function's
/// totals do. The data has only totals over all depths; a constant ratio is the
/// simplest depth distribution that matches them, and with recursion folded the
/// picture is the data. Capped below 1 so the levels shrink; the chain stops where
/// the next level would be narrower than [`RECURSION_STOP`] drawn frames, and the
/// last level keeps the rest, so callees are not lost in slivers.
fn recursion_ratio(self_edge_ct: f64, ct: f64) -> f64 {
    if ct > 0.0 {
        (self_edge_ct / ct).clamp(0.0, 0.95)
    } else {
        0.0
    }
}

/// An atom clipped by less than this share of its `ct` still counts as exact: cProfile's
/// cumulative times run up to ~0.05 % past the sum of own times (its own overhead), so the
/// whole-profile frame is a little narrower than the `ct` of the call that spans it.
const EXACT_TOLERANCE: f64 = 1e-3;

/// How many minimum frame widths an inner recursive level must span to be drawn.
pub const RECURSION_STOP: f64 = 3.0;

/// Whether a frame of a directly recursive function gets an inner call: the inner
/// level is wide enough and recursive calls are left for this chain (each outermost
/// call recursing `inner_per_outer` times, each level calling at most as often as
/// the one below it).
fn chain_continues(fact: &FunctionFacts, width: f64, chain_left: f64, min_width: f64) -> bool {
    fact.self_edge.is_some()
        && fact.ratio * width >= RECURSION_STOP * min_width
        && chain_left >= 0.5
}

fn function_facts(profile: &Profile, numbers: &[EdgeNumbers]) -> Vec<FunctionFacts> {
    let scc = profile.components();
    let mut size = vec![0u32; profile.functions().len()];
    for &c in &scc {
        size[c as usize] += 1;
    }
    profile
        .functions()
        .iter()
        .enumerate()
        .map(|(id, f)| {
            let id = id as FuncId;
            let nc = f.stats.nc.max(0) as f64;
            let out_calls: f64 = profile
                .callee_edge_ids(id)
                .iter()
                .map(|&e| numbers[e as usize].nc)
                .sum();
            let self_edge = profile
                .callee_edge_ids(id)
                .iter()
                .map(|&e| e as usize)
                .find(|&e| profile.edges()[e].callee == id);
            let ct = clean(f.stats.ct);
            let in_cycle = size[scc[id as usize] as usize] > 1;
            FunctionFacts {
                ct,
                tt: clean(f.stats.tt),
                nc,
                scc: scc[id as usize],
                recursive: self_edge.is_some() || in_cycle,
                self_edge: self_edge.filter(|_| !in_cycle),
                ratio: self_edge.map_or(0.0, |e| recursion_ratio(numbers[e].ct, ct)),
                inner_per_outer: self_edge
                    .map_or(0.0, |e| numbers[e].nc / (f.stats.cc.max(1) as f64)),
                dispatcher: nc >= 2.0 && out_calls == nc && profile.callee_edge_ids(id).len() >= 2,
            }
        })
        .collect()
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
        if callers.iter().all(|e| e.caller == id) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EdgeStats, FuncKey, ProfileBuilder, Stats};
    use crate::tree::TreeOptions;

    fn key(name: &str) -> FuncKey {
        FuncKey::new("app.py", 1, name)
    }

    fn st(cc: i128, nc: i128, tt: f64, ct: f64) -> Stats {
        Stats { cc, nc, tt, ct }
    }

    fn edge(b: &mut ProfileBuilder, from: &str, to: &str, nc: i128, tt: f64, ct: f64) {
        b.add_edge(key(from), key(to), EdgeStats::Timed(st(nc, nc, tt, ct)));
    }

    /// (stack of names, total, exact) for every frame, in pre-order.
    fn frames(tree: &CallTree, profile: &Profile) -> Vec<(String, f64, bool)> {
        (1..tree.frames().len() as u32)
            .map(|i| {
                let names: Vec<&str> = tree
                    .stack(i)
                    .iter()
                    .map(|&f| {
                        profile
                            .function(tree.frame(f).func.unwrap())
                            .key
                            .name
                            .as_str()
                    })
                    .collect();
                (names.join(";"), tree.frame(i).total, tree.frame(i).exact)
            })
            .collect()
    }

    fn all_frames() -> TreeOptions {
        TreeOptions {
            threshold: 0.0,
            ..TreeOptions::default()
        }
    }

    #[test]
    fn single_caller_chains_are_exact() {
        let mut b = ProfileBuilder::new();
        b.add_function(key("main"), st(1, 1, 1.0, 6.0));
        b.add_function(key("a"), st(2, 2, 2.0, 5.0));
        b.add_function(key("b"), st(3, 3, 3.0, 3.0));
        edge(&mut b, "main", "a", 2, 2.0, 5.0);
        edge(&mut b, "a", "b", 3, 3.0, 3.0);
        let p = b.finish();
        let t = build(&p, &all_frames());
        assert_eq!(
            frames(&t, &p),
            vec![
                ("main".to_string(), 6.0, true),
                ("main;a".to_string(), 5.0, true),
                ("main;a;b".to_string(), 3.0, true)
            ]
        );
    }

    #[test]
    fn a_dispatcher_runs_each_single_call_whole_where_it_fits() {
        // exec runs main (whole run) and two module bodies imported from main via load.
        let mut b = ProfileBuilder::new();
        b.add_function(key("exec"), st(3, 3, 0.0, 10.0));
        b.add_function(key("main"), st(1, 1, 4.0, 10.0));
        b.add_function(key("load"), st(2, 2, 0.0, 6.0));
        b.add_function(key("mod_a"), st(1, 1, 4.0, 4.0));
        b.add_function(key("mod_b"), st(1, 1, 2.0, 2.0));
        edge(&mut b, "exec", "main", 1, 4.0, 10.0);
        edge(&mut b, "exec", "mod_a", 1, 4.0, 4.0);
        edge(&mut b, "exec", "mod_b", 1, 2.0, 2.0);
        edge(&mut b, "main", "load", 2, 0.0, 6.0);
        edge(&mut b, "load", "exec", 2, 0.0, 6.0);
        let p = b.finish();
        let t = build(&p, &all_frames());
        let f = frames(&t, &p);
        assert!(f.contains(&("exec;main".to_string(), 10.0, true)), "{f:?}");
        // The module bodies are under the imports, not beside main.
        assert!(
            !f.iter()
                .any(|(s, _, _)| s == "exec;mod_a" || s == "exec;mod_b"),
            "{f:?}"
        );
        let under = |s: &str| {
            f.iter()
                .filter(|(x, _, _)| x.ends_with(s))
                .map(|x| x.1)
                .sum::<f64>()
        };
        assert!((under("load;exec;mod_a") - 4.0).abs() < 1e-9, "{f:?}");
        assert!((under("load;exec;mod_b") - 2.0).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn direct_recursion_stops_when_its_recursive_calls_run_out() {
        // f is called once from main and recurses once (nc 2, cc 1).
        let mut b = ProfileBuilder::new();
        b.add_function(key("main"), st(1, 1, 0.0, 4.0));
        b.add_function(key("f"), st(1, 2, 2.0, 4.0));
        b.add_function(key("g"), st(2, 2, 2.0, 2.0));
        edge(&mut b, "main", "f", 1, 1.0, 4.0);
        b.add_edge(key("f"), key("f"), EdgeStats::Timed(st(1, 1, 1.0, 2.0)));
        edge(&mut b, "f", "g", 2, 2.0, 2.0);
        let p = b.finish();
        let t = build(&p, &all_frames());
        let f = frames(&t, &p);
        let depth = f
            .iter()
            .map(|(s, _, _)| s.matches(";f").count())
            .max()
            .unwrap();
        assert_eq!(depth, 2, "exactly one inner level: {f:?}");
        let total: f64 = t.frames().iter().skip(1).map(|x| x.self_time).sum();
        assert!((total - 4.0).abs() < 1e-9);
    }

    #[test]
    fn the_order_functions_were_read_in_does_not_matter() {
        let names = ["main", "a", "b", "c"];
        let build_in = |order: &[usize]| {
            let mut b = ProfileBuilder::new();
            for &i in order {
                b.add_function(key(names[i]), st(1, 1, 1.0, 4.0 - i as f64));
                if i > 0 {
                    edge(&mut b, "main", names[i], 1, 1.0, 4.0 - i as f64);
                }
            }
            let p = b.finish();
            frames(&build(&p, &all_frames()), &p)
        };
        assert_eq!(build_in(&[0, 1, 2, 3]), build_in(&[3, 1, 0, 2]));
    }

    #[test]
    fn frames_under_the_threshold_give_their_time_to_the_parent() {
        let mut b = ProfileBuilder::new();
        b.add_function(key("main"), st(1, 1, 99.0, 100.0));
        b.add_function(key("tiny"), st(1, 1, 1.0, 1.0));
        edge(&mut b, "main", "tiny", 1, 1.0, 1.0);
        let p = b.finish();
        let t = build(
            &p,
            &TreeOptions {
                threshold: 0.05,
                ..TreeOptions::default()
            },
        );
        assert_eq!(t.len(), 1);
        assert_eq!(t.cut_frames, 1);
        assert!((t.cut_time - 1.0).abs() < 1e-12);
        assert!((t.frame(1).self_time - 100.0).abs() < 1e-12);
    }

    #[test]
    fn denormal_edge_times_in_a_cycle_keep_widths_finite() {
        // Found by the property tests: a fill scaled by budget / 5e-324 overflowed.
        let mut b = ProfileBuilder::new();
        b.add_function(key("main"), st(1, 1, 1.0, 10.0));
        b.add_function(key("a"), st(2, 2, 9.0, 9.0));
        b.add_function(key("b"), st(2, 2, 5e-324, 5e-324));
        edge(&mut b, "main", "a", 1, 1.0, 9.0);
        edge(&mut b, "a", "b", 2, 5e-324, 5e-324);
        edge(&mut b, "b", "a", 2, 1.0, 5e-324);
        let p = b.finish();
        let t = build(&p, &all_frames());
        for f in t.frames() {
            assert!(f.total.is_finite() && f.self_time.is_finite(), "{f:?}");
        }
        let sum: f64 = t.frames().iter().map(|f| f.self_time).sum();
        assert!((sum - 10.0).abs() < 1e-9, "self times add to {sum}");
    }

    #[test]
    fn a_shared_function_splits_each_context_in_proportion_to_its_edges() {
        // Regression: the fill pass once shrank its budget while handing it out, so the
        // callees listed last got less than their share.
        let mut b = ProfileBuilder::new();
        b.add_function(key("p"), st(1, 1, 0.0, 5.0));
        b.add_function(key("q"), st(1, 1, 0.0, 5.0));
        b.add_function(key("shared"), st(2, 2, 2.0, 10.0));
        b.add_function(key("x"), st(2, 2, 2.0, 2.0));
        b.add_function(key("y"), st(2, 2, 6.0, 6.0));
        edge(&mut b, "p", "shared", 1, 1.0, 5.0);
        edge(&mut b, "q", "shared", 1, 1.0, 5.0);
        edge(&mut b, "shared", "x", 2, 2.0, 2.0);
        edge(&mut b, "shared", "y", 2, 6.0, 6.0);
        let p = b.finish();
        let t = build(&p, &all_frames());
        let f = frames(&t, &p);
        for root in ["p", "q"] {
            let width = |leaf: &str| {
                let stack = format!("{root};shared;{leaf}");
                f.iter().find(|x| x.0 == stack).map(|x| x.1).unwrap_or(0.0)
            };
            assert!((width("x") - 1.0).abs() < 1e-9, "{f:?}");
            assert!((width("y") - 3.0).abs() < 1e-9, "{f:?}");
        }
    }
}
