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
//! - **Import nesting.** Module bodies are matched to the body that imported them
//!   bottom-up (see [`super::nesting`]); a matched body is placed only under its
//!   importer, and the importer's frames in the import cycle carry its time down to the
//!   dispatcher.
//! - **One call, one run.** Where every call of a wrapper around the dispatcher is
//!   one module run (see [`super::dispatch`] and [`dispatch_plan`]), runs are matched to
//!   importers jointly, counts respected; each run is drawn as its own frame under its
//!   importer's run, and the nesting above is not used for those modules.
//! - **Recursion.** Direct recursion is unrolled level by level, the outermost level
//!   exact, the calls and time of deeper levels modelled from the self-edge's primitive
//!   calls and totals (see [`super::levels`] and [`inner_width`]): folded, it gives back
//!   exactly the data. Re-entry through a cycle of several functions (imports
//!   run `exec` inside `exec`) is drawn where the budget allows, at most
//!   [`MAX_REENTRY`] times per stack; edges inside such a cycle are not bounded by
//!   their pools, because cProfile counts their `ct` for the outermost call only.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::arena::{CallTree, Frame, ROOT, TreeBuilder};
use super::dispatch;
use super::levels::Levels;
use super::nesting::{self, BodyFacts};
use super::{EdgeNumbers, Queued, TreeOptions, clean, edge_numbers};
use crate::model::{FuncId, Profile, count_f64};

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
    /// Direct recursion: calls and time of each level (empty without a self-edge).
    levels: Levels,
    /// Direct recursion: share of own time in what an inner level keeps (the
    /// self-edge's `tt / ct`); `None` without direct recursion.
    inner_own: Option<f64>,
    /// Direct recursion: share of own time in an outermost level's width when no
    /// caller edge tells it (`(tt - self-edge tt) / ct`).
    outer_own: f64,
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
    let slots = Slots::new(profile);
    let facts = function_facts(profile, &slots);
    let imports = imports(profile, &slots, &facts);
    let mut pool: Vec<f64> = slots.slots.iter().map(|s| s.n.ct).collect();
    // Estimated own time of each frame, indexed by builder frame id.
    let mut own: Vec<f64> = vec![0.0];
    // Direct recursion (see `inner_width`): the level of each frame (0: outermost),
    // and the width of its inner call (0: none).
    let mut level: Vec<u32> = vec![0];
    let mut inner: Vec<f64> = vec![0.0];
    // The module run each frame stands for, where the one-call-one-run pattern holds.
    let mut run: Vec<u32> = vec![NO_RUN];
    // The body nearest below each frame on its stack (see `NearBody`), kept
    // as frames are pushed so that no frame walks its stack to find it.
    let mut near_body: Vec<Option<NearBody>> = vec![None];

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
        let inner_w = inner_width(fact, width, 0, min_width);
        level.push(0);
        inner.push(inner_w);
        run.push(NO_RUN);
        near_body.push(imports.near_body(None, func, 1));
        own.push(own_time(fact, width, calls, None, 0, inner_w));
        queue.push(Queued::new(width, frame));
    }

    let budget = options.frame_budget(profile);
    let mut lists = Lists::new(&slots, &pool);
    let bodies = &imports.bodies;
    let runs = dispatch_plan(profile, &slots, &facts);
    let mut body_parent = nesting::assign_parents(bodies);
    if let Some(dp) = &runs {
        // The modules of the pattern are placed by their runs, not by the nesting.
        for (f, &c) in dp.col_of.iter().enumerate() {
            if c != NO_RUN {
                body_parent[f] = None;
            }
        }
    }
    // Per body: the time of the bodies it imported that are not drawn yet.
    let mut demand = vec![0.0; profile.functions().len()];
    for (body, parent) in body_parent.iter().enumerate() {
        if let (Some(p), Some(ct)) = (parent, bodies[body].body_ct) {
            demand[*p as usize] += ct;
        }
    }
    let plan = Plan {
        facts: &facts,
        slots: &slots,
        imports: &imports,
        body_parent: &body_parent,
        runs: runs.as_ref(),
    };
    // Root runs of the pattern already drawn.
    let mut root_runs_drawn = 0;
    let mut scratch = Scratch::default();
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
            &plan,
            &pool,
            &tree,
            frame,
            own[frame as usize],
            inner[frame as usize],
            share,
            whole,
            run[frame as usize],
            near_body[frame as usize],
            &mut root_runs_drawn,
            &mut demand,
            &mut lists,
            &mut scratch,
            &mut children,
        );

        for c in children.drain(..) {
            let callee = slots.slots[c.edge].callee;
            let before = pool[c.edge];
            pool[c.edge] -= c.width;
            lists.spent(&slots, &pool, func, c.edge, before);
            if c.width < min_width || !options.depth_allowed(depth) {
                tree.cut(frame, c.width);
                continue;
            }
            // All the edge's numbers, for the frame it gets (a child cut above needs none).
            let n = &slots.numbers(profile, c.edge);
            let part = if n.ct > 0.0 {
                (c.width / n.ct).min(1.0)
            } else {
                share
            };
            let is_self = callee == func;
            let depth_in_chain = if is_self {
                level[frame as usize] + 1
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
                func: Some(callee),
                parent: frame,
                calls,
                exact: c.exact,
                min_total: lo,
                max_total: hi,
                ..Frame::root(c.width)
            });
            let callee_fact = &facts[callee as usize];
            let inner_w = inner_width(callee_fact, c.width, depth_in_chain, min_width);
            level.push(depth_in_chain);
            inner.push(inner_w);
            run.push(match &runs {
                _ if c.run != NO_RUN => c.run,
                // A run's imports: the wrapper under its module, the dispatcher under
                // that wrapper.
                Some(dp)
                    if (callee == dp.wrapper && dp.col_of[func as usize] != NO_RUN)
                        || (func == dp.wrapper && callee == dp.dispatcher) =>
                {
                    run[frame as usize]
                }
                _ => NO_RUN,
            });
            near_body.push(imports.near_body(near_body[frame as usize], callee, depth as u32));
            own.push(own_time(
                callee_fact,
                c.width,
                calls,
                Some((n, part)),
                depth_in_chain,
                inner_w,
            ));
            if slots.of(callee).is_empty() {
                continue;
            }
            queue.push(Queued::new(c.width, child));
        }
    }
    tree.finish()
}

/// One child a frame will get.
struct Child {
    /// Index into [`Slots::slots`].
    edge: usize,
    width: f64,
    exact: bool,
    /// The module run this child stands for, or [`NO_RUN`].
    run: u32,
}

/// The edges as the estimator reads them: in caller order, so that the callees of a
/// frame's function sit side by side in memory (edge `Slots::of(f)` are `f`'s callees,
/// in the order of [`Profile::callee_edge_ids`]).
struct Slots {
    start: Vec<u32>,
    slots: Vec<Slot>,
}

struct Slot {
    callee: FuncId,
    /// Index into [`Profile::edges`], for the numbers a slot does not keep.
    edge: u32,
    n: SlotNumbers,
    /// The times were measured, not derived from a count (`EdgeNumbers::timed`).
    timed: bool,
    /// The edge goes back into its caller's cycle: caller and callee are distinct
    /// functions of one strongly connected component.
    cyclic: bool,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 32);

/// The edge numbers every pass over the slots reads; the rest ([`Slots::numbers`]) are
/// read where a frame is placed. Keeping a slot to 32 bytes keeps the table a large
/// profile scatters into caller order two thirds the size.
struct SlotNumbers {
    nc: f64,
    ct: f64,
}

impl Slots {
    /// Reads the edges once, in their own (callee) order, and writes each to its
    /// place in caller order: gathering them in caller order instead would read the
    /// whole edge table at random, one cache miss an edge on a large profile.
    fn new(profile: &Profile) -> Slots {
        let funcs = profile.functions().len();
        let mut start = Vec::with_capacity(funcs + 1);
        let mut at = 0u32;
        for func in 0..funcs {
            start.push(at);
            at += profile.callee_edge_ids(func as FuncId).len() as u32;
        }
        start.push(at);
        let edges = profile.edges();
        let scc = profile.components();
        let mut slots: Vec<Slot> = Vec::with_capacity(edges.len());
        let mut next = start.clone();
        {
            let room = &mut slots.spare_capacity_mut()[..edges.len()];
            // Edges are sorted by (callee, caller): each caller's slots come out
            // sorted by callee, the order of `callee_edge_ids`.
            for (i, e) in edges.iter().enumerate() {
                let place = &mut next[e.caller as usize];
                let n = edge_numbers(profile, e);
                room[*place as usize].write(Slot {
                    callee: e.callee,
                    edge: i as u32,
                    n: SlotNumbers { nc: n.nc, ct: n.ct },
                    timed: n.timed,
                    cyclic: e.callee != e.caller
                        && scc[e.callee as usize] == scc[e.caller as usize],
                });
                *place += 1;
            }
        }
        // Each caller's cursor went through its range exactly once.
        assert!(next[..funcs] == start[1..], "every slot written once");
        // SAFETY: the capacity is `edges.len()`, and the ranges `start[f]..start[f + 1]`
        // tile `0..edges.len()`; the assertion shows each cursor wrote its whole range,
        // once an edge of its caller, so every slot below `edges.len()` is initialized.
        unsafe { slots.set_len(edges.len()) };
        Slots { start, slots }
    }

    /// All the numbers of slot `k`'s edge.
    fn numbers(&self, profile: &Profile, k: usize) -> EdgeNumbers {
        edge_numbers(profile, &profile.edges()[self.slots[k].edge as usize])
    }

    /// The slots of `func`'s callee edges.
    fn of(&self, func: FuncId) -> std::ops::Range<usize> {
        self.start[func as usize] as usize..self.start[func as usize + 1] as usize
    }
}

/// Per function, a list of some of its callee slots. Lists only shrink: a slot is
/// dropped once it can no longer matter (see [`Lists`]); what is left keeps its order.
struct SlotLists {
    start: Vec<u32>,
    slots: Vec<u32>,
    /// Per function: how many of its slots are still listed (from its start).
    live: Vec<u32>,
}

impl SlotLists {
    /// The lists laid end to end in `slots`, function `f`'s from `start[f]` to
    /// `start[f + 1]`.
    fn from_parts(start: Vec<u32>, slots: Vec<u32>) -> SlotLists {
        let live = start.windows(2).map(|w| w[1] - w[0]).collect();
        SlotLists { start, slots, live }
    }

    fn of(&self, func: FuncId) -> &[u32] {
        let start = self.start[func as usize] as usize;
        &self.slots[start..start + self.live[func as usize] as usize]
    }

    fn of_mut(&mut self, func: FuncId) -> &mut [u32] {
        let start = self.start[func as usize] as usize;
        &mut self.slots[start..start + self.live[func as usize] as usize]
    }

    /// Keeps only the first `len` listed slots of `func`.
    fn truncate(&mut self, func: FuncId, len: usize) {
        let live = &mut self.live[func as usize];
        *live = (*live).min(len as u32);
    }
}

/// The slot lists a frame's expansion walks, computed once so that expanding a frame
/// sorts nothing, and kept up to date as pools are spent, so that a frame walks only
/// the slots that can give it something. A single call's slot (`nc` 1) is an *atom*
/// while its pool is whole, *partial* once part of it is spent, *spent* once it is
/// empty; pools only shrink, so it never goes back.
struct Lists {
    /// Atoms, widest first: the order in which a frame places them. A slot leaves as
    /// it is met no longer whole.
    atoms: SlotLists,
    /// The slots of more than one call, in slot order (fixed).
    multi: SlotLists,
    /// Per function: its partial single calls, in slot order.
    partial: Vec<Vec<u32>>,
    /// Per function: its spent single calls back into its own cycle (any order).
    spent_cyclic: Vec<Vec<u32>>,
}

impl Lists {
    /// Sorts every slot into its lists in one pass over the slots.
    fn new(slots: &Slots, pool: &[f64]) -> Lists {
        let funcs = slots.start.len() - 1;
        let mut atom_start = Vec::with_capacity(funcs + 1);
        let mut atoms = Vec::with_capacity(slots.slots.len());
        let mut multi_start = Vec::with_capacity(funcs + 1);
        let mut multi = Vec::with_capacity(slots.slots.len());
        let mut spent_cyclic = Vec::with_capacity(funcs);
        for func in 0..funcs as FuncId {
            atom_start.push(atoms.len() as u32);
            multi_start.push(multi.len() as u32);
            let first = atoms.len();
            // No pool is partial yet; single calls with an empty pool are spent already.
            let mut spent = Vec::new();
            for k in slots.of(func) {
                let slot = &slots.slots[k];
                if slot.n.nc == 1.0 {
                    if slot.n.ct > 0.0 {
                        atoms.push(k as u32);
                    }
                    if slot.cyclic && pool[k] <= 0.0 {
                        spent.push(k as u32);
                    }
                } else {
                    multi.push(k as u32);
                }
            }
            // Ties in slot order, which is the edges' order within one caller. The keys
            // are unique, so an unstable sort gives that one order; a `ct` here is
            // positive and finite, so its bits order as its value does.
            let n = |k: u32| &slots.slots[k as usize].n;
            atoms[first..].sort_unstable_by_key(|&k| (Reverse(n(k).ct.to_bits()), k));
            spent_cyclic.push(spent);
        }
        atom_start.push(atoms.len() as u32);
        multi_start.push(multi.len() as u32);
        Lists {
            atoms: SlotLists::from_parts(atom_start, atoms),
            multi: SlotLists::from_parts(multi_start, multi),
            partial: vec![Vec::new(); funcs],
            spent_cyclic,
        }
    }

    /// Notes that the pool of slot `k` of `func` went from `before` to `pool[k]`.
    fn spent(&mut self, slots: &Slots, pool: &[f64], func: FuncId, k: usize, before: f64) {
        let slot = &slots.slots[k];
        if slot.n.nc != 1.0 {
            return;
        }
        let (now, ct) = (pool[k], slot.n.ct);
        let is_spent = |x: f64| x <= 0.0;
        let is_whole = |x: f64| x == ct && ct > 0.0;
        let is_partial = |x: f64| !(is_whole(x) || is_spent(x));
        if is_spent(now) && !is_spent(before) && slot.cyclic {
            self.spent_cyclic[func as usize].push(k as u32);
        }
        if is_partial(now) && !is_partial(before) {
            let list = &mut self.partial[func as usize];
            if let Err(at) = list.binary_search(&(k as u32)) {
                list.insert(at, k as u32);
            }
        }
    }
}

/// Buffers reused by every call of [`plan_children`].
#[derive(Default)]
struct Scratch {
    divisible: Vec<Divisible>,
}

/// An edge a frame's divisible time may go to (see [`plan_children`]).
struct Divisible {
    /// Index into [`Slots::slots`].
    slot: usize,
    cyclic: bool,
    /// What the edge would give this context: its `ct` in proportion, within its pool.
    want: f64,
    /// What it gets.
    width: f64,
}

/// What [`plan_children`] reads: the profile and the facts derived from it once.
struct Plan<'a> {
    facts: &'a [FunctionFacts],
    slots: &'a Slots,
    /// Bodies, the import cycle and its entries (see [`nesting`]).
    imports: &'a Imports,
    /// The body that imported each body, rebuilt bottom-up (see [`nesting`]).
    body_parent: &'a [Option<FuncId>],
    /// Module runs matched to importers, where each import is one run (see [`dispatch`]).
    runs: Option<&'a DispatchPlan>,
}

impl Plan<'_> {
    /// Whether `frame` (of `func`) may take time from edge `i` at all: not its own
    /// recursion (drawn as a chain), a pool with time left or an edge inside a cycle,
    /// and re-entry through a cycle within bounds. Always inlined: it runs for every
    /// edge a frame's expansion walks, and out of line the call costs as much as the test.
    #[inline(always)]
    fn is_candidate(
        &self,
        tree: &TreeBuilder,
        frame: u32,
        func: FuncId,
        pool: &[f64],
        i: usize,
    ) -> bool {
        let Slot { callee, cyclic, .. } = self.slots.slots[i];
        if callee == func {
            return false;
        }
        // A callee outside this function's cycle cannot be one of its ancestors:
        // skip the ancestor walk (it costs up to LOOKBACK steps on deep stacks).
        (pool[i] > 0.0 || cyclic) && (!cyclic || reentry_allowed(tree, frame, callee))
    }

    /// An edge that is still one whole single call: placed as an atom.
    fn is_atom(&self, pool: &[f64], i: usize) -> bool {
        let n = &self.slots.slots[i].n;
        n.nc == 1.0 && pool[i] == n.ct && n.ct > 0.0
    }
}

/// Decides the children of one frame: which edges, how wide.
#[allow(clippy::too_many_arguments)]
fn plan_children(
    plan: &Plan,
    pool: &[f64],
    tree: &TreeBuilder,
    frame: u32,
    own: f64,
    inner: f64,
    share: f64,
    whole: bool,
    run: u32,
    near_body: Option<NearBody>,
    root_runs_drawn: &mut usize,
    demand: &mut [f64],
    lists: &mut Lists,
    scratch: &mut Scratch,
    out: &mut Vec<Child>,
) {
    let (facts, slots) = (plan.facts, &plan.slots.slots);
    let parent = tree.frame(frame);
    let Some(func) = parent.func else { return };
    let fact = &facts[func as usize];
    let callee_slots = plan.slots.of(func);
    // The wrapper slot of a module run, placed as the plan says (below).
    let mut wrapper_slot = None;
    if let Some(dp) = plan.runs {
        if func == dp.dispatcher {
            // The runs this dispatcher frame makes: the imports of the run above it, or
            // (outside the cycle) the root runs not drawn yet, one per call.
            let list = if run != NO_RUN {
                dp.kids(run)
            } else {
                let all = dp.kids(0);
                let from = (*root_runs_drawn).min(all.len());
                let take = (parent.calls.round().max(1.0) as usize).min(all.len() - from);
                *root_runs_drawn = from + take;
                &all[from..from + take]
            };
            // Runs of a module run once have their exact width; the others (means)
            // shrink first when the runs do not fit.
            let avail = (parent.total - own).max(0.0);
            let once = |r: u32| slots[dp.col_slot[dp.module[r as usize] as usize]].n.nc == 1.0;
            let (mut fixed, mut flex) = (0.0, 0.0);
            for &r in list {
                if once(r) {
                    fixed += dp.width[r as usize];
                } else {
                    flex += dp.width[r as usize];
                }
            }
            let (fixed_scale, flex_scale) = if fixed + flex <= avail {
                (1.0, 1.0)
            } else if fixed <= avail {
                (1.0, (avail - fixed) / flex)
            } else {
                (avail / fixed, 0.0)
            };
            for &r in list {
                let col = dp.module[r as usize] as usize;
                let i = dp.col_slot[col];
                let (n, timed) = (&slots[i].n, slots[i].timed);
                let scale = if once(r) { fixed_scale } else { flex_scale };
                let width = dp.width[r as usize] * scale;
                out.push(Child {
                    edge: i,
                    width,
                    // A module run once: its width is its `ct`, wherever it is placed.
                    exact: n.nc == 1.0 && timed && (n.ct - width).abs() <= n.ct * EXACT_TOLERANCE,
                    run: r,
                });
            }
            return;
        }
        if run != NO_RUN && func == dp.wrapper {
            for i in callee_slots {
                out.push(Child {
                    edge: i,
                    width: (parent.total - own).max(0.0),
                    exact: false,
                    run: NO_RUN,
                });
            }
            return;
        }
        let col = dp.col_of[func as usize];
        if run != NO_RUN && col != NO_RUN {
            wrapper_slot = dp.wrap_slot[col as usize].map(|i| (i, dp.import_width[run as usize]));
        }
    }
    let skip = wrapper_slot.map(|(i, _)| i);

    if whole {
        // The only context of this function: every edge is taken whole.
        let mut sum = 0.0;
        for i in callee_slots {
            if !plan.is_candidate(tree, frame, func, pool, i) {
                continue;
            }
            let exact = slots[i].timed && pool[i] == slots[i].n.ct && !slots[i].cyclic;
            out.push(Child {
                edge: i,
                width: pool[i],
                exact,
                run: NO_RUN,
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
    // Running sum of the widths in `out`.
    let mut placed = 0.0;
    // A module run's imports: as wide as the plan has them, within the budget.
    if let Some((i, width)) = wrapper_slot {
        let width = width.min(budget);
        if width > 0.0 {
            out.push(Child {
                edge: i,
                width,
                exact: false,
                run: NO_RUN,
            });
            placed += width;
            budget -= width;
        }
    }
    // Direct recursion (see `inner_width`): the inner call takes its share first.
    if let Some(e) = fact.self_edge
        && inner > 0.0
    {
        let width = inner.min(parent.total);
        out.push(Child {
            edge: e,
            width,
            exact: false,
            run: NO_RUN,
        });
        placed += width;
        budget = (budget - width).max(0.0);
    }

    // Atoms first, widest first: indivisible single calls placed whole where they fit.
    let mut call_limit = if fact.dispatcher {
        parent.calls.round().max(1.0)
    } else {
        f64::INFINITY
    };
    let slack = 0.02 * parent.total;
    // The body this frame runs under, if any within LOOKBACK frames down its stack,
    // and whether the path from it up to this frame starts with an import.
    let importer = near_body
        .filter(|b| parent.depth - b.depth < LOOKBACK as u32)
        .map(|b| (b.body, b.importing));
    // A slot stops being an atom for good once part of its pool is spent (pools only
    // shrink): such slots are dropped from the function's list as they are met, so
    // later frames do not walk past them again. The order of the rest is kept.
    let list = lists.atoms.of_mut(func);
    let (mut kept, mut next) = (0, 0);
    while next < list.len() {
        let i = list[next] as usize;
        next += 1;
        if !plan.is_atom(pool, i) {
            continue;
        }
        list[kept] = i as u32;
        kept += 1;
        if skip == Some(i) {
            continue;
        }
        if budget <= 0.0 {
            break;
        }
        let ct = slots[i].n.ct;
        // A body whose importer is known goes under that importer only, whole if
        // there is room, whatever the call estimate; others are placed by fit.
        let nested = match plan.body_parent[slots[i].callee as usize] {
            Some(p) => {
                if importer.map(|h| h.0) != Some(p) {
                    continue;
                }
                true
            }
            None => false,
        };
        if !nested && call_limit < 1.0 {
            continue;
        }
        // Contexts come widest first: an atom wider than this one fits no later
        // context of the function either, so it goes here, as wide as the budget allows.
        // In a module run of the one-call-one-run pattern, a single call is placed
        // whatever the room (the run's frame is the only one it can go to).
        if (nested || run != NO_RUN || ct <= budget + slack || ct > parent.total)
            && plan.is_candidate(tree, frame, func, pool, i)
        {
            // A single call's width is its `ct`, straight from the data, wherever the
            // call is placed: it may eat into the estimated own time, not past the frame.
            let room = parent.total - placed;
            let width = ct.min(room.max(0.0));
            out.push(Child {
                edge: i,
                width,
                exact: slots[i].timed && ct - width <= ct * EXACT_TOLERANCE,
                run: NO_RUN,
            });
            placed += width;
            budget = (budget - width).max(0.0);
            if nested {
                let importer = plan.body_parent[slots[i].callee as usize].unwrap_or(func);
                demand[importer as usize] -= ct;
            } else {
                call_limit -= 1.0;
            }
        }
    }
    list.copy_within(next.., kept);
    let live = kept + (list.len() - next);
    lists.atoms.truncate(func, live);

    // Divisible edges, in three passes over one width per edge:
    // 1. edges back into a cycle take what their pools still hold (cProfile counts
    //    their `ct` at the outermost entry of the cycle, so the first, widest contexts
    //    are the ones that ran it);
    // 2. the other edges share what is left, in proportion to what each would give
    //    this context, bounded by their pools;
    // 3. time still unexplained goes back into the cycle (re-entry deeper down, where
    //    the pools, counted at the outermost entry only, have nothing left).
    let divisible = &mut scratch.divisible;
    // Edges that can give this frame nothing (an empty pool, and no re-entry to fill)
    // are left out; they matter only in telling whether a cycle pass comes last.
    let mut idle_cycle_edge = false;
    divisible.clear();
    // Atoms were placed above, spent single calls give nothing: the slots of more
    // than one call and the partial single calls, in slot order.
    let multi = lists.multi.of(func);
    let partial = &mut lists.partial[func as usize];
    partial.retain(|&i| pool[i as usize] > 0.0 || pool[i as usize].is_nan());
    let (mut a, mut b) = (0, 0);
    while a < multi.len() || b < partial.len() {
        let i = if b == partial.len() || (a < multi.len() && multi[a] < partial[b]) {
            a += 1;
            multi[a - 1]
        } else {
            b += 1;
            partial[b - 1]
        } as usize;
        if skip == Some(i) {
            continue;
        }
        let Slot { n, cyclic, .. } = &slots[i];
        let idle = pool[i] <= 0.0 && !(n.nc > 1.0 && n.ct * share > 0.0);
        if idle {
            idle_cycle_edge =
                idle_cycle_edge || (*cyclic && plan.is_candidate(tree, frame, func, pool, i));
        } else if plan.is_candidate(tree, frame, func, pool, i) {
            divisible.push(Divisible {
                slot: i,
                cyclic: *cyclic,
                want: (n.ct * share).min(pool[i].max(0.0)),
                width: 0.0,
            });
        }
    }
    let mut has_cycle = idle_cycle_edge || divisible.iter().any(|d| d.cyclic);
    if !has_cycle {
        // The spent single calls left out above, if one of them goes back into the cycle.
        has_cycle = lists.spent_cyclic[func as usize].iter().any(|&i| {
            let i = i as usize;
            skip != Some(i) && pool[i] <= 0.0 && plan.is_candidate(tree, frame, func, pool, i)
        });
    }
    // Bodies imported by the body above, still to draw, are reached through the
    // cycle: the widest edge back into it carries their time down to the dispatcher
    // (otherwise each level of import machinery would shrink them by its share).
    if has_cycle
        && budget > 0.0
        && plan.imports.cycle[fact.scc as usize]
        && let Some((p, true)) = importer
        && demand[p as usize] > 0.0
        && let Some(k) = (0..divisible.len())
            .filter(|&k| divisible[k].cyclic)
            .max_by(|&a, &b| {
                let ct = |k: usize| slots[divisible[k].slot].n.ct;
                ct(a).total_cmp(&ct(b)).then(b.cmp(&a))
            })
    {
        let width = demand[p as usize].min(budget);
        divisible[k].width = width;
        budget -= width;
    }
    for pass in [Pass::CyclePools, Pass::Others, Pass::CycleFill] {
        if budget <= 0.0 {
            break;
        }
        let weight = |d: &Divisible| match pass {
            Pass::CyclePools if d.cyclic => d.want,
            Pass::Others if !d.cyclic => d.want,
            // A single call is placed once (as an atom), never again.
            Pass::CycleFill if d.cyclic && slots[d.slot].n.nc > 1.0 => slots[d.slot].n.ct * share,
            _ => 0.0,
        };
        let asked: f64 = divisible.iter().map(weight).sum();
        if asked <= 0.0 {
            continue;
        }
        // Passes bounded by pools never grow past them; the last pass, and the
        // others when nothing can come after, fill the budget.
        let fills = matches!(pass, Pass::CycleFill) || (matches!(pass, Pass::Others) && !has_cycle);
        let available = budget;
        let fraction = (available / asked).min(1.0);
        for d in divisible.iter_mut() {
            // Share of the budget first: stays finite when the weights are denormal.
            let mut width = if fills {
                available * (weight(d) / asked)
            } else {
                weight(d) * fraction
            };
            if !matches!(pass, Pass::CycleFill) {
                width = width.min(pool[d.slot].max(0.0) - d.width).max(0.0);
            }
            d.width += width;
            budget -= width;
        }
        budget = budget.max(0.0);
    }
    for d in divisible.iter() {
        if d.width > 0.0 {
            out.push(Child {
                edge: d.slot,
                width: d.width,
                exact: false,
                run: NO_RUN,
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

/// Re-entry through a cycle is allowed a bounded number of times per stack.
fn reentry_allowed(tree: &TreeBuilder, frame: u32, func: FuncId) -> bool {
    !tree.ancestor_count_reaches(frame, func, LOOKBACK, MAX_REENTRY)
}

/// The time a frame spends itself. Reached through an edge that is not recursive,
/// it is the callee's own time under that caller, in proportion (for a directly
/// recursive callee that is the outermost level's own time: cProfile charges inner
/// calls' own time to the self-edge); for functions in a cycle of several (whose `ct`
/// counts only the outermost call) it is the own time per call times the calls in
/// this context. Inner levels of direct recursion (reached through the self-edge)
/// split what they keep besides their inner call (`inner`, see [`inner_width`]) as
/// the self-edge's totals do (own time `tt` out of `ct`).
fn own_time(
    fact: &FunctionFacts,
    width: f64,
    calls: f64,
    via: Option<(&EdgeNumbers, f64)>,
    level: u32,
    inner: f64,
) -> f64 {
    let estimate = if let Some(inner_own) = fact.inner_own {
        // What the model passes on from this level; when the chain stops here, the
        // frame stands for the levels below too, and keeps their own time.
        let passes = width * chain_share(fact, level);
        let this_level = match via {
            _ if level > 0 => (width - passes) * inner_own,
            Some((edge, part)) if edge.timed => edge.tt * part,
            _ => width * fact.outer_own,
        };
        this_level.min(width - passes) + (passes - inner).max(0.0) * inner_own
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

/// Direct recursion is drawn unrolled, one frame per level: the width a frame at
/// `level` (0: outermost) of its chain passes on to its inner call, as the depth model
/// [`Levels`] has it (the outermost level's share is exact). Below the outermost
/// level the share is capped at [`MAX_INNER_SHARE`], so chains shrink. A chain is
/// drawn as deep as the threshold allows, like any other stack: it stops where the
/// inner level would be narrower than one drawn frame (`min_width`) or the model has
/// no further level, and the last level drawn keeps the rest (own time and callees of
/// the levels below it), so callees are not lost in slivers. Stopping any earlier
/// would move the time of levels the threshold would draw onto shallower ones.
fn inner_width(fact: &FunctionFacts, width: f64, level: u32, min_width: f64) -> f64 {
    if fact.self_edge.is_none() {
        return 0.0;
    }
    let width = chain_share(fact, level) * width;
    if width >= min_width { width } else { 0.0 }
}

/// The share of its width a frame at `level` of a chain of direct recursion passes on
/// to its inner call, as the model has it.
fn chain_share(fact: &FunctionFacts, level: u32) -> f64 {
    let share = fact.levels.share(level as usize);
    if level == 0 {
        share
    } else {
        share.min(MAX_INNER_SHARE)
    }
}

/// The largest share of its width a level of direct recursion below the outermost
/// passes on to its inner call, so a chain shrinks by at least 5 % a level and its
/// length stays bounded by the threshold (about 135 levels at 0.1 %).
const MAX_INNER_SHARE: f64 = 0.95;

/// An atom clipped by less than this share of its `ct` still counts as exact: cProfile's
/// cumulative times run up to ~0.05 % past the sum of own times (its own overhead), so the
/// whole-profile frame is a little narrower than the `ct` of the call that spans it.
const EXACT_TOLERANCE: f64 = 1e-3;

fn function_facts(profile: &Profile, slots: &Slots) -> Vec<FunctionFacts> {
    let scc = profile.components();
    let mut size = vec![0u32; profile.functions().len()];
    for &c in scc {
        size[c as usize] += 1;
    }
    profile
        .functions()
        .iter()
        .enumerate()
        .map(|(id, f)| {
            let id = id as FuncId;
            let nc = count_f64(f.stats.nc.max(0));
            let out_calls: f64 = slots.of(id).map(|k| slots.slots[k].n.nc).sum();
            let self_edge = slots.of(id).find(|&k| slots.slots[k].callee == id);
            let numbers = |k: usize| slots.numbers(profile, k);
            let ct = clean(f.stats.ct);
            let outer = count_f64(f.stats.cc.max(1));
            let in_cycle = size[scc[id as usize] as usize] > 1;
            // Direct recursion drawn as a chain: a self-edge outside larger cycles.
            let chain_edge = self_edge.filter(|_| !in_cycle);
            FunctionFacts {
                ct,
                tt: clean(f.stats.tt),
                nc,
                scc: scc[id as usize],
                recursive: self_edge.is_some() || in_cycle,
                self_edge: chain_edge,
                levels: chain_edge.map_or_else(Levels::default, |e| {
                    let n = numbers(e);
                    Levels::new(outer, ct, n.nc, n.cc, n.ct)
                }),
                inner_own: chain_edge.map(|e| {
                    let n = numbers(e);
                    if n.ct > 0.0 {
                        (n.tt / n.ct).clamp(0.0, 1.0)
                    } else {
                        0.0
                    }
                }),
                outer_own: if ct > 0.0 {
                    let inner_tt = chain_edge.map_or(0.0, |e| numbers(e).tt);
                    ((clean(f.stats.tt) - inner_tt) / ct).clamp(0.0, 1.0)
                } else {
                    0.0
                },
                dispatcher: nc >= 2.0 && out_calls == nc && slots.of(id).len() >= 2,
            }
        })
        .collect()
}

/// What the import nesting needs to know of the profile.
struct Imports {
    /// Single-call bodies and their import times: the input of
    /// [`nesting::assign_parents`].
    bodies: Vec<BodyFacts>,
    /// Per strongly connected component: whether it runs bodies (the import cycle).
    cycle: Vec<bool>,
    /// Per function: an entry into the import machinery (in the import cycle and
    /// called by two bodies or more: `_find_and_load`, `_handle_fromlist`), as
    /// opposed to a function a single body calls (`main()`).
    entry: Vec<bool>,
}

/// The body nearest below a frame on its stack, the frame itself included.
#[derive(Clone, Copy)]
struct NearBody {
    body: FuncId,
    /// Depth of the body's frame.
    depth: u32,
    /// Whether the path from the body up to the frame starts with an import: the
    /// frame just above the body is an entry into the import machinery.
    importing: bool,
}

impl Imports {
    /// The nearest body of a new frame of `func` at `depth`, pushed on a frame whose
    /// nearest body is `below`: derived from the parent's, so no frame walks its stack.
    fn near_body(&self, below: Option<NearBody>, func: FuncId, depth: u32) -> Option<NearBody> {
        if self.bodies[func as usize].body_ct.is_some() {
            return Some(NearBody {
                body: func,
                depth,
                importing: false,
            });
        }
        match below {
            // The parent is the body: this frame is the first step of the path.
            Some(b) if b.depth + 1 == depth => Some(NearBody {
                importing: self.entry[func as usize],
                ..b
            }),
            _ => below,
        }
    }
}

/// Finds the bodies (functions whose only caller is a dispatcher, calling them once),
/// the import cycle and its entries, and the time each body spends in those entries.
fn imports(profile: &Profile, slots: &Slots, facts: &[FunctionFacts]) -> Imports {
    let n = profile.functions().len();
    let mut bodies: Vec<BodyFacts> = (0..n)
        .map(|id| {
            let body_ct = match profile.callers_of(id as FuncId) {
                [e] if e.caller != id as FuncId && facts[e.caller as usize].dispatcher => {
                    let n = super::edge_numbers(profile, e);
                    (n.nc == 1.0 && n.ct > 0.0).then_some(n.ct)
                }
                _ => None,
            };
            BodyFacts {
                body_ct,
                import_time: 0.0,
            }
        })
        .collect();
    let mut cycle = vec![false; n];
    for (id, b) in bodies.iter().enumerate() {
        if b.body_ct.is_some() {
            let runner = profile.callers_of(id as FuncId)[0].caller;
            cycle[facts[runner as usize].scc as usize] = true;
        }
    }
    let entry: Vec<bool> = (0..n)
        .map(|id| {
            cycle[facts[id].scc as usize]
                && profile
                    .callers_of(id as FuncId)
                    .iter()
                    .filter(|e| bodies[e.caller as usize].body_ct.is_some())
                    .take(2)
                    .count()
                    == 2
        })
        .collect();
    for (id, body) in bodies.iter_mut().enumerate() {
        if body.body_ct.is_some() {
            body.import_time = slots
                .of(id as FuncId)
                .filter(|&k| entry[slots.slots[k].callee as usize])
                .map(|k| slots.slots[k].n.ct)
                .sum();
        }
    }
    Imports {
        bodies,
        cycle,
        entry,
    }
}

/// Where every call of a wrapper around the dispatcher is one module run (see
/// [`dispatch`]): which module run each frame of the pattern stands for.
struct DispatchPlan {
    /// The wrapper (`_call_with_frames_removed`) and the dispatcher (`exec`).
    wrapper: FuncId,
    dispatcher: FuncId,
    /// Per module (column): the slot of the edge dispatcher -> module, and of the edge
    /// module -> wrapper if it imports.
    col_slot: Vec<usize>,
    wrap_slot: Vec<Option<usize>>,
    /// Per function: its column, or `NO_RUN`.
    col_of: Vec<u32>,
    /// Per run: its module (run 0 is the root), children (widest first), estimated
    /// width and the width of its imports.
    module: Vec<u32>,
    kid_start: Vec<u32>,
    kids: Vec<u32>,
    width: Vec<f64>,
    import_width: Vec<f64>,
}

/// No run: a frame outside the pattern.
const NO_RUN: u32 = u32::MAX;

impl DispatchPlan {
    fn kids(&self, run: u32) -> &[u32] {
        let (a, b) = (
            self.kid_start[run as usize] as usize,
            self.kid_start[run as usize + 1] as usize,
        );
        &self.kids[a..b]
    }
}

/// Finds the one-call-one-run pattern (see [`dispatch`]) and matches its runs to their
/// importers. It holds when a function (the wrapper) has a single callee edge, to a
/// dispatcher, with as many calls as the wrapper has; every caller of the wrapper is
/// run by that dispatcher; every callee of the dispatcher has it as its only caller
/// (a module body); and every other caller of the dispatcher is outside the
/// dispatcher's cycle (so its calls are the outermost runs). All edges must be timed.
fn dispatch_plan(
    profile: &Profile,
    slots: &Slots,
    facts: &[FunctionFacts],
) -> Option<DispatchPlan> {
    let n = profile.functions().len();
    let whole = |x: f64| x >= 1.0 && x.fract() == 0.0 && x < f64::from(u32::MAX);
    let only_caller = |f: FuncId, by: FuncId| match profile.callers_of(f) {
        [e] => e.caller == by,
        _ => false,
    };
    for w in 0..n as FuncId {
        let ws = slots.of(w);
        if ws.len() != 1 {
            continue;
        }
        let ws = &slots.slots[ws.start];
        let d = ws.callee;
        let df = &facts[d as usize];
        if d == w
            || !df.dispatcher
            || !ws.timed
            || ws.n.nc != facts[w as usize].nc
            || !whole(ws.n.nc)
        {
            continue;
        }
        // The dispatcher's callees: the modules.
        let mut col_of = vec![NO_RUN; n];
        let mut cols = Vec::new();
        let mut col_slot = Vec::new();
        let mut ok = true;
        for k in slots.of(d) {
            let s = &slots.slots[k];
            if s.callee == w
                || s.callee == d
                || !s.timed
                || !whole(s.n.nc)
                || !only_caller(s.callee, d)
            {
                ok = false;
                break;
            }
            col_of[s.callee as usize] = cols.len() as u32;
            col_slot.push(k);
            cols.push(dispatch::Module {
                runs: s.n.nc as u32,
                time: s.n.ct,
                importer: None,
            });
        }
        if !ok || cols.is_empty() {
            continue;
        }
        // The dispatcher's callers: the wrapper, and others outside its cycle (the root).
        let mut root_calls = df.nc;
        for e in profile.callers_of(d) {
            let en = super::edge_numbers(profile, e);
            if e.caller == d
                || !en.timed
                || (e.caller != w && facts[e.caller as usize].scc == df.scc)
            {
                ok = false;
                break;
            }
            if e.caller == w {
                root_calls -= en.nc;
            }
        }
        if !ok || !whole(root_calls) {
            continue;
        }
        let mut rows = vec![dispatch::Importer {
            calls: root_calls as u32,
            time: df.ct,
            module: None,
        }];
        let mut wrap_slot = vec![None; cols.len()];
        let mut wrapper_calls = 0.0;
        for e in profile.callers_of(w) {
            let c = col_of[e.caller as usize];
            let en = super::edge_numbers(profile, e);
            if c == NO_RUN || !en.timed || !whole(en.nc) {
                ok = false;
                break;
            }
            wrapper_calls += en.nc;
            cols[c as usize].importer = Some(rows.len() as u32);
            wrap_slot[c as usize] = slots.of(e.caller).find(|&k| slots.slots[k].callee == w);
            rows.push(dispatch::Importer {
                calls: en.nc as u32,
                time: en.ct,
                module: Some(c),
            });
        }
        if !ok || wrapper_calls != ws.n.nc {
            continue;
        }
        let runs = dispatch::solve(&rows, &cols)?;
        // Children of each run, widest first; import widths.
        let m = runs.module.len();
        let mut kid_start = vec![0u32; m + 1];
        for &p in &runs.parent[1..] {
            kid_start[p as usize + 1] += 1;
        }
        for i in 0..m {
            kid_start[i + 1] += kid_start[i];
        }
        let mut kids = vec![0u32; m - 1];
        let mut fill = kid_start.clone();
        for (r, &p) in runs.parent.iter().enumerate().skip(1) {
            kids[fill[p as usize] as usize] = r as u32;
            fill[p as usize] += 1;
        }
        for r in 0..m {
            let (a, b) = (kid_start[r] as usize, kid_start[r + 1] as usize);
            kids[a..b].sort_by(|&x, &y| {
                runs.width[y as usize]
                    .total_cmp(&runs.width[x as usize])
                    .then(x.cmp(&y))
            });
        }
        // A module's import time, shared between its runs as their imports' widths.
        let imported: Vec<f64> = (0..m)
            .map(|r| {
                kids[kid_start[r] as usize..kid_start[r + 1] as usize]
                    .iter()
                    .map(|&k| runs.width[k as usize])
                    .sum()
            })
            .collect();
        let mut per_module = vec![0.0; cols.len()];
        for r in 1..m {
            per_module[runs.module[r] as usize] += imported[r];
        }
        let import_width = (0..m)
            .map(|r| {
                if r == 0 {
                    return 0.0;
                }
                let c = runs.module[r] as usize;
                let Some(row) = cols[c].importer else {
                    return 0.0;
                };
                let time = rows[row as usize].time;
                if per_module[c] > 0.0 {
                    time * imported[r] / per_module[c]
                } else {
                    time / f64::from(cols[c].runs)
                }
            })
            .collect();
        return Some(DispatchPlan {
            wrapper: w,
            dispatcher: d,
            col_slot,
            wrap_slot,
            col_of,
            module: runs.module,
            kid_start,
            kids,
            width: runs.width,
            import_width,
        });
    }
    None
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
                exact_roots.push((id, ct, count_f64(f.stats.nc.max(0))));
            }
        } else {
            let covered: i128 = callers
                .iter()
                .map(|e| e.stats.calls().max(0))
                .fold(0, i128::saturating_add);
            let uncovered = f.stats.nc.saturating_sub(covered);
            if uncovered > 0 && ct > 0.0 {
                partial_roots.push((id, ct, count_f64(uncovered)));
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

    #[test]
    fn slots_list_each_caller_s_edges_as_the_profile_orders_them() {
        let graphs = crate::rng::call_graphs(0xc0ffee, 200, 12, |_| 40);
        for (case, (_, calls, mut next)) in graphs.enumerate() {
            let mut b = ProfileBuilder::new();
            for (from, to) in calls {
                let nc = 1 + (next() % 3) as i128;
                let ct = 1.0 + (next() % 7) as f64;
                edge(&mut b, &format!("f{from}"), &format!("f{to}"), nc, 0.5, ct);
            }
            let p = b.finish();
            let slots = Slots::new(&p);
            let scc = p.components();
            for f in 0..p.functions().len() as FuncId {
                let ids = p.callee_edge_ids(f);
                let range = slots.of(f);
                assert_eq!(range.len(), ids.len(), "case {case}");
                for (k, &id) in range.zip(ids) {
                    let (slot, e) = (&slots.slots[k], &p.edges()[id as usize]);
                    let n = edge_numbers(&p, e);
                    assert_eq!((slot.edge, slot.callee), (id, e.callee), "case {case}");
                    assert_eq!((slot.n.nc, slot.n.ct, slot.timed), (n.nc, n.ct, n.timed));
                    let cyclic = e.callee != f && scc[e.callee as usize] == scc[f as usize];
                    assert_eq!(slot.cyclic, cyclic, "case {case}");
                }
            }
        }
    }

    /// A profile from two tables: functions `(name, cc, nc, tt, ct)` and timed edges
    /// `(caller, callee, calls, tt, ct)` (all calls primitive).
    fn profile(
        functions: &[(&str, i128, i128, f64, f64)],
        edges: &[(&str, &str, i128, f64, f64)],
    ) -> Profile {
        let mut b = ProfileBuilder::new();
        for &(name, cc, nc, tt, ct) in functions {
            b.add_function(key(name), st(cc, nc, tt, ct));
        }
        for &(from, to, nc, tt, ct) in edges {
            edge(&mut b, from, to, nc, tt, ct);
        }
        b.finish()
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

    #[test]
    fn single_calls_move_from_atom_to_partial_to_spent() {
        // f calls g once (a single call, in f's cycle through g -> f) and h twice.
        let p = profile(
            &[
                ("f", 1, 2, 1.0, 10.0),
                ("g", 1, 1, 1.0, 4.0),
                ("h", 2, 2, 1.0, 2.0),
            ],
            &[
                ("f", "g", 1, 1.0, 4.0),
                ("f", "h", 2, 1.0, 2.0),
                ("g", "f", 1, 1.0, 3.0),
            ],
        );
        let slots = Slots::new(&p);
        let mut pool: Vec<f64> = slots.slots.iter().map(|s| s.n.ct).collect();
        let mut lists = Lists::new(&slots, &pool);
        let f = p.find(&key("f")).unwrap();
        let g_slot = slots
            .of(f)
            .find(|&k| p.function(slots.slots[k].callee).key.name.as_str() == "g")
            .unwrap();
        let h_slot = slots.of(f).find(|&k| k != g_slot).unwrap();
        assert_eq!(lists.atoms.of(f), [g_slot as u32]);
        assert_eq!(lists.multi.of(f), [h_slot as u32]);
        assert!(lists.partial[f as usize].is_empty());
        // Part of g's call spent: partial.
        pool[g_slot] -= 1.0;
        lists.spent(&slots, &pool, f, g_slot, 4.0);
        assert_eq!(lists.partial[f as usize], [g_slot as u32]);
        assert!(lists.spent_cyclic[f as usize].is_empty());
        // The rest spent: spent, and listed as a way back into f's cycle.
        pool[g_slot] -= 3.0;
        lists.spent(&slots, &pool, f, g_slot, 3.0);
        assert_eq!(lists.spent_cyclic[f as usize], [g_slot as u32]);
        // Calls of more than one call are never tracked.
        pool[h_slot] = 0.0;
        lists.spent(&slots, &pool, f, h_slot, 2.0);
        assert_eq!(lists.spent_cyclic[f as usize], [g_slot as u32]);
    }

    fn all_frames() -> TreeOptions {
        TreeOptions {
            threshold: 0.0,
            ..TreeOptions::default()
        }
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
        // more than the dispatcher. No run plan; the tree is drawn as before.
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
        let facts = function_facts(&p, &slots);
        assert!(dispatch_plan(&p, &slots, &facts).is_none());
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
