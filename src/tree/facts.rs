//! What the flame estimator knows of each function before it draws a frame
//! ([`FunctionFacts`]: totals, cycles, direct recursion, dispatchers), and the models
//! built on those facts: a frame's own time ([`own_time`]) and, for direct recursion
//! unrolled level by level, the width each level passes on ([`inner_width`]).

use super::flame::MAX_REENTRY;
use super::levels::Levels;
use super::slots::Slots;
use super::{EdgeNumbers, clean};
use crate::model::{FuncId, Profile, count_f64};

/// What the estimator knows of each function, computed once.
pub(super) struct FunctionFacts {
    pub(super) ct: f64,
    pub(super) tt: f64,
    pub(super) nc: f64,
    /// Strongly connected component of the call graph (self-edges aside).
    pub(super) scc: u32,
    /// In a cycle of two or more functions, or calling itself.
    pub(super) recursive: bool,
    /// The edge by which it calls itself directly, when that is its only recursion
    /// (not also part of a cycle of several functions): drawn as a chain.
    pub(super) self_edge: Option<usize>,
    /// It has a self-edge, whether or not it is also in a larger cycle.
    pub(super) calls_itself: bool,
    /// Direct recursion: calls and time of each level (empty without a self-edge).
    pub(super) levels: Levels,
    /// Direct recursion: share of own time in what an inner level keeps (the
    /// self-edge's `tt / ct`); `None` without direct recursion.
    inner_own: Option<f64>,
    /// Direct recursion: share of own time in an outermost level's width when no
    /// caller edge tells it (`(tt - self-edge tt) / ct`).
    outer_own: f64,
    /// Every call makes exactly one child call (`builtins.exec`).
    pub(super) dispatcher: bool,
    /// How often it may appear on one stack: once when every call was primitive
    /// (`cc == nc`: it never ran inside itself), else up to [`MAX_REENTRY`].
    pub(super) max_on_stack: usize,
}

/// The facts of every function, indexed by function id.
pub(super) fn function_facts(profile: &Profile, slots: &Slots) -> Vec<FunctionFacts> {
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
                calls_itself: self_edge.is_some(),
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
                max_on_stack: if { f.stats.cc } == { f.stats.nc } {
                    1
                } else {
                    MAX_REENTRY
                },
            }
        })
        .collect()
}

/// The time a frame spends itself. Reached through an edge that is not recursive,
/// it is the callee's own time under that caller, in proportion (for a directly
/// recursive callee that is the outermost level's own time: cProfile charges inner
/// calls' own time to the self-edge); for functions in a cycle of several (whose `ct`
/// counts only the outermost call) it is the own time per call times the calls in
/// this context. Inner levels of direct recursion (reached through the self-edge)
/// split what they keep besides their inner call (`inner`, see [`inner_width`]) as
/// the self-edge's totals do (own time `tt` out of `ct`).
pub(super) fn own_time(
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
pub(super) fn inner_width(fact: &FunctionFacts, width: f64, level: u32, min_width: f64) -> f64 {
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
