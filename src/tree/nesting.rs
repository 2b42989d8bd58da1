//! Import nesting, rebuilt bottom-up from exact times.
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
//! [`find`] reads the bodies, the import cycle and its entries off the profile;
//! [`Imports::near_body`] tells, as frames are pushed, which body a frame runs under and
//! whether its path from that body starts with an import, which is what child
//! placement needs to put a body under its importer.

use std::collections::BTreeSet;

use super::edge_numbers;
use super::facts::FunctionFacts;
use super::slots::Slots;
use crate::model::{FuncId, Profile};

/// What the matching knows of one function.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BodyFacts {
    /// `Some(ct)` when the function is a body: run by a single call of a dispatcher,
    /// with `ct` its exact cumulative time.
    pub body_ct: Option<f64>,
    /// Time spent in edges back into the function's call cycle (its imports).
    pub import_time: f64,
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
    let mut open: BTreeSet<(u64, FuncId)> = BTreeSet::new();
    let mut remaining = vec![0.0f64; facts.len()];
    for (body, ct) in bodies {
        // Best fit: the smallest remaining budget that holds this body.
        if let Some(&(bits, p)) = open.range((ct.to_bits(), 0)..).next() {
            open.remove(&(bits, p));
            parent[body as usize] = Some(p);
            let left = remaining[p as usize] - ct;
            remaining[p as usize] = left;
            if left > 0.0 {
                open.insert((left.to_bits(), p));
            }
        }
        let budget = facts[body as usize].import_time;
        if budget > 0.0 && budget.is_finite() {
            remaining[body as usize] = budget;
            open.insert((budget.to_bits(), body));
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
}

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
    /// The nearest body of a new frame of `func` at `depth`, pushed on a frame whose
    /// nearest body is `below`: derived from the parent's, so no frame walks its stack.
    pub(super) fn near_body(
        &self,
        below: Option<NearBody>,
        func: FuncId,
        depth: u32,
    ) -> Option<NearBody> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn body(ct: f64, import_time: f64) -> BodyFacts {
        BodyFacts {
            body_ct: Some(ct),
            import_time,
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
