//! The comparison of two profiles, BASE (before) and NEW (after): what `flameprof diff`
//! renders. Owns how the two sides are matched: functions by their [`FuncKey`] (ids
//! differ between profiles), frames by their stack path (the keys from the root), so
//! that a function made slower in one context only shows in that context.
//!
//! Each side's flame tree is the normal [`flame_tree`] of that side, built down to a
//! hundredth of the threshold ([`FINER`]); the union is then cut at the threshold so
//! that a frame is kept when it is wide enough on *either* side. Cutting each side at
//! the threshold first would make a frame narrow on one side look absent there; building
//! without any threshold would spend the bound on frames on slivers (a real 35,000-call
//! profile reaches it) and could leave wide frames unexpanded.
//! Linear in the frames of both trees: one hash map from (parent, function) to frame.

use foldhash::{HashMap, HashMapExt};

use super::arena::TreeBuilder;
use super::{CallTree, Frame, ROOT, TreeOptions, flame_tree, inverted_tree};
use crate::model::{FuncId, FuncKey, Measure, Profile, Stats};

/// The threshold each side's tree is built at, as a share of the one asked for: a
/// frame kept for one side shows the other side's width unless that is below this
/// (then 0, at most a hundredth of the threshold of the total off).
pub const FINER: f64 = 0.01;

/// One side of a frame: its numbers in one profile's flame tree, zero where the
/// stack does not occur on that side (or was cut by the bound on frames).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameSide {
    /// Width: time in the frame and everything above it.
    pub total: f64,
    /// Time in the frame not covered by the frames drawn above it (children cut by the
    /// threshold included, as in the flame tree).
    pub self_time: f64,
    /// Calls in this context (estimated when the side is not exact).
    pub calls: f64,
    /// Whether the stack occurs in this side's tree.
    pub present: bool,
    /// Whether this side's width came straight from the data (true when absent).
    pub exact: bool,
}

/// A frame of the union of both flame trees.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffFrame {
    /// Index into [`ProfileDiff::functions`]; `None` for the root.
    pub func: Option<u32>,
    pub parent: u32,
    pub depth: u32,
    pub before: FrameSide,
    pub after: FrameSide,
}

impl DiffFrame {
    /// Whether either side's width was estimated (split between contexts).
    pub fn estimated(&self) -> bool {
        !(self.before.exact && self.after.exact)
    }
}

/// A function of either side, with its stats on each (`None`: not listed there).
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionDiff {
    pub key: FuncKey,
    /// Its label as the text outputs show it (`name (module:line)`), from BASE if it
    /// is there, else from NEW.
    pub label: String,
    pub before: Option<Stats>,
    pub after: Option<Stats>,
}

/// Two profiles compared. Frames are in pre-order, children sorted by function key,
/// the root first.
#[derive(Clone, Debug)]
pub struct ProfileDiff {
    pub measure: Measure,
    /// The width of each side's flame tree (its total time, or the focused time with
    /// `--focus`).
    pub before_total: f64,
    pub after_total: f64,
    /// Every function listed on either side, sorted by key.
    pub functions: Vec<FunctionDiff>,
    pub frames: Vec<DiffFrame>,
    /// Whether a side's tree stopped at its bound on frames.
    pub truncated: bool,
    /// The union of both sides' inverted trees, matched by stack path the same way
    /// (the path runs from a function with self time down through its callers); built
    /// only when asked for ([`diff`]'s `inverted`), for the picture.
    pub inverted: Option<DiffGraph>,
}

/// The union of both sides' trees of one kind other than the flame tree (the
/// inverted tree), as [`ProfileDiff`] holds the flame trees': frames in pre-order,
/// children sorted by function key, the root first.
#[derive(Clone, Debug)]
pub struct DiffGraph {
    /// The width of each side's tree.
    pub before_total: f64,
    pub after_total: f64,
    pub frames: Vec<DiffFrame>,
    /// Whether a side's tree stopped at its bound on frames.
    pub truncated: bool,
}

impl DiffGraph {
    /// The union as one tree to draw, as [`ProfileDiff::drawn_tree`] draws the flame
    /// trees'.
    pub fn drawn_tree(&self, func: impl Fn(u32) -> FuncId) -> CallTree {
        drawn_tree(&self.frames, self.before_total, self.after_total, func)
    }
}

/// Why two profiles cannot be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incomparable {
    pub before: Measure,
    pub after: Measure,
}

impl ProfileDiff {
    /// The `n` functions whose own time (tottime) grew most, with the growth, largest
    /// first (ties by key).
    pub fn grew_most(&self, n: usize) -> Vec<(&FunctionDiff, f64)> {
        let tt = |s: &Option<Stats>| s.map_or(0.0, |s| s.tt);
        let mut grew: Vec<(&FunctionDiff, f64)> = (self.functions.iter())
            .map(|f| (f, tt(&f.after) - tt(&f.before)))
            .filter(|&(_, d)| d > 0.0)
            .collect();
        grew.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.key.cmp(&b.0.key)));
        grew.truncate(n);
        grew
    }

    /// The union as one tree to draw, for the differential flame graph: each frame as
    /// wide as the larger of its two sides, so that code that vanished is as visible as
    /// code that is new, and widened where its children together need more room (a
    /// frame whose time moved from one child to another holds both at their larger
    /// width). `func` gives the id the tree names for a function index. The frames come
    /// out in the order of [`ProfileDiff::frames`], index for index: both are pre-order
    /// with children sorted by function, and `func` keeps that order. Estimated frames
    /// are not exact and carry no range (the range of each side is not kept), so they
    /// are drawn as close estimates.
    pub fn drawn_tree(&self, func: impl Fn(u32) -> FuncId) -> CallTree {
        drawn_tree(&self.frames, self.before_total, self.after_total, func)
    }

    /// The children of every frame, by index.
    pub fn children(&self) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); self.frames.len()];
        for (i, f) in self.frames.iter().enumerate().skip(1) {
            out[f.parent as usize].push(i as u32);
        }
        out
    }
}

/// [`ProfileDiff::drawn_tree`] of any union of two trees with these widths.
fn drawn_tree(
    frames: &[DiffFrame],
    before_total: f64,
    after_total: f64,
    func: impl Fn(u32) -> FuncId,
) -> CallTree {
    let mut width: Vec<f64> = (frames.iter())
        .map(|f| f.before.total.max(f.after.total))
        .collect();
    width[0] = width[0].max(before_total).max(after_total);
    // Children come after their parents: one pass from the end adds them up.
    let mut children = vec![0.0f64; frames.len()];
    for i in (1..frames.len()).rev() {
        width[i] = width[i].max(children[i]);
        children[frames[i].parent as usize] += width[i];
    }
    width[0] = width[0].max(children[0]);
    let mut tree = TreeBuilder::new(width[0]);
    let mut at = vec![ROOT; frames.len()];
    for (i, f) in frames.iter().enumerate().skip(1) {
        let side = if f.after.present { f.after } else { f.before };
        at[i] = tree.push(Frame {
            func: f.func.map(&func),
            parent: at[f.parent as usize],
            calls: side.calls,
            exact: !f.estimated(),
            ..Frame::root(width[i])
        });
    }
    let tree = tree.finish();
    debug_assert!(
        (tree.frames().iter().zip(frames))
            .all(|(t, d)| t.depth == d.depth && t.func == d.func.map(&func))
    );
    tree
}

/// Compares `before` and `after`, their flame trees shaped by `options`, and with
/// `inverted` their inverted trees too (shaped the same). Profiles of different
/// measures (calls, samples) are refused: their numbers do not compare.
pub fn diff(
    before: &Profile,
    after: &Profile,
    options: &TreeOptions,
    inverted: bool,
) -> Result<ProfileDiff, Incomparable> {
    if before.measure() != after.measure() {
        return Err(Incomparable {
            before: before.measure(),
            after: after.measure(),
        });
    }
    let unthresholded = TreeOptions {
        threshold: options.threshold * FINER,
        ..options.clone()
    };
    // The sides are independent: BASE's trees on a second thread when there is one.
    let side = |p: &Profile| {
        let flame = flame_tree(p, &unthresholded);
        let inv = inverted.then(|| inverted_tree(p, &unthresholded));
        (flame, inv)
    };
    let ((before_flame, before_inv), (after_flame, after_inv)) = std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .spawn_scoped(scope, || side(before))
            .ok();
        let after_trees = side(after);
        let before_trees = match helper {
            Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => side(before),
        };
        (before_trees, after_trees)
    });
    let (functions, ids) = union_functions([before, after]);
    let merge = |trees: &[CallTree; 2]| merged(trees, &ids, options);
    let flame_trees = [before_flame, after_flame];
    let (flame, inverted) = match (before_inv, after_inv) {
        (Some(b), Some(a)) => {
            // The two unions are independent too.
            let inverted_trees = [b, a];
            std::thread::scope(|scope| {
                let helper = std::thread::Builder::new()
                    .spawn_scoped(scope, || merge(&inverted_trees))
                    .ok();
                let flame = merge(&flame_trees);
                let inverted = match helper {
                    Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                    None => merge(&inverted_trees),
                };
                (flame, Some(inverted))
            })
        }
        _ => (merge(&flame_trees), None),
    };
    Ok(ProfileDiff {
        measure: before.measure(),
        before_total: flame.before_total,
        after_total: flame.after_total,
        functions,
        frames: flame.frames,
        truncated: flame.truncated,
        inverted,
    })
}

/// The union of one kind of tree of both sides, matched by stack path and cut at
/// the threshold of `options` on each side's width.
fn merged(trees: &[CallTree; 2], ids: &[Vec<u32>; 2], options: &TreeOptions) -> DiffGraph {
    let frames = union_frames(trees, ids);
    let before_total = trees[0].total();
    let after_total = trees[1].total();
    let frames = cut(
        frames,
        options.min_width(before_total),
        options.min_width(after_total),
    );
    DiffGraph {
        before_total,
        after_total,
        frames,
        truncated: trees.iter().any(|t| t.truncated),
    }
}

/// The functions listed on either side, sorted by key, and for each side the index
/// of each of its function ids among them (every id, listed or not, gets one: a frame
/// may name a function that only appears as a caller).
fn union_functions(sides: [&Profile; 2]) -> (Vec<FunctionDiff>, [Vec<u32>; 2]) {
    let mut keys: Vec<(&FuncKey, usize, FuncId)> = Vec::new();
    let mut seen: HashMap<&FuncKey, ()> = HashMap::new();
    for (side, p) in sides.iter().enumerate() {
        for (id, f) in p.functions().iter().enumerate() {
            if seen.insert(&f.key, ()).is_none() {
                keys.push((&f.key, side, id as FuncId));
            }
        }
    }
    keys.sort_by(|a, b| a.0.cmp(b.0));
    let index: HashMap<&FuncKey, u32> = (keys.iter().enumerate())
        .map(|(i, k)| (k.0, i as u32))
        .collect();
    let ids = sides.map(|p| {
        (p.functions().iter())
            .map(|f| index[&f.key])
            .collect::<Vec<u32>>()
    });
    let stats = |p: &Profile, key: &FuncKey| {
        p.find(key)
            .map(|id| p.function(id))
            .filter(|f| f.listed)
            .map(|f| f.stats)
    };
    let functions = keys
        .iter()
        .map(|&(key, side, id)| FunctionDiff {
            key: key.clone(),
            label: sides[side].label(id),
            before: stats(sides[0], key),
            after: stats(sides[1], key),
        })
        .collect();
    (functions, ids)
}

/// The union of the two trees, matched by stack path: frames in creation order
/// (parents before children).
fn union_frames(trees: &[CallTree; 2], ids: &[Vec<u32>; 2]) -> Vec<DiffFrame> {
    let absent = FrameSide {
        exact: true,
        ..FrameSide::default()
    };
    let mut frames = vec![DiffFrame {
        func: None,
        parent: ROOT,
        depth: 0,
        before: absent,
        after: absent,
    }];
    let mut child: HashMap<(u32, u32), u32> = HashMap::with_capacity(trees[0].len());
    for (side, tree) in trees.iter().enumerate() {
        let mut merged = vec![0u32; tree.frames().len()];
        for (i, f) in tree.frames().iter().enumerate() {
            let at = match f.func {
                None => 0,
                Some(id) => {
                    let parent = merged[f.parent as usize];
                    let func = ids[side][id as usize];
                    *child.entry((parent, func)).or_insert_with(|| {
                        frames.push(DiffFrame {
                            func: Some(func),
                            parent,
                            depth: f.depth,
                            before: absent,
                            after: absent,
                        });
                        (frames.len() - 1) as u32
                    })
                }
            };
            merged[i] = at;
            let s = FrameSide {
                total: f.total,
                self_time: f.self_time,
                calls: f.calls,
                present: true,
                exact: f.exact,
            };
            let frame = &mut frames[at as usize];
            let slot = if side == 0 {
                &mut frame.before
            } else {
                &mut frame.after
            };
            // The trees never hold the same stack twice; should one, add it up.
            if slot.present {
                slot.total += s.total;
                slot.self_time += s.self_time;
                slot.calls += s.calls;
                slot.exact &= s.exact;
            } else {
                *slot = s;
            }
        }
    }
    frames
}

/// Drops the frames narrower than the threshold on both sides (their time going to
/// the parent's self time, as the flame tree does with its cut children), and puts the
/// rest in pre-order with children sorted by function key (keys are sorted, so by
/// index).
fn cut(mut frames: Vec<DiffFrame>, min_before: f64, min_after: f64) -> Vec<DiffFrame> {
    // Parents come before their children: one pass decides, from the root up.
    let mut keep = vec![true; frames.len()];
    for i in 1..frames.len() {
        let f = &frames[i];
        let parent = f.parent as usize;
        let wide = f.before.total >= min_before && f.before.present
            || f.after.total >= min_after && f.after.present;
        keep[i] = keep[parent] && wide;
        if keep[parent] && !wide {
            let (b, a) = (f.before.total, f.after.total);
            frames[parent].before.self_time += b;
            frames[parent].after.self_time += a;
        }
    }
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); frames.len()];
    for (i, f) in frames.iter().enumerate().skip(1) {
        if keep[i] {
            children[f.parent as usize].push(i as u32);
        }
    }
    for c in &mut children {
        c.sort_by_key(|&i| frames[i as usize].func);
    }
    let mut order = Vec::with_capacity(frames.len());
    let mut new_index = vec![ROOT; frames.len()];
    let mut stack = vec![0u32];
    while let Some(i) = stack.pop() {
        new_index[i as usize] = order.len() as u32;
        order.push(i);
        stack.extend(children[i as usize].iter().rev());
    }
    let mut out = Vec::with_capacity(order.len());
    for &i in &order {
        let mut f = frames[i as usize].clone();
        if i != 0 {
            f.parent = new_index[f.parent as usize];
        }
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EdgeStats, ProfileBuilder};

    fn key(name: &str) -> FuncKey {
        FuncKey::new("app.py", 1, name)
    }

    fn stats(tt: f64, ct: f64, n: i128) -> Stats {
        Stats {
            cc: n,
            nc: n,
            tt,
            ct,
        }
    }

    /// main calls a and b; both call f, which takes `fa` under a and `fb` under b.
    fn profile(fa: f64, fb: f64) -> Profile {
        let mut b = ProfileBuilder::new();
        b.add_function(key("main"), stats(0.0, 2.0 + fa + fb, 1));
        b.add_function(key("a"), stats(1.0, 1.0 + fa, 1));
        b.add_function(key("b"), stats(1.0, 1.0 + fb, 1));
        b.add_function(key("f"), stats(fa + fb, fa + fb, 2));
        b.add_edge(
            key("main"),
            key("a"),
            EdgeStats::Timed(stats(1.0, 1.0 + fa, 1)),
        );
        b.add_edge(
            key("main"),
            key("b"),
            EdgeStats::Timed(stats(1.0, 1.0 + fb, 1)),
        );
        b.add_edge(key("a"), key("f"), EdgeStats::Timed(stats(fa, fa, 1)));
        b.add_edge(key("b"), key("f"), EdgeStats::Timed(stats(fb, fb, 1)));
        b.finish()
    }

    fn frame<'d>(d: &'d ProfileDiff, path: &[&str]) -> &'d DiffFrame {
        frame_of(d, &d.frames, path)
    }

    /// The frame at `path` (names from the root) among `frames`, the flame graph's or
    /// the inverted graph's.
    fn frame_of<'d>(d: &ProfileDiff, frames: &'d [DiffFrame], path: &[&str]) -> &'d DiffFrame {
        let mut at = 0u32;
        for name in path {
            at = (frames.iter().enumerate())
                .find(|(_, f)| {
                    f.parent == at
                        && f.func
                            .is_some_and(|k| d.functions[k as usize].key.name.as_str() == *name)
                })
                .map(|(i, _)| i as u32)
                .unwrap_or_else(|| panic!("no frame {path:?}"));
        }
        &frames[at as usize]
    }

    #[test]
    fn frames_are_matched_by_stack_path() {
        let d = diff(
            &profile(1.0, 1.0),
            &profile(2.0, 1.0),
            &TreeOptions::default(),
            false,
        )
        .unwrap();
        assert_eq!(d.before_total, 4.0);
        assert_eq!(d.after_total, 5.0);
        let under_a = frame(&d, &["main", "a", "f"]);
        assert_eq!((under_a.before.total, under_a.after.total), (1.0, 2.0));
        let under_b = frame(&d, &["main", "b", "f"]);
        assert_eq!((under_b.before.total, under_b.after.total), (1.0, 1.0));
        let f = d
            .functions
            .iter()
            .find(|f| f.key.name.as_str() == "f")
            .unwrap();
        assert_eq!((f.before.unwrap().tt, f.after.unwrap().tt), (2.0, 3.0));
        // Pre-order: every parent before its children.
        assert!(
            d.frames
                .iter()
                .enumerate()
                .skip(1)
                .all(|(i, f)| (f.parent as usize) < i)
        );
    }

    #[test]
    fn inverted_frames_are_matched_by_stack_path_too() {
        // f's own time, 2 s → 3 s, grew under a only: the inverted graph, from f down
        // through its callers, shows it.
        let d = diff(
            &profile(1.0, 1.0),
            &profile(2.0, 1.0),
            &TreeOptions::default(),
            true,
        )
        .unwrap();
        let inv = d.inverted.as_ref().expect("asked for");
        let f = frame_of(&d, &inv.frames, &["f"]);
        assert_eq!((f.before.total, f.after.total), (2.0, 3.0));
        let by_a = frame_of(&d, &inv.frames, &["f", "a"]);
        assert_eq!((by_a.before.total, by_a.after.total), (1.0, 2.0));
        let by_b = frame_of(&d, &inv.frames, &["f", "b"]);
        assert_eq!((by_b.before.total, by_b.after.total), (1.0, 1.0));
        let tree = inv.drawn_tree(|k| k);
        assert_eq!(tree.frames().len(), inv.frames.len());
        // Not asked for, not built.
        let flame_only = diff(
            &profile(1.0, 1.0),
            &profile(2.0, 1.0),
            &TreeOptions::default(),
            false,
        )
        .unwrap();
        assert!(flame_only.inverted.is_none());
    }

    #[test]
    fn a_frame_wide_on_one_side_is_kept_with_both_numbers() {
        // f under b is 0.1 % of BASE, 20 % of NEW: kept at a 1 % threshold, with
        // BASE's small width rather than nothing.
        let options = TreeOptions {
            threshold: 0.01,
            ..TreeOptions::default()
        };
        let d = diff(&profile(1.0, 0.003), &profile(1.0, 1.0), &options, false).unwrap();
        let under_b = frame(&d, &["main", "b", "f"]);
        assert_eq!((under_b.before.total, under_b.after.total), (0.003, 1.0));
        assert!(under_b.before.present);
    }

    #[test]
    fn the_drawn_tree_holds_both_sides_in_the_order_of_the_frames() {
        // f under a: 1 s → 3 s; f under b: 2 s → 0.5 s. Each frame is as wide as its
        // larger side, and a parent at least as wide as its children.
        let d = diff(
            &profile(1.0, 2.0),
            &profile(3.0, 0.5),
            &TreeOptions::default(),
            false,
        )
        .unwrap();
        let tree = d.drawn_tree(|k| k);
        assert_eq!(tree.frames().len(), d.frames.len());
        for (i, (t, f)) in tree.frames().iter().zip(&d.frames).enumerate().skip(1) {
            assert_eq!(t.func, f.func);
            assert!(t.total >= f.before.total.max(f.after.total), "frame {i}");
            let kids: f64 = (tree.children(i as u32).iter())
                .map(|&c| tree.frame(c).total)
                .sum();
            assert!(t.total >= kids - 1e-12, "frame {i}");
        }
        assert_eq!(frame(&d, &["main", "a", "f"]).after.total, 3.0);
        // main: max(5, 6.5) = 6.5, but its children need max(2, 4) + max(3, 1.5) = 7.
        assert_eq!(tree.frame(1).total, 7.0);
        assert_eq!(tree.total(), 7.0);
    }

    #[test]
    fn different_measures_are_refused() {
        let sampled = profile(1.0, 1.0).with_measure(Measure::Samples { seconds: true });
        assert!(diff(&profile(1.0, 1.0), &sampled, &TreeOptions::default(), false).is_err());
    }
}
