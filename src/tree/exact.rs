//! The trees of a profile that carries its stacks (collapsed input): nothing is
//! estimated. The stacks, sorted, are laid out as a trie (a node per distinct stack
//! prefix, in pre-order, children by function), and the trie's nodes are drawn widest
//! first, as the estimators draw theirs, so that the threshold, `--max-depth` and the
//! frame bound cut the same way for every profile. The inverted tree is the trie of the
//! stacks read from the top down: each function at the width of the samples it was on
//! top in, the stacks that led there beneath it. Every frame is exact.

use std::collections::BinaryHeap;

use super::arena::{CallTree, Frame, ROOT, TreeBuilder};
use super::{Queued, TreeOptions};
use crate::model::{EdgeStats, FuncId, Profile, StackValue, Stacks};

/// The flame tree of `stacks` (root first).
pub fn flame(profile: &Profile, stacks: &Stacks, options: &TreeOptions) -> CallTree {
    let trie = Trie::new(stacks, false, min_width(stacks, options));
    draw(&trie, profile, options).scaled(stacks.unit().weight())
}

/// The inverted tree of `stacks` (top first).
pub fn inverted(profile: &Profile, stacks: &Stacks, options: &TreeOptions) -> CallTree {
    let trie = Trie::new(stacks, true, min_width(stacks, options));
    draw(&trie, profile, options).scaled(stacks.unit().weight())
}

/// The narrowest frame the trees of `stacks` draw, in the stacks' unit.
fn min_width(stacks: &Stacks, options: &TreeOptions) -> f64 {
    options.min_width(stacks.iter().map(|(_, v)| v as f64).sum())
}

/// One distinct stack prefix: its function, the node after its subtree, its samples
/// (or time), and for estimated stacks the samples behind that, and whether every
/// stack through it was recorded (backed without bound), which makes it exact.
struct Node {
    func: FuncId,
    end: u32,
    total: f64,
    support: f64,
    recorded: bool,
    /// The calls recorded on this very stack prefix (the flame tree's; NaN unknown).
    calls: f64,
}

/// The stacks as a trie in pre-order: node `i`'s children start at `i + 1`, and each
/// child's subtree ends where the next child starts, up to `nodes[i].end`. The root is
/// implicit: its children are the nodes from 0 to the end.
struct Trie {
    nodes: Vec<Node>,
    /// The stacks are estimated ([`Stacks::is_estimated`]): frames say how sure.
    estimated: bool,
    /// Read top first (the inverted tree): a node's parent is the function it called.
    top_down: bool,
}

impl Trie {
    /// The trie of `stacks`, read top first when `top_down`, down to the nodes narrower
    /// than `min_width`: those the drawing cuts, whose subtrees it never reads. A node
    /// per frame at most, so its size is bounded by the stacks'; the pruning keeps
    /// deep stacks (a recording's, every path of a program) from costing a node per
    /// frame of each.
    fn new(stacks: &Stacks, top_down: bool, min_width: f64) -> Trie {
        let all: Vec<&[FuncId]> = stacks.iter().map(|(frames, _)| frames).collect();
        let values: Vec<u64> = stacks.iter().map(|(_, v)| v).collect();
        let frame = |i: usize, d: usize| {
            let frames = all[i];
            frames[if top_down { frames.len() - 1 - d } else { d }]
        };
        let len = |i: usize| all[i].len();
        let mut order: Vec<usize> = (0..stacks.len()).collect();
        if top_down {
            // Root-first stacks are sorted already; top-first ones are sorted here.
            order.sort_by(|&a, &b| all[a].iter().rev().cmp(all[b].iter().rev()));
        }
        // The stacks of `order[lo..hi]` that go deeper than `depth` frames, in groups of
        // the same frame at `depth`: each group a child of the node they share.
        let groups = |lo: usize, hi: usize, depth: usize| {
            let mut at = lo;
            while at < hi && len(order[at]) <= depth {
                at += 1; // a stack ending at the node comes first, being its prefix
            }
            let mut out = Vec::new();
            while at < hi {
                let f = frame(order[at], depth);
                let start = at;
                while at < hi && frame(order[at], depth) == f {
                    at += 1;
                }
                out.push((start, at));
            }
            out
        };
        enum Task {
            /// A node: the stacks `order[lo..hi]`, sharing their first `depth + 1` frames.
            Visit(usize, usize, usize),
            /// The node's subtree is complete: it ends here.
            Close(u32),
        }
        let mut nodes: Vec<Node> = Vec::new();
        let mut tasks: Vec<Task> = (groups(0, order.len(), 0).into_iter().rev())
            .map(|(lo, hi)| Task::Visit(lo, hi, 0))
            .collect();
        while let Some(task) = tasks.pop() {
            let (lo, hi, depth) = match task {
                Task::Close(n) => {
                    nodes[n as usize].end = nodes.len() as u32;
                    continue;
                }
                Task::Visit(lo, hi, depth) => (lo, hi, depth),
            };
            let mut node = Node {
                func: frame(order[lo], depth),
                end: 0,
                total: 0.0,
                support: 0.0,
                recorded: true,
                calls: f64::NAN,
            };
            for &i in &order[lo..hi] {
                let support = stacks.support(i).unwrap_or(0.0);
                node.total += values[i] as f64;
                node.support += support;
                node.recorded &= support.is_infinite();
            }
            // A stack that ends here: in the flame tree, its calls are this prefix's.
            if !top_down && len(order[lo]) == depth + 1 {
                node.calls = stacks.calls(order[lo]).unwrap_or(f64::NAN);
            }
            let id = nodes.len() as u32;
            let wide = node.total >= min_width;
            nodes.push(node);
            tasks.push(Task::Close(id));
            if wide {
                for (clo, chi) in groups(lo, hi, depth + 1).into_iter().rev() {
                    tasks.push(Task::Visit(clo, chi, depth + 1));
                }
            }
        }
        Trie {
            nodes,
            estimated: stacks.is_estimated(),
            top_down,
        }
    }

    /// The children of `parent` (`None`: the root's).
    fn children(&self, parent: Option<u32>) -> impl Iterator<Item = u32> + '_ {
        let (mut at, end) = match parent {
            Some(p) => (p + 1, self.nodes[p as usize].end),
            None => (0, self.nodes.len() as u32),
        };
        std::iter::from_fn(move || {
            (at < end).then(|| {
                let c = at;
                at = self.nodes[c as usize].end;
                c
            })
        })
    }
}

/// Draws the trie, widest frame first, within the options' bounds.
fn draw(trie: &Trie, profile: &Profile, options: &TreeOptions) -> CallTree {
    let total: f64 = trie
        .children(None)
        .map(|c| trie.nodes[c as usize].total)
        .sum();
    let mut tree = TreeBuilder::new(total);
    if !(total > 0.0 && total.is_finite()) {
        return tree.finish();
    }
    let min_width = options.min_width(total);
    let budget = options.frame_budget(profile);
    // Per frame of the tree, its trie node (the root has none).
    let mut node_of: Vec<Option<u32>> = vec![None];
    let mut queue = BinaryHeap::new();
    queue.push(Queued::new(total, ROOT));
    while let Some(frame) = tree.next_to_expand(&mut queue, budget) {
        let depth = tree.frame(frame).depth as usize + 1;
        for c in trie.children(node_of[frame as usize]) {
            let width = trie.nodes[c as usize].total;
            if width < min_width || !options.depth_allowed(depth) {
                tree.cut(frame, width);
                continue;
            }
            let node = &trie.nodes[c as usize];
            let id = tree.push(if trie.estimated {
                let above = tree.frame(frame).func;
                let first_level = frame != ROOT && tree.frame(frame).parent == ROOT;
                estimated_frame(profile, node, frame, above, first_level, trie.top_down)
            } else {
                Frame {
                    func: Some(node.func),
                    parent: frame,
                    calls: width,
                    ..Frame::root(width)
                }
            });
            node_of.push(Some(c));
            queue.push(Queued::new(width, id));
        }
    }
    tree.finish()
}

/// A frame of estimated stacks: its width within a standard error of its samples'
/// share either way (the range [`Frame::spread`] reads: 1/√k of the width for k samples,
/// unbounded for none; exact when every stack through it was recorded), and its calls
/// those of the call between it and the frame it hangs from (its caller, or in the
/// inverted tree its callee) in proportion to the time of that call the frame holds; a
/// root frame's, the function's. A recorded frame of the flame tree has its very
/// stack's calls. The inverted tree's first two levels hold all of a function's own
/// time, and all of it under each of its callers: their calls are the function's and
/// the call's, whole, as the tree of the stats alone has them.
fn estimated_frame(
    profile: &Profile,
    node: &Node,
    parent: u32,
    parent_func: Option<FuncId>,
    first_level: bool,
    top_down: bool,
) -> Frame {
    let width = node.total;
    let half = if node.recorded {
        0.0
    } else {
        0.5 / node.support.sqrt()
    };
    let (min_total, max_total) = if half.is_finite() {
        ((width * (1.0 - half)).max(0.0), width * (1.0 + half))
    } else {
        (0.0, f64::INFINITY)
    };
    let (calls, time) = match parent_func {
        Some(p) => {
            let (caller, callee) = if top_down {
                (node.func, p)
            } else {
                (p, node.func)
            };
            let callers = profile.callers_of(callee);
            match callers.binary_search_by_key(&caller, |e| e.caller) {
                Ok(i) => match callers[i].stats {
                    EdgeStats::Timed(s) if s.calls_known() => (s.nc as f64, s.ct),
                    _ => (f64::NAN, 0.0),
                },
                Err(_) => (f64::NAN, 0.0),
            }
        }
        None => {
            let s = &profile.function(node.func).stats;
            if s.calls_known() {
                (s.nc as f64, s.ct)
            } else {
                (f64::NAN, 0.0)
            }
        }
    };
    // Widths are in the stacks' unit until the tree is scaled, and calls with them.
    let weight = StackValue::Nanoseconds.weight();
    let time = time / weight;
    let whole = top_down && (parent_func.is_none() || first_level);
    let calls = if node.recorded && node.calls.is_finite() {
        node.calls / weight
    } else if whole && calls.is_finite() {
        calls / weight
    } else if calls.is_finite() && time > 0.0 {
        calls * (width / time).min(1.0) / weight
    } else {
        0.0
    };
    Frame {
        func: Some(node.func),
        parent,
        calls,
        exact: node.recorded,
        min_total,
        max_total,
        ..Frame::root(width)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Profile;
    use crate::tree::test_profiles::profile;
    use crate::tree::{Certainty, TreeOptions, flame_tree, inverted_tree};

    /// main → load → work and main → check → work: work's time is split between the
    /// callers 3 to 1, which the samples know and the stats do not.
    fn guided() -> Profile {
        let stats = profile(
            &[
                ("main", 1, 1, 1.0, 9.0),
                ("load", 1, 1, 0.0, 6.0),
                ("check", 1, 1, 0.0, 2.0),
                ("work", 20, 20, 8.0, 8.0),
            ],
            &[
                ("main", "load", 1, 0.0, 6.0),
                ("main", "check", 1, 0.0, 2.0),
                ("load", "work", 10, 6.0, 6.0),
                ("check", "work", 10, 2.0, 2.0),
            ],
        );
        let text = "# mode: wall\napp.py:1:main 100\napp.py:1:main;app.py:1:load;app.py:1:work 600\n\
                    app.py:1:main;app.py:1:check;app.py:1:work 200\n";
        let samples = crate::input::load("s", bytes::Bytes::from(text))
            .unwrap()
            .profile;
        stats
            .guided_by(&samples, crate::model::Backing::Sampled(Some(900)), &|_| {
                Vec::new()
            })
            .unwrap()
    }

    fn by_name(p: &Profile, tree: &crate::tree::CallTree) -> Vec<(String, f64, Certainty, f64)> {
        (1..tree.frames().len() as u32)
            .map(|i| {
                let f = tree.frame(i);
                let name = p.function(f.func.unwrap()).key.name.to_string();
                (name, f.total, tree.certainty(i), f.calls)
            })
            .collect()
    }

    #[test]
    fn frames_the_data_settles_are_exact_and_the_others_say_how_sure() {
        let p = guided();
        let flame = by_name(&p, &flame_tree(&p, &TreeOptions::default()));
        let find = |name: &str, parent_total: f64| {
            flame
                .iter()
                .find(|f| f.0 == name && (parent_total < 0.0 || (f.1 - parent_total).abs() < 1e-9))
                .unwrap_or_else(|| panic!("no {name} in {flame:?}"))
                .clone()
        };
        // main holds everything: its width is the data's, exact.
        let main = find("main", -1.0);
        assert!(
            (main.1 - 9.0).abs() < 1e-9 && main.2 == Certainty::Exact,
            "{main:?}"
        );
        // load and check: one caller each, and the samples put work's time where the
        // stats say each call took it (6 and 2): exact too, with their calls.
        let load = find("load", 6.0);
        assert_eq!((load.2, load.3), (Certainty::Exact, 1.0), "{load:?}");
        // work under each: the stats alone cannot tell them apart (they are the
        // callers' widths here, which the edges give); as drawn, estimated or exact,
        // the width is the sampled share of work's 8 s.
        let works: Vec<_> = flame.iter().filter(|f| f.0 == "work").collect();
        assert_eq!(works.len(), 2, "{flame:?}");
        let total: f64 = works.iter().map(|w| w.1).sum();
        assert!((total - 8.0).abs() < 1e-6, "{works:?}");
        // The inverted tree: work's own time is pstats', exact.
        let inverted = by_name(&p, &inverted_tree(&p, &TreeOptions::default()));
        let work = inverted.iter().find(|f| f.0 == "work").unwrap();
        assert!(
            (work.1 - 8.0).abs() < 1e-6 && work.2 == Certainty::Exact,
            "{work:?}"
        );
    }

    #[test]
    fn a_frame_the_samples_misplace_is_not_made_exact() {
        // `mid` is called by both load and check and calls work: cProfile's edges say
        // 6:2 under load and check but not how work's time splits below mid. The
        // samples say 700:100 there: load's width is then not the data's, and stays
        // an estimate.
        let stats = profile(
            &[
                ("main", 1, 1, 1.0, 9.0),
                ("load", 1, 1, 0.0, 6.0),
                ("check", 1, 1, 0.0, 2.0),
                ("mid", 2, 2, 0.0, 8.0),
                ("work", 20, 20, 8.0, 8.0),
            ],
            &[
                ("main", "load", 1, 0.0, 6.0),
                ("main", "check", 1, 0.0, 2.0),
                ("load", "mid", 1, 0.0, 6.0),
                ("check", "mid", 1, 0.0, 2.0),
                ("mid", "work", 20, 8.0, 8.0),
            ],
        );
        let text = "# mode: wall\napp.py:1:main 100\n\
                    app.py:1:main;app.py:1:load;app.py:1:mid;app.py:1:work 700\n\
                    app.py:1:main;app.py:1:check;app.py:1:mid;app.py:1:work 100\n";
        let samples = crate::input::load("s", bytes::Bytes::from(text))
            .unwrap()
            .profile;
        let p = stats
            .guided_by(&samples, crate::model::Backing::Sampled(Some(900)), &|_| {
                Vec::new()
            })
            .unwrap();
        let flame = by_name(&p, &flame_tree(&p, &TreeOptions::default()));
        let load = flame.iter().find(|f| f.0 == "load").unwrap();
        assert!((load.1 - 7.0).abs() < 1e-6, "{load:?}");
        assert_ne!(load.2, Certainty::Exact, "{load:?}");
        let main = flame.iter().find(|f| f.0 == "main").unwrap();
        assert_eq!(main.2, Certainty::Exact, "{main:?}");
    }
}
