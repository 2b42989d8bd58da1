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
use crate::model::{FuncId, Profile, StackValue, Stacks};

/// The flame tree of `stacks` (root first).
pub fn flame(profile: &Profile, stacks: &Stacks, options: &TreeOptions) -> CallTree {
    draw(&Trie::new(stacks, false), profile, options).scaled(stacks.unit().weight())
}

/// The inverted tree of `stacks` (top first).
pub fn inverted(profile: &Profile, stacks: &Stacks, options: &TreeOptions) -> CallTree {
    draw(&Trie::new(stacks, true), profile, options).scaled(stacks.unit().weight())
}

/// One distinct stack prefix: its function, the node after its subtree, its samples
/// (or time), and for estimated stacks the samples behind that.
struct Node {
    func: FuncId,
    end: u32,
    total: f64,
    support: f64,
}

/// The stacks as a trie in pre-order: node `i`'s children start at `i + 1`, and each
/// child's subtree ends where the next child starts, up to `nodes[i].end`. The root is
/// implicit: its children are the nodes from 0 to the end.
struct Trie {
    nodes: Vec<Node>,
    /// The stacks are estimated ([`Stacks::is_estimated`]): frames say how sure.
    estimated: bool,
}

impl Trie {
    /// The trie of `stacks`, read top first when `top_down`. A node per frame at most,
    /// so its size is bounded by the stacks'.
    fn new(stacks: &Stacks, top_down: bool) -> Trie {
        let seq = |i: usize| {
            let (frames, _) = stacks.get(i);
            let n = frames.len();
            (0..n).map(move |d| frames[if top_down { n - 1 - d } else { d }])
        };
        let mut order: Vec<usize> = (0..stacks.len()).collect();
        if top_down {
            // Root-first stacks are sorted already; top-first ones are sorted here.
            order.sort_by(|&a, &b| seq(a).cmp(seq(b)));
        }
        let mut nodes: Vec<Node> = Vec::new();
        // The nodes of the previous stack, root first.
        let mut path: Vec<u32> = Vec::new();
        for &i in &order {
            let value = stacks.get(i).1 as f64;
            let support = stacks.support(i).unwrap_or(0.0);
            let mut common = 0;
            for f in seq(i) {
                match path.get(common) {
                    Some(&n) if nodes[n as usize].func == f => common += 1,
                    _ => break,
                }
            }
            // The nodes left are complete: their subtrees end here.
            let end = nodes.len() as u32;
            for &n in &path[common..] {
                nodes[n as usize].end = end;
            }
            path.truncate(common);
            for f in seq(i).skip(common) {
                path.push(nodes.len() as u32);
                nodes.push(Node {
                    func: f,
                    end: 0,
                    total: 0.0,
                    support: 0.0,
                });
            }
            for &n in &path {
                nodes[n as usize].total += value;
                nodes[n as usize].support += support;
            }
        }
        let end = nodes.len() as u32;
        for &n in &path {
            nodes[n as usize].end = end;
        }
        Trie {
            nodes,
            estimated: stacks.is_estimated(),
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
                estimated_frame(profile, node, frame)
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
/// unbounded for none), and its calls the function's in proportion to the time the
/// frame holds of the function's cumulative time.
fn estimated_frame(profile: &Profile, node: &Node, parent: u32) -> Frame {
    let width = node.total;
    let half = 0.5 / node.support.sqrt();
    let (min_total, max_total) = if half.is_finite() {
        ((width * (1.0 - half)).max(0.0), width * (1.0 + half))
    } else {
        (0.0, f64::INFINITY)
    };
    let stats = &profile.function(node.func).stats;
    // Widths are in the stacks' unit until the tree is scaled, calls with them: the
    // share of the cumulative time is taken in that unit.
    let ct = stats.ct / StackValue::Nanoseconds.weight();
    let calls = if stats.calls_known() && ct > 0.0 {
        stats.nc as f64 * (width / ct).min(1.0) / StackValue::Nanoseconds.weight()
    } else {
        0.0
    };
    Frame {
        func: Some(node.func),
        parent,
        calls,
        exact: false,
        min_total,
        max_total,
        ..Frame::root(width)
    }
}
