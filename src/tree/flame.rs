//! The flame tree estimator: the expansion that grows the tree, widest frame first.
//!
//! A pstats file keeps caller→callee totals, not stacks; this estimator turns them into
//! the most plausible tree the data allows. `docs/reconstruction.md` explains the
//! method with a worked example. In short:
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
//! - **Import nesting.** Module bodies are matched to the body that imported them
//!   bottom-up (see `tree::nesting`); a matched body is placed only under its
//!   importer, and the importer's frames in the import cycle carry its time down to the
//!   dispatcher.
//! - **One call, one run.** Where every call of a wrapper around the dispatcher is
//!   one module run (see `tree::dispatch`), runs are matched to importers jointly,
//!   counts respected; each run is drawn as its own frame under its importer's run, and
//!   the nesting above is not used for those modules.
//! - **Recursion.** Direct recursion is unrolled level by level, the outermost level
//!   exact, the calls and time of deeper levels modelled from the self-edge's primitive
//!   calls and totals (see `tree::levels` and `tree::facts`): folded, it gives
//!   back exactly the data. Re-entry through a cycle of several functions (imports
//!   run `exec` inside `exec`) is drawn where the budget allows, at most
//!   [`MAX_REENTRY`] times per stack; edges inside such a cycle are not bounded by
//!   their pools, because cProfile counts their `ct` for the outermost call only.
//!
//! This module owns the expansion: the roots, the queue, and what each frame is given
//! when it is pushed (calls, bounds, own time, recursion level, module run, nearest
//! body). Which children a frame gets is decided in `tree::place`; the edges are
//! laid out in `tree::slots`, the per-function facts in `tree::facts`.

use std::collections::BinaryHeap;

use super::arena::{CallTree, Frame, ROOT, TreeBuilder};
use super::dispatch::{DispatchPlan, NO_RUN};
use super::facts::{inner_width, own_time};
use super::nesting::{self, NearBody};
use super::place::{Child, EXACT_TOLERANCE, Expanding, Placer, Plan};
use super::slots::Slots;
use super::{Queued, TreeOptions, clean, facts};
use crate::model::{FuncId, Profile, count_f64};

/// How often one function may appear on a stack through a cycle of calls.
pub const MAX_REENTRY: usize = 24;

/// Builds the flame tree of `profile`.
pub fn build(profile: &Profile, options: &TreeOptions) -> CallTree {
    let (tree, total) = match TreeBuilder::for_profile(profile) {
        Ok(started) => started,
        Err(empty) => return *empty,
    };
    let slots = Slots::new(profile);
    let facts = facts::function_facts(profile, &slots);
    let imports = nesting::find(profile, &slots, &facts);
    let runs = DispatchPlan::find(profile, &slots, &facts);
    let body_parent = body_parents(&imports.bodies, runs.as_ref());
    let plan = Plan {
        facts: &facts,
        slots: &slots,
        imports: &imports,
        body_parent: &body_parent,
        runs: runs.as_ref(),
    };
    let mut x = Expansion::new(profile, options, plan, tree, total);
    x.push_roots(total);
    let mut placer = Placer::new(plan);
    let budget = options.frame_budget(profile);
    let mut children: Vec<Child> = Vec::new();
    while let Some(frame) = x.tree.next_to_expand(&mut x.queue, budget) {
        let Some(at) = x.expanding(frame) else {
            continue;
        };
        children.clear();
        placer.children(&x.tree, &at, &mut children);
        for c in children.drain(..) {
            placer.spend(at.func, &c);
            x.push_child(&at, &c);
        }
    }
    x.tree.finish()
}

/// The body that imported each body, rebuilt bottom-up ([`nesting::assign_parents`]);
/// the modules of a module-run plan are placed by their runs instead, so they have none.
fn body_parents(bodies: &[nesting::BodyFacts], runs: Option<&DispatchPlan>) -> Vec<Option<FuncId>> {
    let mut body_parent = nesting::assign_parents(bodies);
    if let Some(dp) = runs {
        for (f, &c) in dp.col_of.iter().enumerate() {
            if c != NO_RUN {
                body_parent[f] = None;
            }
        }
    }
    body_parent
}

/// The tree as it grows, the queue of frames to expand, and what the expansion keeps
/// of every frame beside the tree (indexed by builder frame id).
struct Expansion<'a> {
    profile: &'a Profile,
    options: &'a TreeOptions,
    plan: Plan<'a>,
    min_width: f64,
    tree: TreeBuilder,
    queue: BinaryHeap<Queued>,
    /// Estimated own time.
    own: Vec<f64>,
    /// Direct recursion (see [`inner_width`]): the level of each frame (0: outermost),
    /// and the width of its inner call (0: none).
    level: Vec<u32>,
    inner: Vec<f64>,
    /// The module run each frame stands for, where the one-call-one-run pattern holds.
    run: Vec<u32>,
    /// The body nearest below each frame on its stack (see [`NearBody`]), kept as
    /// frames are pushed so that no frame walks its stack to find it.
    near_body: Vec<Option<NearBody>>,
    /// The hook nearest below each frame (see [`Imports::near_hook`]).
    near_hook: Vec<Option<NearBody>>,
}

impl<'a> Expansion<'a> {
    fn new(
        profile: &'a Profile,
        options: &'a TreeOptions,
        plan: Plan<'a>,
        tree: TreeBuilder,
        total: f64,
    ) -> Expansion<'a> {
        Expansion {
            profile,
            options,
            plan,
            min_width: options.min_width(total),
            tree,
            queue: BinaryHeap::new(),
            own: vec![0.0],
            level: vec![0],
            inner: vec![0.0],
            run: vec![NO_RUN],
            near_body: vec![None],
            near_hook: vec![None],
        }
    }

    /// Pushes the bottom frames (see [`roots`]) and queues them.
    fn push_roots(&mut self, total: f64) {
        for (func, width, calls, exact) in roots(self.profile, total) {
            if width < self.min_width {
                self.tree.cut(ROOT, width);
                continue;
            }
            let fact = &self.plan.facts[func as usize];
            let frame = self.tree.push(Frame {
                func: Some(func),
                parent: ROOT,
                calls,
                exact,
                min_total: if exact { width } else { 0.0 },
                max_total: if exact {
                    width
                } else {
                    width.max(fact.ct).min(total)
                },
                ..Frame::root(width)
            });
            let inner_w = inner_width(fact, width, 0, self.min_width);
            self.level.push(0);
            self.inner.push(inner_w);
            self.run.push(NO_RUN);
            self.near_body
                .push(self.plan.imports.near_body(None, func, 1));
            self.near_hook
                .push(self.plan.imports.near_hook(None, func, 1));
            self.own
                .push(own_time(fact, width, calls, None, 0, inner_w));
            self.queue.push(Queued::new(width, frame));
        }
    }

    /// `frame`, taken from the queue, as child placement reads it.
    fn expanding(&self, frame: u32) -> Option<Expanding> {
        let parent = self.tree.frame(frame).clone();
        let func = parent.func?;
        let fact = &self.plan.facts[func as usize];
        let share = if fact.ct > 0.0 {
            (parent.total / fact.ct).min(1.0)
        } else {
            0.0
        };
        let whole = parent.exact && !fact.recursive && share >= 1.0 - 1e-9;
        let i = frame as usize;
        Some(Expanding {
            frame,
            parent,
            func,
            own: self.own[i],
            inner: self.inner[i],
            share,
            whole,
            run: self.run[i],
            near_body: self.near_body[i],
            near_hook: self.near_hook[i],
        })
    }

    /// Draws child `c` of the frame `at` (or cuts it, when too narrow or too deep),
    /// and queues it when its function calls anything.
    fn push_child(&mut self, at: &Expanding, c: &Child) {
        let (frame, parent, func) = (at.frame, &at.parent, at.func);
        let depth = parent.depth as usize + 1;
        if c.width < self.min_width || !self.options.depth_allowed(depth) {
            self.tree.cut(frame, c.width);
            return;
        }
        let slots = self.plan.slots;
        let callee = slots.slots[c.edge].callee;
        let fact = &self.plan.facts[func as usize];
        // All the edge's numbers, for the frame it gets (a child cut above needs none).
        let n = &slots.numbers(self.profile, c.edge);
        let part = if n.ct > 0.0 {
            (c.width / n.ct).min(1.0)
        } else {
            at.share
        };
        let is_self = callee == func;
        let depth_in_chain = if is_self {
            self.level[frame as usize] + 1
        } else {
            0
        };
        let calls = if is_self {
            let k = depth_in_chain as usize;
            let below = fact.levels.calls(k - 1);
            if below > 0.0 {
                parent.calls * fact.levels.calls(k) / below
            } else {
                0.0
            }
        } else {
            n.nc * part
        };
        // A function never re-entered (`cc == nc`) keeps its whole time, cycle or not, and
        // an exact frame as wide as that is its only one: an edge out of it that is not
        // back into the cycle and is placed whole here is exact too, however the
        // placement got there (the import machinery divides by proportion).
        let whole_edge = !c.exact
            && parent.exact
            && fact.max_on_stack == 1
            && at.share >= 1.0 - 1e-9
            && slots.slots[c.edge].timed
            && !slots.slots[c.edge].cyclic
            && (c.width - n.ct).abs() <= n.ct * EXACT_TOLERANCE;
        let exact = c.exact || whole_edge;
        let (lo, hi) = if exact {
            (c.width, c.width)
        } else {
            let others = (fact.ct - parent.total).max(0.0);
            (
                (n.ct - others).max(0.0).min(c.width),
                n.ct.min(parent.total).max(c.width),
            )
        };
        let child = self.tree.push(Frame {
            func: Some(callee),
            parent: frame,
            calls,
            exact,
            min_total: lo,
            max_total: hi,
            ..Frame::root(c.width)
        });
        let callee_fact = &self.plan.facts[callee as usize];
        let inner_w = inner_width(callee_fact, c.width, depth_in_chain, self.min_width);
        self.level.push(depth_in_chain);
        self.inner.push(inner_w);
        self.run.push(self.child_run(at, callee, c));
        self.near_body.push(self.plan.imports.near_body(
            self.near_body[frame as usize],
            callee,
            depth as u32,
        ));
        self.near_hook.push(self.plan.imports.near_hook(
            self.near_hook[frame as usize],
            callee,
            depth as u32,
        ));
        self.own.push(own_time(
            callee_fact,
            c.width,
            calls,
            Some((n, part)),
            depth_in_chain,
            inner_w,
        ));
        if slots.of(callee).is_empty() {
            return;
        }
        self.queue.push(Queued::new(c.width, child));
    }

    /// The module run a child of `callee` stands for.
    fn child_run(&self, at: &Expanding, callee: FuncId, c: &Child) -> u32 {
        let func = at.func;
        match self.plan.runs {
            _ if c.run != NO_RUN => c.run,
            // A run's imports: the wrapper under its module, the dispatcher under
            // that wrapper.
            Some(dp)
                if (callee == dp.wrapper && dp.col_of[func as usize] != NO_RUN)
                    || (func == dp.wrapper && callee == dp.dispatcher) =>
            {
                at.run
            }
            _ => NO_RUN,
        }
    }
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
                exact_roots.push((id, ct, count_f64(f.stats.nc.max(0)), true));
            }
        } else {
            let covered: i128 = callers
                .iter()
                .map(|e| e.stats.calls().max(0))
                .fold(0, i128::saturating_add);
            let uncovered = f.stats.nc.saturating_sub(covered);
            if uncovered > 0 && ct > 0.0 {
                // A call from outside the profile stands at the bottom of the stack, so it
                // is primitive; when the primitive calls are exactly those, `ct` (counted
                // over primitive calls) is their whole time: the root is exact.
                let exact = { f.stats.cc } == uncovered;
                partial_roots.push((id, ct, count_f64(uncovered), exact));
            }
        }
    }
    type Root = (FuncId, f64, f64, bool);
    let by_width = |a: &Root, b: &Root| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    exact_roots.sort_by(by_width);
    partial_roots.sort_by(by_width);
    let mut remaining = total;
    let mut out = Vec::new();
    for list in [exact_roots, partial_roots] {
        for (id, ct, calls, exact) in list {
            let width = ct.min(remaining);
            if width <= 0.0 {
                break;
            }
            remaining -= width;
            // cProfile's `ct` of the outermost call may run past the sum of own
            // times by its overhead (or by rounding): within that, still exact.
            out.push((
                id,
                width,
                calls,
                exact && ct - width <= ct * EXACT_TOLERANCE,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EdgeStats, ProfileBuilder, Stats};
    use crate::tree::TreeOptions;
    use crate::tree::test_profiles::{edge, key, profile, profile_with};

    fn st(cc: i128, nc: i128, tt: f64, ct: f64) -> Stats {
        Stats { cc, nc, tt, ct }
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

    /// The width of the frame whose stack is `stack` in `frames` output (0 if none).
    fn width_of(frames: &[(String, f64, bool)], stack: &str) -> f64 {
        frames.iter().find(|x| x.0 == stack).map_or(0.0, |x| x.1)
    }

    fn all_frames() -> TreeOptions {
        TreeOptions {
            threshold: 0.0,
            ..TreeOptions::default()
        }
    }

    #[test]
    fn a_script_body_inside_the_import_cycle_keeps_its_callees_exact() {
        // The script's body `main` runs under exec, imports through find, which execs
        // `lib`'s body: main is in the import cycle, but never re-entered (cc == nc), so
        // its one frame holds all of `work`'s calls.
        let p = profile(
            &[
                ("exec", 1, 2, 0.0, 10.0),
                ("main", 1, 1, 1.0, 10.0),
                ("find", 1, 1, 0.5, 3.0),
                ("lib", 1, 1, 2.5, 2.5),
                ("work", 5, 5, 6.0, 6.0),
            ],
            &[
                ("exec", "main", 1, 1.0, 10.0),
                ("main", "find", 1, 0.5, 3.0),
                ("find", "exec", 1, 0.0, 2.5),
                ("exec", "lib", 1, 2.5, 2.5),
                ("main", "work", 5, 6.0, 6.0),
            ],
        );
        let f = frames(&build(&p, &all_frames()), &p);
        let work = f.iter().find(|x| x.0 == "exec;main;work").unwrap();
        assert_eq!((work.1, work.2), (6.0, true), "{f:?}");
    }

    #[test]
    fn a_single_call_out_of_a_function_calling_itself_is_not_exact() {
        // f runs twice, once inside itself; its one call of g may come from either level,
        // so wherever g is drawn, its stack is a guess even though its width is not.
        let p = profile(
            &[
                ("main", 1, 1, 1.0, 10.0),
                ("f", 1, 2, 6.0, 9.0),
                ("g", 1, 1, 3.0, 3.0),
            ],
            &[
                ("main", "f", 1, 3.0, 9.0),
                ("f", "f", 1, 3.0, 6.0),
                ("f", "g", 1, 3.0, 3.0),
            ],
        );
        let f = frames(&build(&p, &all_frames()), &p);
        let g: Vec<_> = f.iter().filter(|x| x.0.ends_with(";g")).collect();
        assert!(!g.is_empty() && g.iter().all(|x| !x.2), "{f:?}");
    }

    #[test]
    fn single_caller_chains_are_exact() {
        let p = profile(
            &[
                ("main", 1, 1, 1.0, 6.0),
                ("a", 2, 2, 2.0, 5.0),
                ("b", 3, 3, 3.0, 3.0),
            ],
            &[("main", "a", 2, 2.0, 5.0), ("a", "b", 3, 3.0, 3.0)],
        );
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
    fn a_root_a_rounding_wider_than_the_profile_is_exact() {
        // The outermost call's ct runs past the sum of own times by float rounding.
        let p = profile(
            &[("main", 1, 1, 0.5, 1.0 + 1e-12), ("a", 1, 1, 0.5, 0.5)],
            &[("main", "a", 1, 0.5, 0.5)],
        );
        let t = build(&p, &all_frames());
        let f = frames(&t, &p);
        assert!(f.contains(&("main".to_string(), 1.0, true)), "{f:?}");
        assert!(f.contains(&("main;a".to_string(), 0.5, true)), "{f:?}");
    }

    #[test]
    fn a_dispatcher_runs_each_single_call_whole_where_it_fits() {
        // exec runs main (whole run) and two module bodies imported from main via load.
        let p = profile(
            &[
                ("exec", 3, 3, 0.0, 10.0),
                ("main", 1, 1, 4.0, 10.0),
                ("load", 2, 2, 0.0, 6.0),
                ("mod_a", 1, 1, 4.0, 4.0),
                ("mod_b", 1, 1, 2.0, 2.0),
            ],
            &[
                ("exec", "main", 1, 4.0, 10.0),
                ("exec", "mod_a", 1, 4.0, 4.0),
                ("exec", "mod_b", 1, 2.0, 2.0),
                ("main", "load", 2, 0.0, 6.0),
                ("load", "exec", 2, 0.0, 6.0),
            ],
        );
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
    fn nested_imports_are_drawn_under_their_importer() {
        // exec runs main; main imports a (through load), a imports b. Drawn top-down by
        // width alone, b (nearly as wide as a) would land beside a, under main.
        let p = profile(
            &[
                ("exec", 3, 3, 0.0, 10.0),
                ("main", 1, 1, 3.8, 10.0),
                ("load", 2, 2, 0.3, 6.2),
                ("mod_a", 1, 1, 0.3, 6.0),
                ("mod_b", 1, 1, 5.6, 5.6),
            ],
            &[
                ("exec", "main", 1, 3.8, 10.0),
                ("exec", "mod_a", 1, 0.3, 6.0),
                ("exec", "mod_b", 1, 5.6, 5.6),
                ("main", "load", 1, 0.2, 6.2),
                ("mod_a", "load", 1, 0.1, 5.7),
                ("load", "exec", 2, 0.0, 6.0),
            ],
        );
        let t = build(&p, &all_frames());
        let f = frames(&t, &p);
        let width = |stack: &str| width_of(&f, stack);
        assert!(
            (width("exec;main;load;exec;mod_a") - 6.0).abs() < 1e-9,
            "{f:?}"
        );
        let nested = "exec;main;load;exec;mod_a;load;exec;mod_b";
        // Whole, up to the machinery's own time estimated on the way down.
        assert!(width(nested) > 5.5, "{f:?}");
        assert_eq!(width("exec;main;load;exec;mod_b"), 0.0, "{f:?}");
    }

    #[test]
    fn a_root_whose_primitive_calls_all_came_from_outside_is_exact() {
        // exec runs app (1 call from outside the profile), app imports lib through
        // exec again (a call inside the first: not primitive).
        let mut b = ProfileBuilder::new();
        let inner = Stats {
            cc: 0,
            nc: 1,
            tt: 0.0,
            ct: 0.0,
        };
        b.add_edge(key("load"), key("exec"), EdgeStats::Timed(inner));
        let p = profile_with(
            b,
            &[
                ("exec", 1, 2, 0.0, 10.0),
                ("app", 1, 1, 6.0, 10.0),
                ("load", 1, 1, 0.0, 4.0),
                ("lib", 1, 1, 4.0, 4.0),
            ],
            &[
                ("exec", "app", 1, 6.0, 10.0),
                ("exec", "lib", 1, 4.0, 4.0),
                ("app", "load", 1, 0.0, 4.0),
            ],
        );
        let t = build(&p, &all_frames());
        let f = frames(&t, &p);
        assert!(f.contains(&("exec".to_string(), 10.0, true)), "{f:?}");
    }

    /// A pytest-like run: hooks dispatched by `multicall` call further hooks through it.
    fn hook_profile() -> Profile {
        hook_profile_with_call_time(0.08)
    }

    /// [`hook_profile`] with `call`'s own time (its 8 calls' together).
    fn hook_profile_with_call_time(call_tt: f64) -> Profile {
        let mut b = ProfileBuilder::new();
        // Six of the eight calls into the dispatcher run inside an outer one.
        let inner = Stats {
            cc: 2,
            nc: 8,
            tt: 0.08,
            ct: 9.82,
        };
        b.add_edge(key("call"), key("multicall"), EdgeStats::Timed(inner));
        profile_with(
            b,
            &[
                ("main", 1, 1, 0.05, 9.89),
                ("call", 2, 8, call_tt, 9.84),
                ("multicall", 2, 8, 0.08, 9.82),
                ("helper", 8, 8, 0.08, 0.08),
                ("loop", 1, 1, 0.1, 8.86),
                ("collect", 1, 1, 0.9, 0.9),
                ("protocol", 3, 3, 0.3, 8.63),
                ("setup", 3, 3, 2.2, 2.2),
                ("runtest", 3, 3, 0.1, 6.0),
                ("test_a", 1, 1, 4.0, 4.0),
                ("test_b", 1, 1, 1.5, 1.5),
                ("test_c", 1, 1, 0.4, 0.4),
            ],
            &[
                ("main", "call", 2, 0.02, 9.84),
                ("loop", "call", 3, 0.03, 8.76),
                ("protocol", "call", 3, 0.03, 6.13),
                ("multicall", "helper", 8, 0.08, 0.08),
                ("multicall", "loop", 1, 0.1, 8.86),
                ("multicall", "collect", 1, 0.9, 0.9),
                ("multicall", "protocol", 3, 0.3, 8.63),
                ("multicall", "runtest", 3, 0.1, 6.0),
                ("protocol", "setup", 3, 2.2, 2.2),
                ("runtest", "test_a", 1, 4.0, 4.0),
                ("runtest", "test_b", 1, 1.5, 1.5),
                ("runtest", "test_c", 1, 0.4, 0.4),
            ],
        )
    }

    #[test]
    fn a_hook_is_carried_down_whole_past_estimated_own_time() {
        // call's own time per call (0.1) is more than its frame under loop has beside
        // protocol (8.76 - 8.63): estimated, it must not shrink the exact hook.
        let p = hook_profile_with_call_time(0.8);
        let t = build(&p, &TreeOptions::default());
        let f = frames(&t, &p);
        let protocol = "main;call;multicall;loop;call;multicall;protocol";
        assert!(
            f.contains(&(protocol.to_string(), 8.63, true)),
            "{:?}",
            f.iter().find(|x| x.0 == protocol)
        );
    }

    #[test]
    fn where_a_host_cannot_hold_all_its_hooks_the_widest_are_whole() {
        // loop runs protocol (8.63) and a small hook alog (0.5) through the dispatcher,
        // and prep beside them, a little more than loop's width holds: the hooks'
        // frame falls short, and alog (placed first by name) must give way.
        let mut b = ProfileBuilder::new();
        let inner = Stats {
            cc: 2,
            nc: 11,
            tt: 0.11,
            ct: 9.82,
        };
        b.add_edge(key("call"), key("multicall"), EdgeStats::Timed(inner));
        let p = profile_with(
            b,
            &[
                ("main", 1, 1, 0.05, 9.89),
                ("call", 2, 11, 0.11, 9.84),
                ("multicall", 2, 11, 0.11, 9.82),
                ("helper", 11, 11, 0.11, 0.11),
                ("loop", 1, 1, 0.1, 9.3),
                ("prep", 1, 1, 0.3, 0.3),
                ("alog", 3, 3, 0.5, 0.5),
                ("protocol", 3, 3, 2.63, 8.63),
                ("runtest", 3, 3, 6.0, 6.0),
            ],
            &[
                ("main", "call", 2, 0.02, 9.84),
                ("loop", "prep", 1, 0.3, 0.3),
                ("loop", "call", 6, 0.06, 9.2),
                ("protocol", "call", 3, 0.03, 6.03),
                ("multicall", "helper", 11, 0.11, 0.11),
                ("multicall", "loop", 1, 0.1, 9.3),
                ("multicall", "alog", 3, 0.5, 0.5),
                ("multicall", "protocol", 3, 2.63, 8.63),
                ("multicall", "runtest", 3, 6.0, 6.0),
            ],
        );
        let t = build(&p, &TreeOptions::default());
        let f = frames(&t, &p);
        let protocol = "main;call;multicall;loop;call;multicall;protocol";
        assert!(
            f.contains(&(protocol.to_string(), 8.63, true)),
            "{:?}",
            f.iter()
                .filter(|x| x.0.starts_with("main;call;multicall;loop"))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn hooks_are_drawn_whole_under_the_hook_that_ran_them() {
        let p = hook_profile();
        let t = build(&p, &TreeOptions::default());
        let f = frames(&t, &p);
        let width = |stack: &str| width_of(&f, stack);
        let hook = |path: &str| format!("main;call;multicall;{path}");
        let chain = "loop;call;multicall;protocol;call;multicall;runtest";
        // Each hook whole (its ct), in one frame, under the hook that called it.
        assert!((width(&hook("loop")) - 8.86).abs() < 1e-9, "{f:?}");
        assert!(
            (width(&hook("loop;call;multicall;protocol")) - 8.63).abs() < 1e-9,
            "{f:?}"
        );
        assert!((width(&hook(chain)) - 6.0).abs() < 1e-9, "{f:?}");
        for (test, ct) in [("test_a", 4.0), ("test_b", 1.5), ("test_c", 0.4)] {
            let drawn: f64 = f.iter().filter(|x| x.0.ends_with(test)).map(|x| x.1).sum();
            assert!((drawn - ct).abs() < 1e-9, "{test}: {f:?}");
            assert!(
                (width(&hook(&format!("{chain};{test}"))) - ct).abs() < 1e-9,
                "{f:?}"
            );
        }
        // Nothing of the test run is drawn beside the loop, or nested in itself.
        assert_eq!(width(&hook("protocol")), 0.0, "{f:?}");
        assert!(
            !f.iter().any(|x| x.0.matches("protocol").count() > 1),
            "{f:?}"
        );
    }

    #[test]
    fn a_loop_of_single_callers_no_program_makes_is_drawn_and_ends() {
        // d is called by h1 only and calls h1, h2 and h3, called by d only: every hook
        // leads back to the dispatcher through functions with a single caller.
        let p = profile(
            &[
                ("d", 1, 1, 1.0, 10.0),
                ("h1", 1, 1, 1.0, 10.0),
                ("h2", 1, 1, 4.0, 4.0),
                ("h3", 1, 1, 4.0, 4.0),
            ],
            &[
                ("d", "h1", 1, 1.0, 10.0),
                ("d", "h2", 1, 4.0, 4.0),
                ("d", "h3", 1, 4.0, 4.0),
                ("h1", "d", 1, 1.0, 10.0),
            ],
        );
        // Nobody calls into the loop from outside, so nothing is a root: the tree is
        // empty, as wide as the profile's own time.
        let t = build(&p, &all_frames());
        assert_eq!((t.total(), t.len()), (10.0, 0));
    }

    #[test]
    fn mutual_recursion_is_drawn_no_deeper_than_the_counts_allow() {
        // a calls b ten times; b calls a back five times, and those inner calls of a
        // call nothing. Every call of b was primitive: b never ran inside itself.
        let mut b = ProfileBuilder::new();
        let back = Stats {
            cc: 0,
            nc: 5,
            tt: 1.0,
            ct: 1.0,
        };
        b.add_edge(key("b"), key("a"), EdgeStats::Timed(back));
        let p = profile_with(
            b,
            &[
                ("main", 1, 1, 0.0, 9.0),
                ("a", 1, 6, 4.0, 9.0),
                ("b", 10, 10, 5.0, 6.0),
            ],
            &[("main", "a", 1, 3.0, 9.0), ("a", "b", 10, 5.0, 6.0)],
        );
        let t = build(&p, &all_frames());
        let f = frames(&t, &p);
        assert!(f.iter().any(|x| x.0 == "main;a;b;a"), "{f:?}");
        assert!(!f.iter().any(|x| x.0.matches(";b").count() > 1), "{f:?}");
        let drawn: f64 = f.iter().filter(|x| x.0 == "main;a;b").map(|x| x.1).sum();
        assert!((drawn - 6.0).abs() < 1e-9, "{f:?}");
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
    fn direct_recursion_takes_its_depth_from_primitive_calls_and_its_first_level_from_ct() {
        // walk(depth 3, two children a level): 1 outermost call, 2 + 4 + 8 inner calls
        // (2 of them primitive: made by the outermost call), leaf work only at the 8
        // deepest calls. The outermost level's own time is exact (ct - self-edge ct).
        let mut b = ProfileBuilder::new();
        b.add_function(key("main"), st(1, 1, 0.0, 815.0));
        b.add_function(key("walk"), st(1, 15, 15.0, 815.0));
        b.add_function(key("leaf"), st(8, 8, 800.0, 800.0));
        edge(&mut b, "main", "walk", 1, 1.0, 815.0);
        b.add_edge(
            key("walk"),
            key("walk"),
            EdgeStats::Timed(st(2, 14, 14.0, 814.0)),
        );
        edge(&mut b, "walk", "leaf", 8, 800.0, 800.0);
        let p = b.finish();
        let t = build(&p, &all_frames());
        let f = frames(&t, &p);
        let depth = f
            .iter()
            .map(|(s, _, _)| s.matches("walk").count())
            .max()
            .unwrap();
        assert_eq!(depth, 4, "four levels (1, 2, 4, 8 calls): {f:?}");
        // The outermost level keeps only its own time: no leaf directly under it.
        let width = |stack: &str| width_of(&f, stack);
        assert!(width("main;walk;leaf") < 1e-9, "{f:?}");
        assert!((width("main;walk;walk") - 814.0).abs() < 1e-9, "{f:?}");
        // Most of the leaf time is at the deepest level.
        assert!(
            width("main;walk;walk;walk;walk;leaf") > 0.7 * 800.0,
            "{f:?}"
        );
        let total: f64 = t.frames().iter().skip(1).map(|x| x.self_time).sum();
        assert!((total - 815.0).abs() < 1e-9);
    }

    #[test]
    fn a_recursion_chain_is_drawn_as_deep_as_the_threshold_allows() {
        // main calls f 10 times, each call recursing 4 times at 1 s a call: the levels
        // are 50, 40, 30, 20 and 10 s wide. At a 10 % threshold (5 s) every level is
        // wide enough to be drawn, the deepest (twice the threshold) too; a chain cut
        // short would pile the deepest level's time onto the one above it.
        let mut b = ProfileBuilder::new();
        b.add_function(key("main"), st(1, 1, 0.0, 50.0));
        b.add_function(key("f"), st(10, 50, 50.0, 50.0));
        edge(&mut b, "main", "f", 10, 10.0, 50.0);
        b.add_edge(key("f"), key("f"), EdgeStats::Timed(st(10, 40, 40.0, 40.0)));
        let p = b.finish();
        let t = build(
            &p,
            &TreeOptions {
                threshold: 0.1,
                ..TreeOptions::default()
            },
        );
        let f = frames(&t, &p);
        let widths: Vec<f64> = (1..=5)
            .map(|k| width_of(&f, &format!("main{}", ";f".repeat(k))))
            .collect();
        for (k, w) in widths.iter().enumerate() {
            let want = 10.0 * (5 - k) as f64;
            assert!((w - want).abs() < 1e-6, "level {k}: {widths:?} {f:?}");
        }
        assert_eq!(t.cut_frames, 0, "{f:?}");
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
        let p = profile(
            &[("main", 1, 1, 99.0, 100.0), ("tiny", 1, 1, 1.0, 1.0)],
            &[("main", "tiny", 1, 1.0, 1.0)],
        );
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
        let p = profile(
            &[
                ("main", 1, 1, 1.0, 10.0),
                ("a", 2, 2, 9.0, 9.0),
                ("b", 2, 2, 5e-324, 5e-324),
            ],
            &[
                ("main", "a", 1, 1.0, 9.0),
                ("a", "b", 2, 5e-324, 5e-324),
                ("b", "a", 2, 1.0, 5e-324),
            ],
        );
        let t = build(&p, &all_frames());
        for f in t.frames() {
            assert!(f.total.is_finite() && f.self_time.is_finite(), "{f:?}");
        }
        let sum: f64 = t.frames().iter().map(|f| f.self_time).sum();
        assert!((sum - 10.0).abs() < 1e-9, "self times add to {sum}");
    }

    #[test]
    fn each_run_of_a_module_imported_twice_is_drawn_under_its_importer() {
        // exec runs main (the root call), which imports a, b and c through load; a
        // imports c again. Every call of load is one run: c runs twice (5 each), once
        // under main and once under a, and each run has its own work under it.
        let p = profile(
            &[
                ("exec", 1, 5, 0.0, 100.0),
                ("main", 1, 1, 45.0, 100.0),
                ("load", 3, 4, 0.0, 55.0),
                ("a", 1, 1, 25.0, 30.0),
                ("b", 1, 1, 20.0, 20.0),
                ("c", 2, 2, 4.0, 10.0),
                ("cw", 2, 2, 6.0, 6.0),
            ],
            &[
                ("exec", "main", 1, 45.0, 100.0),
                ("exec", "a", 1, 25.0, 30.0),
                ("exec", "b", 1, 20.0, 20.0),
                ("exec", "c", 2, 4.0, 10.0),
                ("main", "load", 3, 0.0, 55.0),
                ("a", "load", 1, 0.0, 5.0),
                ("load", "exec", 4, 0.0, 55.0),
                ("c", "cw", 2, 6.0, 6.0),
            ],
        );
        let t = build(&p, &all_frames());
        let f = frames(&t, &p);
        let width = |stack: &str| width_of(&f, stack);
        let close = |stack: &str, want: f64| (width(stack) - want).abs() < 1e-9;
        assert!(close("exec;main;load;exec;a", 30.0), "{f:?}");
        assert!(close("exec;main;load;exec;b", 20.0), "{f:?}");
        assert!(close("exec;main;load;exec;c", 5.0), "{f:?}");
        assert!(close("exec;main;load;exec;c;cw", 3.0), "{f:?}");
        assert!(close("exec;main;load;exec;a;load;exec;c", 5.0), "{f:?}");
        assert!(close("exec;main;load;exec;a;load;exec;c;cw", 3.0), "{f:?}");
        // The runs of c are estimates (means), a single-run body is exact.
        let exact = |stack: &str| f.iter().find(|x| x.0 == stack).is_some_and(|x| x.2);
        assert!(exact("exec;main;load;exec;a"), "{f:?}");
        assert!(!exact("exec;main;load;exec;c"), "{f:?}");
    }

    #[test]
    fn the_run_matching_stays_off_when_a_call_can_run_several_bodies() {
        // As real imports: bodies call a finder, which calls the wrapper, which calls
        // more than the dispatcher. No run plan; the tree is drawn without one.
        let p = profile(
            &[
                ("exec", 1, 3, 0.0, 10.0),
                ("main", 1, 1, 4.0, 10.0),
                ("find", 2, 2, 0.0, 6.0),
                ("wrap", 2, 3, 0.0, 6.5),
                ("other", 1, 1, 0.5, 0.5),
                ("mod_a", 1, 1, 4.0, 4.0),
                ("mod_b", 1, 1, 2.0, 2.0),
            ],
            &[
                ("exec", "main", 1, 4.0, 10.0),
                ("exec", "mod_a", 1, 4.0, 4.0),
                ("exec", "mod_b", 1, 2.0, 2.0),
                ("main", "find", 2, 0.0, 6.0),
                ("find", "wrap", 2, 0.0, 6.0),
                ("wrap", "exec", 2, 0.0, 6.0),
                ("wrap", "other", 1, 0.5, 0.5),
            ],
        );
        let slots = Slots::new(&p);
        let facts = facts::function_facts(&p, &slots);
        assert!(DispatchPlan::find(&p, &slots, &facts).is_none());
    }

    #[test]
    fn a_shared_function_splits_each_context_in_proportion_to_its_edges() {
        // Regression: the fill pass once shrank its budget while handing it out, so the
        // callees listed last got less than their share.
        let p = profile(
            &[
                ("p", 1, 1, 0.0, 5.0),
                ("q", 1, 1, 0.0, 5.0),
                ("shared", 2, 2, 2.0, 10.0),
                ("x", 2, 2, 2.0, 2.0),
                ("y", 2, 2, 6.0, 6.0),
            ],
            &[
                ("p", "shared", 1, 1.0, 5.0),
                ("q", "shared", 1, 1.0, 5.0),
                ("shared", "x", 2, 2.0, 2.0),
                ("shared", "y", 2, 6.0, 6.0),
            ],
        );
        let t = build(&p, &all_frames());
        let f = frames(&t, &p);
        for root in ["p", "q"] {
            let width = |leaf: &str| width_of(&f, &format!("{root};shared;{leaf}"));
            assert!((width("x") - 1.0).abs() < 1e-9, "{f:?}");
            assert!((width("y") - 3.0).abs() < 1e-9, "{f:?}");
        }
    }
}
