//! The edges as the flame estimator walks them: [`Slots`] lays every caller→callee edge
//! out in caller order with the numbers each pass reads, and [`Lists`] keeps, per
//! function, the edges a frame's expansion still has to look at as pools are spent.

use std::cmp::Reverse;

use super::{EdgeNumbers, edge_numbers};
use crate::model::{FuncId, Profile};

/// The edges as the estimator reads them: in caller order, so that the callees of a
/// frame's function sit side by side in memory (edge `Slots::of(f)` are `f`'s callees,
/// in the order of [`Profile::callee_edge_ids`]).
pub(super) struct Slots {
    start: Vec<u32>,
    pub(super) slots: Vec<Slot>,
}

pub(super) struct Slot {
    pub(super) callee: FuncId,
    /// Index into [`Profile::edges`], for the numbers a slot does not keep.
    pub(super) edge: u32,
    pub(super) n: SlotNumbers,
    /// The times were measured, not derived from a count (`EdgeNumbers::timed`).
    pub(super) timed: bool,
    /// The edge goes back into its caller's cycle: caller and callee are distinct
    /// functions of one strongly connected component.
    pub(super) cyclic: bool,
    /// A cyclic edge whose calls were all primitive (`cc == nc`): this call never ran
    /// inside another run of the same call, so it stands at most once on a stack.
    pub(super) once_per_stack: bool,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 32);

/// The edge numbers every pass over the slots reads; the rest ([`Slots::numbers`]) are
/// read where a frame is placed. Keeping a slot to 32 bytes keeps the table a large
/// profile scatters into caller order two thirds the size.
pub(super) struct SlotNumbers {
    pub(super) nc: f64,
    pub(super) ct: f64,
}

impl Slots {
    /// Reads the edges once, in their own (callee) order, and writes each to its
    /// place in caller order: gathering them in caller order instead would read the
    /// whole edge table at random, one cache miss an edge on a large profile.
    pub(super) fn new(profile: &Profile) -> Slots {
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
                let cyclic =
                    e.callee != e.caller && scc[e.callee as usize] == scc[e.caller as usize];
                room[*place as usize].write(Slot {
                    callee: e.callee,
                    edge: i as u32,
                    n: SlotNumbers { nc: n.nc, ct: n.ct },
                    timed: n.timed,
                    cyclic,
                    once_per_stack: cyclic && n.timed && n.nc > 0.0 && n.cc == n.nc,
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
    pub(super) fn numbers(&self, profile: &Profile, k: usize) -> EdgeNumbers {
        edge_numbers(profile, &profile.edges()[self.slots[k].edge as usize])
    }

    /// The slots of `func`'s callee edges.
    pub(super) fn of(&self, func: FuncId) -> std::ops::Range<usize> {
        self.start[func as usize] as usize..self.start[func as usize + 1] as usize
    }
}

/// Per function, a list of some of its callee slots. Lists only shrink: a slot is
/// dropped once it can no longer matter (see [`Lists`]); what is left keeps its order.
pub(super) struct SlotLists {
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

    pub(super) fn of(&self, func: FuncId) -> &[u32] {
        let start = self.start[func as usize] as usize;
        &self.slots[start..start + self.live[func as usize] as usize]
    }

    pub(super) fn of_mut(&mut self, func: FuncId) -> &mut [u32] {
        let start = self.start[func as usize] as usize;
        &mut self.slots[start..start + self.live[func as usize] as usize]
    }

    /// Keeps only the first `len` listed slots of `func`.
    pub(super) fn truncate(&mut self, func: FuncId, len: usize) {
        let live = &mut self.live[func as usize];
        *live = (*live).min(len as u32);
    }
}

/// The slot lists a frame's expansion walks, computed once so that expanding a frame
/// sorts nothing, and kept up to date as pools are spent, so that a frame walks only
/// the slots that can give it something. A single call's slot (`nc` 1) is an *atom*
/// while its pool is whole, *partial* once part of it is spent, *spent* once it is
/// empty; pools only shrink, so it never goes back.
pub(super) struct Lists {
    /// Atoms, widest first: the order in which a frame places them. A slot leaves as
    /// it is met no longer whole.
    pub(super) atoms: SlotLists,
    /// The slots of more than one call, in slot order (fixed).
    pub(super) multi: SlotLists,
    /// Per function: its partial single calls, in slot order.
    pub(super) partial: Vec<Vec<u32>>,
    /// Per function: its spent single calls back into its own cycle (any order).
    pub(super) spent_cyclic: Vec<Vec<u32>>,
}

impl Lists {
    /// Sorts every slot into its lists in one pass over the slots.
    pub(super) fn new(slots: &Slots, pool: &[f64]) -> Lists {
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
    pub(super) fn spent(
        &mut self,
        slots: &Slots,
        pool: &[f64],
        func: FuncId,
        k: usize,
        before: f64,
    ) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProfileBuilder;
    use crate::strategies::{call_graph, config};
    use crate::tree::test_profiles::{edge, key, profile};
    use proptest::collection::vec;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(config(200))]

        #[test]
        fn slots_list_each_caller_s_edges_as_the_profile_orders_them(
            (_, calls) in call_graph(12, |_| 40),
            numbers in vec((1..=3i128, 1..=7u32), 40),
        ) {
            let mut b = ProfileBuilder::new();
            for ((from, to), (nc, ct)) in calls.into_iter().zip(numbers) {
                edge(&mut b, &format!("f{from}"), &format!("f{to}"), nc, 0.5, f64::from(ct));
            }
            let p = b.finish();
            let slots = Slots::new(&p);
            let scc = p.components();
            for f in 0..p.functions().len() as FuncId {
                let ids = p.callee_edge_ids(f);
                let range = slots.of(f);
                prop_assert_eq!(range.len(), ids.len());
                for (k, &id) in range.zip(ids) {
                    let (slot, e) = (&slots.slots[k], &p.edges()[id as usize]);
                    let n = edge_numbers(&p, e);
                    prop_assert_eq!((slot.edge, slot.callee), (id, e.callee));
                    prop_assert_eq!((slot.n.nc, slot.n.ct, slot.timed), (n.nc, n.ct, n.timed));
                    let cyclic = e.callee != f && scc[e.callee as usize] == scc[f as usize];
                    prop_assert_eq!(slot.cyclic, cyclic);
                }
            }
        }
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
}
