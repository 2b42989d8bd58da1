//! Import and hook nesting, rebuilt bottom-up from exact times.
//!
//! A module body runs once (`builtins.exec` calls it a single time), so its whole
//! cumulative time is known exactly: it is a *body*. A body that imports other modules
//! spends, in the edges leading back into the import machinery (the call-graph cycle
//! through `exec`), the time of the bodies it imports plus the machinery's overhead.
//! Nested imports are nearly as wide as their importer, so placing bodies top-down
//! (widest context first) puts them too high; matching sums bottom-up does not.
//!
//! [`assign_parents`] gives every body the body that imported it: bodies are taken
//! widest first, and each goes to the body, already placed, whose import time still
//! unexplained is the smallest that holds it (best fit). A body wider than every
//! remaining import budget has no body parent (it was run by a function, or by the
//! interpreter); the flame estimator then places it where it fits.
//!
//! Hooks are bodies too: the implementations a hook dispatcher (pluggy's `_multicall`)
//! calls, which only it calls and which never run inside themselves, so that each
//! one's `ct` is exact however many calls it has. A hook calling further hooks spends
//! their time back in the dispatcher's cycle; hooks nest in hooks the same way, by best
//! fit (a test's `pytest_pyfunc_call` under `pytest_runtest_call`, under
//! `pytest_runtest_protocol`, under `pytest_runtestloop`), instead of being shared out
//! over every call of the dispatcher in slivers.
//!
//! [`find`] reads the bodies, the import cycle and its entries off the profile;
//! [`Imports::near_body`] tells, as frames are pushed, which body a frame runs under and
//! whether its path from that body starts with an import, which is what child
//! placement needs to put a body under its importer.

use std::collections::BTreeSet;

use super::edge_numbers;
use super::facts::FunctionFacts;
use super::slots::Slots;
use crate::model::{FuncId, Profile, count_f64};

/// What the matching knows of one function.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BodyFacts {
    /// `Some(ct)` when the function is a body: run by a single call of a dispatcher,
    /// with `ct` its exact cumulative time.
    pub body_ct: Option<f64>,
    /// Time spent in edges back into the function's call cycle (its imports).
    pub import_time: f64,
    /// Run by a hook dispatcher (see [`find`]) rather than by `exec`: its nested
    /// bodies are reached through any step back into the dispatcher's cycle.
    pub hook: bool,
    /// A hook's calls: a hook called as often as a host is matched to that host first.
    pub calls: f64,
}

/// The body each body was imported by, if any (indexed by function id).
pub(crate) fn assign_parents(facts: &[BodyFacts]) -> Vec<Option<FuncId>> {
    let mut parent = vec![None; facts.len()];
    let mut bodies: Vec<(FuncId, f64)> = facts
        .iter()
        .enumerate()
        .filter_map(|(id, f)| f.body_ct.map(|ct| (id as FuncId, ct)))
        .filter(|&(_, ct)| ct > 0.0 && ct.is_finite())
        .collect();
    // Widest first; ties by id, so the result does not depend on anything else.
    bodies.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    // Import time still unexplained, per placed body: (remaining as ordered bits, id).
    // Module bodies nest in module bodies, hooks in hooks: a hook's time back in its
    // cycle is not a module's import time, and the two would take each other's room.
    let mut open_by_kind: [BTreeSet<(u64, FuncId)>; 2] = [BTreeSet::new(), BTreeSet::new()];
    // Hooks' room again, by calls: (calls as ordered bits, remaining, id). A hook run
    // once per call of its host (per test, per request) is called as often as it:
    // among the hosts with room, those are matched first. Sums alone cannot tell a
    // test's `pytest_runtest_call` under `pytest_runtest_protocol` (as many calls) from
    // under `pytest_fixture_setup` (a fixture's few), when both have room for it.
    let mut hooks_by_calls: BTreeSet<(u64, u64, FuncId)> = BTreeSet::new();
    let mut remaining = vec![0.0f64; facts.len()];
    for (body, ct) in bodies {
        let fact = &facts[body as usize];
        let open = &mut open_by_kind[usize::from(fact.hook)];
        let calls = fact.calls.to_bits();
        // Best fit: the smallest remaining budget that holds this body (for a hook,
        // among its hosts with as many calls first).
        let same_calls = if fact.hook {
            hooks_by_calls
                .range((calls, ct.to_bits(), 0)..=(calls, u64::MAX, FuncId::MAX))
                .next()
                .map(|&(_, bits, p)| (bits, p))
        } else {
            None
        };
        let host = same_calls.or_else(|| open.range((ct.to_bits(), 0)..).next().copied());
        if let Some((bits, p)) = host {
            open.remove(&(bits, p));
            parent[body as usize] = Some(p);
            let left = remaining[p as usize] - ct;
            remaining[p as usize] = left;
            if fact.hook {
                let host_calls = facts[p as usize].calls.to_bits();
                hooks_by_calls.remove(&(host_calls, bits, p));
                if left > 0.0 {
                    hooks_by_calls.insert((host_calls, left.to_bits(), p));
                }
            }
            if left > 0.0 {
                open.insert((left.to_bits(), p));
            }
        }
        let budget = fact.import_time;
        if budget > 0.0 && budget.is_finite() {
            remaining[body as usize] = budget;
            open.insert((budget.to_bits(), body));
            if fact.hook {
                hooks_by_calls.insert((calls, budget.to_bits(), body));
            }
        }
    }
    parent
}

/// What the import nesting needs to know of the profile.
pub(super) struct Imports {
    /// Single-call bodies and their import times: the input of
    /// [`nesting::assign_parents`].
    pub(super) bodies: Vec<BodyFacts>,
    /// Per strongly connected component: whether it runs bodies (the import cycle).
    pub(super) cycle: Vec<bool>,
    /// Per function: an entry into the import machinery (in the import cycle and
    /// called by two bodies or more: `_find_and_load`, `_handle_fromlist`), as
    /// opposed to a function a single body calls (`main()`).
    entry: Vec<bool>,
    /// Per strongly connected component: it holds a hook dispatcher.
    hook_cycle: Vec<bool>,
    /// Per function: its strongly connected component.
    scc: Vec<u32>,
}

/// A hook dispatcher has at least this many exact callees...
const MIN_HOOKS: usize = 3;
/// ...whose times add up to at least this multiple of its own: they nest.
const NESTED_HOOK_TIME: f64 = 1.5;

/// The body nearest below a frame on its stack, the frame itself included.
#[derive(Clone, Copy)]
pub(super) struct NearBody {
    pub(super) body: FuncId,
    /// Depth of the body's frame.
    pub(super) depth: u32,
    /// Whether the path from the body up to the frame starts with an import: the
    /// frame just above the body is an entry into the import machinery.
    pub(super) importing: bool,
}

impl Imports {
    /// Whether frames of `func` may run hooks: it is in a cycle that holds a hook
    /// dispatcher.
    pub(super) fn runs_hooks(&self, func: FuncId) -> bool {
        self.hook_cycle[self.scc[func as usize] as usize]
    }

    /// Whether `func` is a hook with a host: drawn only under that host, by
    /// [`Placer`](super::place::Placer)'s nested pass, never shared out as divisible time.
    pub(super) fn nested_hook(&self, func: FuncId, body_parent: &[Option<FuncId>]) -> bool {
        self.bodies[func as usize].hook && body_parent[func as usize].is_some()
    }

    /// The nearest module body of a new frame of `func` at `depth`, pushed on a frame
    /// whose nearest module body is `below`: derived from the parent's, so no frame
    /// walks its stack. The path from a body starts with an import when its first step
    /// is an entry into the import machinery.
    pub(super) fn near_body(
        &self,
        below: Option<NearBody>,
        func: FuncId,
        depth: u32,
    ) -> Option<NearBody> {
        let b = &self.bodies[func as usize];
        nearest(below, func, depth, b.body_ct.is_some() && !b.hook, |_| {
            self.entry[func as usize]
        })
    }

    /// The nearest hook of a new frame, as [`Imports::near_body`] for module bodies: a
    /// separate track, so that a hook run inside a module body (or a module imported
    /// inside a hook) leaves the other's nesting alone. The first step from a hook back
    /// into its dispatcher's cycle is the way to the hooks it runs.
    pub(super) fn near_hook(
        &self,
        below: Option<NearBody>,
        func: FuncId,
        depth: u32,
    ) -> Option<NearBody> {
        let b = &self.bodies[func as usize];
        nearest(below, func, depth, b.hook && b.body_ct.is_some(), |host| {
            let to = self.scc[func as usize];
            self.hook_cycle[to as usize] && to == self.scc[host as usize]
        })
    }
}

/// The nearest body (of one track) of a new frame of `func` at `depth` on a frame whose
/// nearest is `below`: the frame itself when it `is_body`; otherwise the parent's, with
/// `first_step(body)` telling, for the frame right above the body, whether the path
/// from the body starts with a step back into the machinery.
fn nearest(
    below: Option<NearBody>,
    func: FuncId,
    depth: u32,
    is_body: bool,
    first_step: impl FnOnce(FuncId) -> bool,
) -> Option<NearBody> {
    if is_body {
        return Some(NearBody {
            body: func,
            depth,
            importing: false,
        });
    }
    match below {
        Some(b) if b.depth + 1 == depth => Some(NearBody {
            importing: first_step(b.body),
            ..b
        }),
        _ => below,
    }
}

/// Finds the bodies (functions whose only caller is a dispatcher, calling them once),
/// the import cycle and its entries, and the time each body spends in those entries.
pub(super) fn find(profile: &Profile, slots: &Slots, facts: &[FunctionFacts]) -> Imports {
    let n = profile.functions().len();
    let mut bodies: Vec<BodyFacts> = (0..n)
        .map(|id| {
            let body_ct = match profile.callers_of(id as FuncId) {
                [e] if e.caller != id as FuncId && facts[e.caller as usize].dispatcher => {
                    let n = edge_numbers(profile, e);
                    (n.nc == 1.0 && n.ct > 0.0).then_some(n.ct)
                }
                _ => None,
            };
            BodyFacts {
                body_ct,
                import_time: 0.0,
                hook: false,
                calls: 0.0,
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
    let hook_cycle = hook_bodies(profile, slots, facts, &mut bodies);
    for (c, &hook) in cycle.iter_mut().zip(&hook_cycle) {
        *c |= hook;
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
    let mut seen = vec![FuncId::MAX; n];
    for (id, body) in bodies.iter_mut().enumerate() {
        if body.hook {
            body.import_time = hook_room(profile, slots, facts, id as FuncId, &mut seen);
        } else if body.body_ct.is_some() {
            body.import_time = slots
                .of(id as FuncId)
                .filter(|&k| entry[slots.slots[k].callee as usize])
                .map(|k| slots.slots[k].n.ct)
                .sum();
        }
    }
    let scc = facts.iter().map(|f| f.scc).collect();
    Imports {
        bodies,
        cycle,
        entry,
        hook_cycle,
        scc,
    }
}

/// The time a hook may spend in the hooks it runs: what it hands, back in its cycle, to
/// functions others call too. Functions only it calls (down single-caller chains:
/// `pytest_runtest_protocol` → `runtestprotocol` → `call_and_report`) are looked into
/// instead, and what they hand outside the cycle cannot run hooks: a fixture's own
/// work under `pytest_fixture_setup` is not room for other hooks.
/// `seen` (one entry per function, any content) marks what this hook's walk reached:
/// a file may hold single-caller loops no program makes.
fn hook_room(
    profile: &Profile,
    slots: &Slots,
    facts: &[FunctionFacts],
    hook: FuncId,
    seen: &mut [FuncId],
) -> f64 {
    let scc = facts[hook as usize].scc;
    let mut room = 0.0;
    let mut todo = vec![hook];
    seen[hook as usize] = hook;
    while let Some(f) = todo.pop() {
        for k in slots.of(f) {
            let callee = slots.slots[k].callee;
            if callee == f || facts[callee as usize].scc != scc {
                continue;
            }
            let stats = &profile.function(callee).stats;
            // Single caller and never inside itself: all of its time is this hook's.
            if profile.callers_of(callee).len() == 1 && { stats.cc } == { stats.nc } {
                if seen[callee as usize] != hook {
                    seen[callee as usize] = hook;
                    todo.push(callee);
                }
            } else {
                room += slots.slots[k].n.ct;
            }
        }
    }
    room
}

/// A hook dispatcher calls the implementations of hooks (pluggy's `_multicall`): many
/// callees that only it calls and that never run inside themselves, so each one's `ct`
/// is exact, and that nest inside each other through the dispatcher's cycle (a hook
/// calls another hook), which shows as their times adding up to well over the
/// dispatcher's own. Those callees become bodies (however many calls they have), to be
/// nested bottom-up like module bodies. Returns, per strongly connected component,
/// whether it holds a hook dispatcher.
fn hook_bodies(
    profile: &Profile,
    slots: &Slots,
    facts: &[FunctionFacts],
    bodies: &mut [BodyFacts],
) -> Vec<bool> {
    let n = facts.len();
    let mut size = vec![0u32; n];
    for f in facts {
        size[f.scc as usize] += 1;
    }
    let mut hook_cycle = vec![false; n];
    let mut hooks: Vec<FuncId> = Vec::new();
    for (d, fd) in facts.iter().enumerate() {
        if size[fd.scc as usize] < 2 || fd.dispatcher || fd.ct.is_nan() || fd.ct <= 0.0 {
            continue;
        }
        hooks.clear();
        let mut sum = 0.0;
        for k in slots.of(d as FuncId) {
            let slot = &slots.slots[k];
            let h = slot.callee;
            let stats = &profile.function(h).stats;
            // Module bodies are run by `exec` and nested as imports.
            let exact_callee = h != d as FuncId
                && profile.function(h).key.name.as_str() != "<module>"
                && bodies[h as usize].body_ct.is_none()
                && slot.timed
                && slot.n.ct > 0.0
                && { stats.cc } == { stats.nc }
                && count_f64({ stats.nc }.max(0)) == slot.n.nc
                && profile.callers_of(h).len() == 1;
            if exact_callee {
                hooks.push(h);
                sum += slot.n.ct;
            }
        }
        if hooks.len() >= MIN_HOOKS && sum >= NESTED_HOOK_TIME * fd.ct {
            hook_cycle[fd.scc as usize] = true;

            for &h in &hooks {
                let b = &mut bodies[h as usize];
                b.body_ct = Some(facts[h as usize].ct);
                b.hook = true;
                b.calls = facts[h as usize].nc;
            }
        }
    }
    hook_cycle
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(ct: f64, import_time: f64) -> BodyFacts {
        BodyFacts {
            body_ct: Some(ct),
            import_time,
            hook: false,
            calls: 0.0,
        }
    }

    #[test]
    fn a_chain_of_imports_nests_each_body_in_the_tightest_importer() {
        // main imports a and d, a imports b, b imports c. Each import budget is the
        // imported bodies plus a little machinery time.
        let facts = [
            body(10.0, 9.6), // 0 main
            body(9.0, 8.6),  // 1 a
            body(8.5, 1.05), // 2 b
            body(1.0, 0.0),  // 3 c
            body(0.5, 0.0),  // 4 d
            BodyFacts::default(),
        ];
        let p = assign_parents(&facts);
        assert_eq!(p[0], None);
        assert_eq!(p[1], Some(0));
        assert_eq!(p[2], Some(1));
        assert_eq!(p[3], Some(2));
        // Left after the chain: main 0.6, a 0.1, b 0.05: only main holds d.
        assert_eq!(p[4], Some(0));
        assert_eq!(p[5], None);
    }

    fn hook(ct: f64, room: f64, calls: f64) -> BodyFacts {
        BodyFacts {
            body_ct: Some(ct),
            import_time: room,
            hook: true,
            calls,
        }
    }

    #[test]
    fn a_hook_goes_first_to_a_host_called_as_often() {
        // protocol runs per test (31 calls) and hosts setup, fixture and call; the
        // fixture hook (6 calls) has just enough room for call too, which by sums alone
        // would be the best fit.
        let facts = [
            hook(10.0, 9.9, 31.0), // 0 protocol
            hook(4.7, 4.6, 31.0),  // 1 setup
            hook(4.6, 4.45, 6.0),  // 2 fixture
            hook(4.4, 4.3, 31.0),  // 3 call
            hook(4.3, 0.0, 31.0),  // 4 pyfunc call
            body(3.0, 0.0),        // 5 a module body: never under a hook
        ];
        let p = assign_parents(&facts);
        assert_eq!(p[1], Some(0));
        assert_eq!(p[2], Some(1));
        assert_eq!(p[3], Some(0), "{p:?}");
        assert_eq!(p[4], Some(3));
        assert_eq!(p[5], None);
        // Without the calls, the fixture's room is the best fit.
        let uncounted: Vec<BodyFacts> = facts
            .iter()
            .map(|f| BodyFacts { calls: 0.0, ..*f })
            .collect();
        assert_eq!(assign_parents(&uncounted)[3], Some(2));
    }

    #[test]
    fn a_hook_has_no_room_in_the_work_only_it_does() {
        // setup runs fixture (only setup calls it), which does its own work in corpus
        // (outside the cycle) and calls back into the dispatcher through call (shared).
        let p = crate::tree::test_profiles::profile(
            &[
                ("main", 1, 1, 0.0, 10.0),
                ("call", 2, 4, 0.1, 10.0),
                ("multicall", 2, 4, 0.1, 9.9),
                ("setup", 3, 3, 0.1, 6.0),
                ("fixture", 3, 3, 0.1, 5.9),
                ("corpus", 3, 3, 5.0, 5.0),
                ("leaf", 1, 1, 0.7, 0.7),
            ],
            &[
                ("main", "call", 1, 0.0, 10.0),
                ("call", "multicall", 4, 0.1, 9.9),
                ("multicall", "setup", 3, 0.1, 6.0),
                ("multicall", "leaf", 1, 0.7, 0.7),
                ("setup", "fixture", 3, 0.1, 5.9),
                ("fixture", "corpus", 3, 5.0, 5.0),
                ("fixture", "call", 3, 0.1, 0.8),
            ],
        );
        let slots = Slots::new(&p);
        let facts = super::super::facts::function_facts(&p, &slots);
        let id = |name: &str| {
            (0..p.functions().len() as FuncId)
                .find(|&f| p.function(f).key.name.as_str() == name)
                .unwrap()
        };
        let mut seen = vec![FuncId::MAX; p.functions().len()];
        let room = hook_room(&p, &slots, &facts, id("setup"), &mut seen);
        assert!((room - 0.8).abs() < 1e-12, "{room}");
    }

    #[test]
    fn a_body_wider_than_every_budget_has_no_body_parent() {
        let facts = [body(5.0, 1.0), body(3.0, 0.0)];
        assert_eq!(assign_parents(&facts), vec![None, None]);
    }

    #[test]
    fn odd_times_are_ignored() {
        let facts = [
            body(f64::NAN, 1.0),
            body(f64::INFINITY, 1.0),
            body(0.0, 1.0),
            body(0.5, f64::NAN),
        ];
        assert_eq!(assign_parents(&facts), vec![None; 4]);
    }
}
