//! Reconstruction: from a [`Profile`] to the two trees a flame graph draws.
//!
//! A pstats file keeps caller→callee totals, not stacks, so the flame tree is partly an
//! estimate. Every [`Frame`] says whether its width came straight from the data
//! (`exact`) or had to be split between contexts, and carries the range of widths the
//! data allows. The estimation method sits behind [`flame_tree`], one replaceable
//! piece: [`flame`] runs the expansion, `place` decides each frame's children, with
//! `slots`, `facts`, `nesting`, `dispatch` and `levels` supplying what they read;
//! `docs/reconstruction.md` explains it on a worked example and maps each step to its
//! file. [`inverted`] builds flameprof 0.4's "who spends the self time" tree. Both are
//! iterative and bounded by [`TreeOptions::max_frames`], whatever the shape of the call
//! graph. A profile that carries its stacks (collapsed input) needs no estimate:
//! `exact` draws the trees the stacks make.

pub use crate::model::time_scale;

mod arena;
pub mod diff;
mod dispatch;
mod exact;
mod facts;
pub mod flame;
pub mod inverted;
mod levels;
mod nesting;
mod place;
mod slots;
#[cfg(test)]
pub(crate) mod test_profiles;

pub use arena::{CallTree, Certainty, Frame, ROOT, StackStep};

use std::cmp::Reverse;

use crate::model::{Edge, EdgeStats, Profile, ProfileBuilder, Stats, count_f64};

/// What shapes a reconstructed tree.
#[derive(Clone, Debug)]
pub struct TreeOptions {
    /// Frames narrower than this fraction of the total are cut; their time goes to the
    /// parent's self time. `0.001` is flameprof 0.4's default of 0.1 %.
    pub threshold: f64,
    /// Bound on frames; `None` picks one from the size of the profile (see
    /// [`TreeOptions::frame_budget`]). When reached, frames left in the queue are not
    /// expanded further and the tree says so (`CallTree::truncated`).
    pub max_frames: Option<usize>,
    /// Frames deeper than this are cut (0 = no limit besides `max_frames`).
    pub max_depth: usize,
    /// `--focus`: keep only the stacks through a function whose display name
    /// (`file:line(name)`) contains this substring (plain text, case-sensitive, no
    /// regular expression). See [`CallTree::focused`].
    pub focus: Option<String>,
}

impl Default for TreeOptions {
    fn default() -> TreeOptions {
        TreeOptions {
            threshold: 0.001,
            max_frames: None,
            max_depth: 0,
            focus: None,
        }
    }
}

impl TreeOptions {
    /// The narrowest frame worth drawing in a tree of total width `total`: the
    /// threshold, but never below one part in a million of the total (a microsecond
    /// in a one-second profile: below the resolution of most timers).
    pub(crate) fn min_width(&self, total: f64) -> f64 {
        total * self.threshold.max(1e-6)
    }

    /// The frame bound for `profile`: the explicit one, else 4 frames per function and
    /// edge of the input (at least 20,000, at most 250,000), so the cost of a tree is
    /// bounded by the size of its input whatever the threshold (and a picture stays
    /// something a browser can open).
    pub fn frame_budget(&self, profile: &Profile) -> usize {
        self.max_frames.unwrap_or_else(|| {
            (4 * (profile.functions().len() + profile.edges().len())).clamp(20_000, 250_000)
        })
    }

    pub(crate) fn depth_allowed(&self, depth: usize) -> bool {
        self.max_depth == 0 || depth <= self.max_depth
    }
}

/// How far, as a share of the total, an estimated stack's frame may be from the width
/// the data settles for it and still be drawn exact: the nanoseconds the estimated
/// stacks are kept in.
const SETTLED_TOLERANCE: f64 = 1e-6;

/// Builds the flame tree (roots at the bottom, callees above).
/// A profile that carries its stacks gets the tree they make, every frame exact.
pub fn flame_tree(profile: &Profile, options: &TreeOptions) -> CallTree {
    if let Some(stacks) = profile.stacks() {
        let mut tree = exact::flame(profile, stacks, options);
        if stacks.is_estimated() {
            tree = tree.settled_by(&flame::build(profile, options), SETTLED_TOLERANCE);
        }
        return apply_focus(profile, options, tree);
    }
    match time_scale(profile) {
        0 => apply_focus(profile, options, flame::build(profile, options)),
        k => {
            let scaled = scaled(profile, k);
            apply_focus(&scaled, options, flame::build(&scaled, options))
        }
    }
}

/// Builds the inverted tree: each function at the width of its self time, its callers
/// beneath it.
/// A profile that carries its stacks gets the tree they make, every frame exact.
pub fn inverted_tree(profile: &Profile, options: &TreeOptions) -> CallTree {
    if let Some(stacks) = profile.stacks() {
        let mut tree = exact::inverted(profile, stacks, options);
        if stacks.is_estimated() {
            tree = tree.settled_by(&inverted::build(profile, options), SETTLED_TOLERANCE);
        }
        return apply_focus(profile, options, tree);
    }
    match time_scale(profile) {
        0 => apply_focus(profile, options, inverted::build(profile, options)),
        k => {
            let scaled = scaled(profile, k);
            apply_focus(&scaled, options, inverted::build(&scaled, options))
        }
    }
}

/// `profile` with every time divided by 2^`k`: the same functions in the same order
/// (so the same ids), the same edges.
fn scaled(profile: &Profile, k: i32) -> Profile {
    let by = 2f64.powi(-k);
    let scale = |s: Stats| Stats {
        tt: s.tt * by,
        ct: s.ct * by,
        ..s
    };
    let mut b = ProfileBuilder::new();
    let functions = profile.functions();
    b.reserve(functions.len(), profile.edges().len());
    for f in functions {
        if f.listed {
            b.add_function(f.key.clone(), scale(f.stats));
        } else {
            b.intern(f.key.clone());
        }
    }
    for e in profile.edges() {
        let stats = match e.stats {
            EdgeStats::Timed(s) => EdgeStats::Timed(scale(s)),
            count => count,
        };
        let key = |id: u32| functions[id as usize].key.clone();
        b.add_edge(key(e.caller), key(e.callee), stats);
    }
    let out = b.finish();
    debug_assert_eq!(out.functions().len(), functions.len());
    out
}

fn apply_focus(profile: &Profile, options: &TreeOptions, tree: CallTree) -> CallTree {
    match options.focus.as_deref() {
        Some(needle) if !needle.is_empty() => {
            let hits: Vec<bool> = profile
                .functions()
                .iter()
                .map(|f| f.key.display().contains(needle))
                .collect();
            tree.focused(|f| hits.get(f as usize).copied().unwrap_or(false))
        }
        _ => tree,
    }
}

/// A time the trees can use: finite and positive, else zero.
pub(crate) fn clean(t: f64) -> f64 {
    if t.is_finite() && t > 0.0 { t } else { 0.0 }
}

/// One edge as numbers, whatever the file kind. For `profile`-module edges (a bare
/// count) the times are estimated from the callee's totals in proportion to calls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EdgeNumbers {
    pub nc: f64,
    /// Primitive calls (made while the callee was not already running under this
    /// caller); 0 when the file does not say (`profile`-module counts).
    pub cc: f64,
    pub tt: f64,
    pub ct: f64,
    /// False when the times were derived from a count.
    pub timed: bool,
}

pub(crate) fn edge_numbers(profile: &Profile, edge: &Edge) -> EdgeNumbers {
    let (callee, stats) = (edge.callee, &edge.stats);
    match stats {
        EdgeStats::Timed(s) => EdgeNumbers {
            nc: count_f64(s.nc.max(0)),
            cc: count_f64(s.cc.clamp(0, s.nc.max(0))),
            tt: clean(s.tt),
            ct: clean(s.ct),
            timed: true,
        },
        EdgeStats::Count(n) => {
            let f = &profile.function(callee).stats;
            let share = if f.nc > 0 {
                count_f64(n.get().max(0)) / count_f64(f.nc)
            } else {
                0.0
            };
            let share = share.min(1.0);
            EdgeNumbers {
                nc: count_f64(n.get().max(0)),
                cc: 0.0,
                tt: clean(f.tt) * share,
                ct: clean(f.ct) * share,
                timed: false,
            }
        }
    }
}

/// A frame waiting to be expanded; the widest comes out of a `BinaryHeap` first, and
/// among equals the earlier frame (deterministic).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Queued {
    /// The width as an integer ordered as [`f64::total_cmp`] orders widths (computed
    /// once, not at every comparison of the heap), then the frame, reversed.
    key: (i64, Reverse<u32>),
}

impl Queued {
    pub fn new(width: f64, frame: u32) -> Queued {
        // `f64::total_cmp`'s own mapping: negative values have their other bits flipped.
        let bits = width.to_bits() as i64;
        let ordered = bits ^ (((bits >> 63) as u64) >> 1) as i64;
        Queued {
            key: (ordered, Reverse(frame)),
        }
    }

    pub fn frame(&self) -> u32 {
        self.key.1.0
    }
}
