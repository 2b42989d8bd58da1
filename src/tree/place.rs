//! Child placement: which of a frame's callee edges become its children, and how wide.
//!
//! [`Placer::children`] decides for one frame at a time, widest frame first (the
//! expansion in [`super::flame`] calls it), and [`Placer::spend`] takes each child's
//! width out of its edge's pool. In order, a frame's children are:
//!
//! 1. under the dispatcher of a module-run plan ([`DispatchPlan`]), the runs the plan
//!    gives it, and nothing else;
//! 2. for the only context of its function, every edge whole;
//! 3. otherwise: the imports of a module run (as wide as the plan has them), the inner
//!    call of direct recursion, then *atoms* (single calls, placed whole where they fit,
//!    widest first), then the *divisible* edges, sharing what budget is left in passes
//!    ([`Pass`]).

use std::cell::{Cell, RefCell};

use super::arena::{Frame, TreeBuilder};
use super::dispatch::{DispatchPlan, NO_RUN};
use super::facts::FunctionFacts;
use super::nesting::{Imports, NearBody};
use super::slots::{Lists, Slot, Slots};
use crate::model::FuncId;

/// How far down a stack re-entry is counted, and a frame's nearest body looked for.
const LOOKBACK: usize = 512;

/// An atom clipped by less than this share of its `ct` still counts as exact: cProfile's
/// cumulative times run up to ~0.05 % past the sum of own times (its own overhead), so the
/// whole-profile frame is a little narrower than the `ct` of the call that spans it.
pub(super) const EXACT_TOLERANCE: f64 = 1e-3;

/// One child a frame will get.
pub(super) struct Child {
    /// Index into [`Slots::slots`].
    pub(super) edge: usize,
    pub(super) width: f64,
    pub(super) exact: bool,
    /// The module run this child stands for, or [`NO_RUN`].
    pub(super) run: u32,
}

impl Child {
    fn estimated(edge: usize, width: f64) -> Child {
        Child {
            edge,
            width,
            exact: false,
            run: NO_RUN,
        }
    }
}

/// What placement reads: the profile and the facts derived from it once.
#[derive(Clone, Copy)]
pub(super) struct Plan<'a> {
    pub(super) facts: &'a [FunctionFacts],
    pub(super) slots: &'a Slots,
    /// Bodies, the import cycle and its entries (see [`super::nesting`]).
    pub(super) imports: &'a Imports,
    /// The body that imported each body, rebuilt bottom-up (see [`super::nesting`]).
    pub(super) body_parent: &'a [Option<FuncId>],
    /// Module runs matched to importers, where each import is one run (see
    /// [`super::dispatch`]).
    pub(super) runs: Option<&'a DispatchPlan>,
}

/// The frame being expanded, with what the expansion keeps of it.
pub(super) struct Expanding {
    pub(super) frame: u32,
    /// The frame as built (a copy: the tree grows while its children are pushed).
    pub(super) parent: Frame,
    pub(super) func: FuncId,
    /// Its estimated own time.
    pub(super) own: f64,
    /// Direct recursion: the width of its inner call (0: none).
    pub(super) inner: f64,
    /// Its share of its function's time (at most 1).
    pub(super) share: f64,
    /// The only context of its function: every edge is taken whole.
    pub(super) whole: bool,
    /// The module run it stands for, or [`NO_RUN`].
    pub(super) run: u32,
    /// The module body nearest below it on its stack.
    pub(super) near_body: Option<NearBody>,
    /// The hook nearest below it on its stack.
    pub(super) near_hook: Option<NearBody>,
}

/// Child placement, with what it keeps from one frame to the next.
pub(super) struct Placer<'a> {
    plan: Plan<'a>,
    /// What each edge (slot) has left to give: its `ct`, less the widths of the
    /// children drawn from it.
    pool: Vec<f64>,
    lists: Lists,
    /// Per body: the time of the bodies it imported that are not drawn yet.
    demand: Vec<f64>,
    /// Root runs of the module-run plan already drawn.
    root_runs_drawn: usize,
    /// Reused by every frame (see [`Placer::divide`]).
    divisible: Vec<Divisible>,
    /// The stack of the frame being expanded, for the edges back into its cycle.
    ancestors: Ancestors,
    /// Per slot: its callee is a hook with a host, placed by [`Placer::nested_hooks`]
    /// only (read for every slot a frame walks: kept in slot order).
    hook_slot: Vec<bool>,
    /// Reused by every frame (see [`Placer::nested_hooks`]).
    hook_order: Vec<usize>,
}

/// An edge a frame's divisible time may go to.
struct Divisible {
    /// Index into [`Slots::slots`].
    slot: usize,
    cyclic: bool,
    /// What the edge would give this context: its `ct` in proportion, within its pool.
    want: f64,
    /// What it gets.
    width: f64,
}

/// The bodies a frame runs under, each with whether its path from that body starts
/// with a step back into the machinery: the nearest module body (`importer`) and the
/// nearest hook (`hook`).
#[derive(Clone, Copy)]
struct Hosts {
    importer: Option<(FuncId, bool)>,
    hook: Option<(FuncId, bool)>,
}

/// What a frame's children may still take: `budget` is what the frame does not spend
/// itself and no child took yet; `placed` is the sum of the children's widths so far.
struct Room {
    budget: f64,
    placed: f64,
}

/// The passes that share a frame's divisible time (see [`Placer::divide`]).
#[derive(Clone, Copy)]
enum Pass {
    CyclePools,
    Others,
    CycleFill,
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
        stack: &Ancestors,
        frame: u32,
        func: FuncId,
        pool: &[f64],
        i: usize,
    ) -> bool {
        let Slot {
            callee,
            cyclic,
            once_per_stack,
            ..
        } = self.slots.slots[i];
        if callee == func {
            return false;
        }
        // A callee outside this function's cycle cannot be one of its ancestors:
        // skip the ancestor walk (it costs up to LOOKBACK steps on deep stacks).
        (pool[i] > 0.0 || cyclic)
            && (!cyclic
                || !tree.may_be_on_stack(frame, callee)
                || stack.allows(
                    tree,
                    frame,
                    func,
                    callee,
                    once_per_stack,
                    &self.facts[callee as usize],
                ))
    }

    /// An edge that is still one whole single call: placed as an atom.
    fn is_atom(&self, pool: &[f64], i: usize) -> bool {
        let n = &self.slots.slots[i].n;
        n.nc == 1.0 && pool[i] == n.ct && n.ct > 0.0
    }
}

/// The functions on the stack of the frame being expanded, counted once per frame (its
/// expansion asks about every edge back into its cycle): a count per function, valid
/// where its stamp is the frame's.
pub(super) struct Ancestors {
    /// The frame they were counted for (`u32::MAX`: none yet).
    frame: Cell<u32>,
    count: RefCell<Vec<u16>>,
    stamp: RefCell<Vec<u32>>,
}

impl Ancestors {
    fn new(functions: usize) -> Ancestors {
        Ancestors {
            frame: Cell::new(u32::MAX),
            count: RefCell::new(vec![0; functions]),
            stamp: RefCell::new(vec![u32::MAX; functions]),
        }
    }

    /// Whether `func`'s frame may call `callee` back in their cycle: re-entry is allowed
    /// a bounded number of times per stack ([`FunctionFacts::max_on_stack`]: never for
    /// a function whose calls were all primitive), and a call whose calls were all
    /// primitive (`once_per_stack`) stands on a stack once.
    fn allows(
        &self,
        tree: &TreeBuilder,
        frame: u32,
        func: FuncId,
        callee: FuncId,
        once_per_stack: bool,
        fact: &FunctionFacts,
    ) -> bool {
        if fact.max_on_stack <= 1 {
            // Never inside itself: the one walk of this frame's stack answers.
            return self.count(tree, frame, callee) == 0;
        }
        // Deep re-entry is rare: the tree's own counts answer most of these at once.
        if tree.ancestor_count_reaches(frame, callee, LOOKBACK, fact.max_on_stack) {
            return false;
        }
        !(once_per_stack && tree.call_on_stack(frame, func, callee, LOOKBACK))
    }

    /// How often `func` stands on `frame`'s stack (within [`LOOKBACK`] frames), from
    /// one walk of the stack per frame.
    fn count(&self, tree: &TreeBuilder, frame: u32, func: FuncId) -> u16 {
        if self.frame.get() != frame {
            let (mut count, mut stamp) = (self.count.borrow_mut(), self.stamp.borrow_mut());
            tree.walk_stack(frame, LOOKBACK, |_, f| {
                let f = f as usize;
                if stamp[f] != frame {
                    stamp[f] = frame;
                    count[f] = 0;
                }
                count[f] = count[f].saturating_add(1);
            });
            self.frame.set(frame);
        }
        let f = func as usize;
        if self.stamp.borrow()[f] == frame {
            self.count.borrow()[f]
        } else {
            0
        }
    }
}

impl<'a> Placer<'a> {
    /// Every pool full; `demand` from the bodies `plan.body_parent` nests.
    pub(super) fn new(plan: Plan<'a>) -> Placer<'a> {
        let pool: Vec<f64> = plan.slots.slots.iter().map(|s| s.n.ct).collect();
        let lists = Lists::new(plan.slots, &pool);
        let bodies = &plan.imports.bodies;
        let mut demand = vec![0.0; bodies.len()];
        for (body, parent) in plan.body_parent.iter().enumerate() {
            if let (Some(p), Some(ct)) = (parent, bodies[body].body_ct) {
                demand[*p as usize] += ct;
            }
        }
        Placer {
            plan,
            pool,
            lists,
            demand,
            root_runs_drawn: 0,
            divisible: Vec::new(),
            ancestors: Ancestors::new(plan.facts.len()),
            hook_slot: (plan.slots.slots.iter())
                .map(|slot| plan.imports.nested_hook(slot.callee, plan.body_parent))
                .collect(),
            hook_order: Vec::new(),
        }
    }

    /// Takes a child of a frame of `func` out of its edge's pool.
    pub(super) fn spend(&mut self, func: FuncId, c: &Child) {
        let before = self.pool[c.edge];
        self.pool[c.edge] -= c.width;
        self.lists
            .spent(self.plan.slots, &self.pool, func, c.edge, before);
    }

    /// Decides the children of one frame: which edges, how wide.
    pub(super) fn children(&mut self, tree: &TreeBuilder, at: &Expanding, out: &mut Vec<Child>) {
        let func = at.func;
        // The wrapper slot of a module run, placed as the plan says (below).
        let mut wrapper_slot = None;
        if let Some(dp) = self.plan.runs {
            if func == dp.dispatcher {
                self.runs(dp, at, out);
                return;
            }
            if at.run != NO_RUN && func == dp.wrapper {
                let width = (at.parent.total - at.own).max(0.0);
                out.extend(self.plan.slots.of(func).map(|i| Child::estimated(i, width)));
                return;
            }
            let col = dp.col_of[func as usize];
            if at.run != NO_RUN && col != NO_RUN {
                wrapper_slot =
                    dp.wrap_slot[col as usize].map(|i| (i, dp.import_width[at.run as usize]));
            }
        }
        if at.whole {
            self.whole(tree, at, out);
            return;
        }
        let mut room = Room {
            budget: (at.parent.total - at.own).max(0.0),
            placed: 0.0,
        };
        // A module run's imports: as wide as the plan has them, within the budget.
        if let Some((i, width)) = wrapper_slot {
            let width = width.min(room.budget);
            if width > 0.0 {
                out.push(Child::estimated(i, width));
                room.placed += width;
                room.budget -= width;
            }
        }
        // Direct recursion (see `facts::inner_width`): the inner call takes its share first.
        if let Some(e) = self.plan.facts[func as usize].self_edge
            && at.inner > 0.0
        {
            let width = at.inner.min(at.parent.total);
            out.push(Child::estimated(e, width));
            room.placed += width;
            room.budget = (room.budget - width).max(0.0);
        }
        // The module body and the hook this frame runs under, if any within LOOKBACK
        // frames down its stack, and whether the path from each up to this frame starts
        // with a step back into the machinery (an import, a hook call).
        let near = |b: Option<NearBody>| {
            b.filter(|b| at.parent.depth - b.depth < LOOKBACK as u32)
                .map(|b| (b.body, b.importing))
        };
        let hosts = Hosts {
            importer: near(at.near_body),
            hook: near(at.near_hook),
        };
        let skip = wrapper_slot.map(|(i, _)| i);
        self.nested_hooks(tree, at, hosts.hook, &mut room, out);
        self.atoms(tree, at, hosts, skip, &mut room, out);
        self.divide(tree, at, hosts, skip, room.budget, out);
        debug_assert!(out.iter().map(|c| c.width).sum::<f64>() <= at.parent.total * (1.0 + 1e-9));
    }

    /// The children of a frame of the dispatcher under a module-run plan: the imports
    /// of the run above it, or (outside the cycle) the root runs not drawn yet, one per
    /// call.
    fn runs(&mut self, dp: &DispatchPlan, at: &Expanding, out: &mut Vec<Child>) {
        let slots = &self.plan.slots.slots;
        let list = if at.run != NO_RUN {
            dp.kids(at.run)
        } else {
            let all = dp.kids(0);
            let from = self.root_runs_drawn.min(all.len());
            let take = (at.parent.calls.round().max(1.0) as usize).min(all.len() - from);
            self.root_runs_drawn = from + take;
            &all[from..from + take]
        };
        // Runs of a module run once have their exact width; the others (means)
        // shrink first when the runs do not fit.
        let avail = (at.parent.total - at.own).max(0.0);
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
    }

    /// The only context of its function: every edge is taken whole.
    fn whole(&self, tree: &TreeBuilder, at: &Expanding, out: &mut Vec<Child>) {
        let (plan, pool, slots) = (&self.plan, &self.pool, &self.plan.slots.slots);
        let mut sum = 0.0;
        for i in plan.slots.of(at.func) {
            if !plan.is_candidate(tree, &self.ancestors, at.frame, at.func, pool, i) {
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
        if sum > at.parent.total && sum > 0.0 {
            let scale = at.parent.total / sum;
            for c in out.iter_mut() {
                c.width *= scale;
                c.exact = false;
            }
        }
    }

    /// Hooks of more than one call whose host is the body this frame runs under: each
    /// takes what is left of its time, whole if there is room (its `ct` is exact),
    /// since it is drawn under that host only. Hooks of a single call are atoms.
    fn nested_hooks(
        &mut self,
        tree: &TreeBuilder,
        at: &Expanding,
        near_hook: Option<(FuncId, bool)>,
        room: &mut Room,
        out: &mut Vec<Child>,
    ) {
        let Some((host, _)) = near_hook else {
            return;
        };
        if self.demand[host as usize] <= 0.0 || !self.plan.imports.runs_hooks(at.func) {
            return;
        }
        let (plan, slots, func) = (&self.plan, &self.plan.slots.slots, at.func);
        // Widest first, as atoms: where the frame cannot hold all of its host's hooks,
        // the small ones (which may belong on another path from the host) give way.
        let mut order = std::mem::take(&mut self.hook_order);
        order.clear();
        order.extend(plan.slots.of(func).filter(|&i| {
            let Slot { callee, n, .. } = &slots[i];
            let left = self.pool[i];
            n.nc > 1.0
                && plan.body_parent[*callee as usize] == Some(host)
                && left > 0.0
                && plan.is_candidate(tree, &self.ancestors, at.frame, func, &self.pool, i)
        }));
        order.sort_by(|&a, &b| self.pool[b].total_cmp(&self.pool[a]).then(a.cmp(&b)));
        for &i in &order {
            let Slot { n, timed, .. } = &slots[i];
            let left = self.pool[i];
            let width = left.min((at.parent.total - room.placed).max(0.0));
            if width <= 0.0 {
                break;
            }
            out.push(Child {
                edge: i,
                width,
                exact: *timed && left == n.ct && n.ct - width <= n.ct * EXACT_TOLERANCE,
                run: NO_RUN,
            });
            room.placed += width;
            room.budget = (room.budget - width).max(0.0);
            self.demand[host as usize] -= width;
        }
        self.hook_order = order;
    }

    /// Atoms, widest first: indivisible single calls placed whole where they fit.
    fn atoms(
        &mut self,
        tree: &TreeBuilder,
        at: &Expanding,
        hosts: Hosts,
        skip: Option<usize>,
        room: &mut Room,
        out: &mut Vec<Child>,
    ) {
        let Placer {
            plan,
            pool,
            lists,
            demand,
            ancestors,
            ..
        } = self;
        let (slots, func, parent) = (&plan.slots.slots, at.func, &at.parent);
        let mut call_limit = if plan.facts[func as usize].dispatcher {
            parent.calls.round().max(1.0)
        } else {
            f64::INFINITY
        };
        let slack = 0.02 * parent.total;
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
            if room.budget <= 0.0 {
                break;
            }
            let ct = slots[i].n.ct;
            // A body whose importer is known goes under that importer only, whole if
            // there is room, whatever the call estimate; others are placed by fit.
            let nested = match plan.body_parent[slots[i].callee as usize] {
                Some(p) => {
                    let near = if plan.imports.bodies[slots[i].callee as usize].hook {
                        hosts.hook
                    } else {
                        hosts.importer
                    };
                    if near.map(|h| h.0) != Some(p) {
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
            // context of the function either, so it goes here, as wide as the budget
            // allows. In a module run of the one-call-one-run pattern, a single call is
            // placed whatever the room (the run's frame is the only one it can go to).
            if (nested || at.run != NO_RUN || ct <= room.budget + slack || ct > parent.total)
                && plan.is_candidate(tree, ancestors, at.frame, func, pool, i)
            {
                // A single call's width is its `ct`, straight from the data, wherever the
                // call is placed: it may eat into the estimated own time, not past the frame.
                let width = ct.min((parent.total - room.placed).max(0.0));
                // Its place is from the data too, unless the function calls itself: the
                // call may have come from any level of that recursion, not this one.
                let placed_by_data = nested || !plan.facts[func as usize].calls_itself;
                out.push(Child {
                    edge: i,
                    width,
                    exact: placed_by_data && slots[i].timed && ct - width <= ct * EXACT_TOLERANCE,
                    run: NO_RUN,
                });
                room.placed += width;
                room.budget = (room.budget - width).max(0.0);
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
    }

    /// Divisible edges, in three passes over one width per edge ([`Pass`]):
    /// 1. edges back into a cycle take what their pools still hold (cProfile counts
    ///    their `ct` at the outermost entry of the cycle, so the first, widest contexts
    ///    are the ones that ran it);
    /// 2. the other edges share what is left, in proportion to what each would give
    ///    this context, bounded by their pools;
    /// 3. time still unexplained goes back into the cycle (re-entry deeper down, where
    ///    the pools, counted at the outermost entry only, have nothing left).
    fn divide(
        &mut self,
        tree: &TreeBuilder,
        at: &Expanding,
        hosts: Hosts,
        skip: Option<usize>,
        mut budget: f64,
        out: &mut Vec<Child>,
    ) {
        let idle_cycle_edge = self.collect_divisible(tree, at, skip);
        let has_cycle = idle_cycle_edge
            || self.divisible.iter().any(|d| d.cyclic)
            || self.spent_cycle_edge(tree, at, skip);
        // What a hook's carry may take: the frame less the children placed so far.
        // Like a single call, the nested hooks' time is from the data (every call of a
        // hook is one of its host's), so it may eat into the estimated own time. Module
        // imports keep to the budget: there the machinery's own time is part of what
        // the bodies' import time measured.
        let unplaced = at.parent.total - out.iter().map(|c| c.width).sum::<f64>();
        let before = budget;
        if !self.carry_imports(at, hosts.importer, has_cycle, before, &mut budget) {
            self.carry_imports(at, hosts.hook, has_cycle, unplaced, &mut budget);
        }
        let slots = &self.plan.slots.slots;
        for pass in [Pass::CyclePools, Pass::Others, Pass::CycleFill] {
            if budget <= 0.0 {
                break;
            }
            let weight = |d: &Divisible| match pass {
                Pass::CyclePools if d.cyclic => d.want,
                Pass::Others if !d.cyclic => d.want,
                // A single call is placed once (as an atom), never again; a call that
                // never ran inside itself has its whole time in its pool already.
                Pass::CycleFill
                    if d.cyclic && slots[d.slot].n.nc > 1.0 && !slots[d.slot].once_per_stack =>
                {
                    slots[d.slot].n.ct * at.share
                }
                _ => 0.0,
            };
            let asked: f64 = self.divisible.iter().map(weight).sum();
            if asked <= 0.0 {
                continue;
            }
            // Passes bounded by pools never grow past them; the last pass, and the
            // others when nothing can come after, fill the budget.
            let fills =
                matches!(pass, Pass::CycleFill) || (matches!(pass, Pass::Others) && !has_cycle);
            let available = budget;
            let fraction = (available / asked).min(1.0);
            for d in self.divisible.iter_mut() {
                // Share of the budget first: stays finite when the weights are denormal.
                let mut width = if fills {
                    available * (weight(d) / asked)
                } else {
                    weight(d) * fraction
                };
                if !matches!(pass, Pass::CycleFill) {
                    width = width.min(self.pool[d.slot].max(0.0) - d.width).max(0.0);
                }
                // Beyond pools, one bound still holds: no frame of a function is wider
                // than all of its outermost calls (its `ct`).
                let callee = self.plan.slots.slots[d.slot].callee;
                width = width
                    .min(self.plan.facts[callee as usize].ct - d.width)
                    .max(0.0);
                d.width += width;
                budget -= width;
            }
            budget = budget.max(0.0);
        }
        for d in self.divisible.iter() {
            if d.width > 0.0 {
                out.push(Child::estimated(d.slot, d.width));
            }
        }
    }

    /// Lists in `self.divisible` the edges that can give this frame something: atoms
    /// were placed already and spent single calls give nothing, so these are the slots
    /// of more than one call and the partial single calls, in slot order. Whether an
    /// edge left out (an empty pool, and no re-entry to fill) goes back into the cycle:
    /// it matters only in telling whether a cycle pass comes last.
    fn collect_divisible(
        &mut self,
        tree: &TreeBuilder,
        at: &Expanding,
        skip: Option<usize>,
    ) -> bool {
        let Placer {
            plan,
            pool,
            lists,
            divisible,
            ancestors,
            hook_slot,
            ..
        } = self;
        let (slots, func) = (&plan.slots.slots, at.func);
        let mut idle_cycle_edge = false;
        divisible.clear();
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
            if skip == Some(i) || hook_slot[i] {
                continue;
            }
            let Slot { n, cyclic, .. } = &slots[i];
            let idle = pool[i] <= 0.0 && !(n.nc > 1.0 && n.ct * at.share > 0.0);
            if idle {
                idle_cycle_edge = idle_cycle_edge
                    || (*cyclic && plan.is_candidate(tree, ancestors, at.frame, func, pool, i));
            } else if plan.is_candidate(tree, ancestors, at.frame, func, pool, i) {
                divisible.push(Divisible {
                    slot: i,
                    cyclic: *cyclic,
                    want: (n.ct * at.share).min(pool[i].max(0.0)),
                    width: 0.0,
                });
            }
        }
        idle_cycle_edge
    }

    /// Whether one of the spent single calls left out of the divisible edges goes back
    /// into the cycle.
    fn spent_cycle_edge(&self, tree: &TreeBuilder, at: &Expanding, skip: Option<usize>) -> bool {
        let (plan, pool) = (&self.plan, &self.pool);
        self.lists.spent_cyclic[at.func as usize].iter().any(|&i| {
            let i = i as usize;
            skip != Some(i)
                && pool[i] <= 0.0
                && plan.is_candidate(tree, &self.ancestors, at.frame, at.func, pool, i)
        })
    }

    /// Bodies imported by the body above (or hooks run by the hook above), still to
    /// draw, are reached through the cycle: the widest edge back into it carries their
    /// time down to the dispatcher (otherwise each level of machinery would shrink them
    /// by its share). Returns whether it did.
    fn carry_imports(
        &mut self,
        at: &Expanding,
        importer: Option<(FuncId, bool)>,
        has_cycle: bool,
        unplaced: f64,
        budget: &mut f64,
    ) -> bool {
        let (slots, divisible) = (&self.plan.slots.slots, &mut self.divisible);
        let scc = self.plan.facts[at.func as usize].scc;
        if has_cycle
            && unplaced > 0.0
            && self.plan.imports.cycle[scc as usize]
            && let Some((p, true)) = importer
            && self.demand[p as usize] > 0.0
            && let Some(k) = (0..divisible.len())
                .filter(|&k| divisible[k].cyclic)
                .max_by(|&a, &b| {
                    let ct = |k: usize| slots[divisible[k].slot].n.ct;
                    ct(a).total_cmp(&ct(b)).then(b.cmp(&a))
                })
        {
            let callee = slots[divisible[k].slot].callee;
            let width = (self.demand[p as usize].min(unplaced))
                .min(self.plan.facts[callee as usize].ct)
                .max(0.0);
            divisible[k].width = width;
            *budget = (*budget - width).max(0.0);
            return true;
        }
        false
    }
}
