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
use crate::model::{FuncId, Profile, Stacks};

/// The flame tree of `stacks` (root first).
pub fn flame(profile: &Profile, stacks: &Stacks, options: &TreeOptions) -> CallTree {
    draw(&Trie::new(stacks, false), profile, options).scaled(stacks.unit().weight())
}

/// The inverted tree of `stacks` (top first).
pub fn inverted(profile: &Profile, stacks: &Stacks, options: &TreeOptions) -> CallTree {
    draw(&Trie::new(stacks, true), profile, options).scaled(stacks.unit().weight())
}

/// One distinct stack prefix: its function, the node after its subtree, its samples.
struct Node {
    func: FuncId,
    end: u32,
    total: f64,
}

/// The stacks as a trie in pre-order: node `i`'s children start at `i + 1`, and each
/// child's subtree ends where the next child starts, up to `nodes[i].end`. The root is
/// implicit: its children are the nodes from 0 to the end.
struct Trie {
    nodes: Vec<Node>,
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
                });
            }
            for &n in &path {
                nodes[n as usize].total += value;
            }
        }
        let end = nodes.len() as u32;
        for &n in &path {
            nodes[n as usize].end = end;
        }
        Trie { nodes }
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
            let id = tree.push(Frame {
                func: Some(trie.nodes[c as usize].func),
                parent: frame,
                calls: width,
                ..Frame::root(width)
            });
            node_of.push(Some(c));
            queue.push(Queued::new(width, id));
        }
    }
    tree.finish()
}
