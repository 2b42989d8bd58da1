//! Module runs matched to their importers jointly, where each import is one run.
//!
//! Some profiles hold the import graph exactly in counts: a wrapper (importlib's
//! `_call_with_frames_removed` as the synthetic `dispatch` scenario has it) whose only
//! callee is a dispatcher (`builtins.exec`), called as often as it calls it, and called
//! only by module bodies. Then every call of the wrapper from a body is one run of one
//! module, so each importer's number of imports and their total time are known (the
//! edge body → wrapper), and each module's number of runs and total time (the edge
//! dispatcher → body). What is not known is which importer ran which run.
//!
//! [`solve`] picks an assignment of runs to importers that respects those counts
//! exactly (no module inside itself) and best fits the times: each importer's import
//! time against the estimated width of the runs it is given, weighted by how uncertain
//! that estimate is (a module run once has an exact width; the runs of a module run k
//! times are given its mean, which is uncertain). The search is bounded:
//!
//! 1. **Greedy.** Runs are taken single-run modules first, then widest run first, each
//!    given to the importer whose weighted misfit grows least (ties: lowest index),
//!    keeping the module graph acyclic.
//! 2. **Local search.** Each run gets a frame of its own under one run of its importer
//!    (round robin, shallowest first); then pairs of runs swap importers, and runs
//!    move between runs of the same importing module, while that improves the fit.
//! 3. **Kicks.** [`CHAINS`] independent chains from the tree found, each up to
//!    [`KICKS`] times: three random valid swaps from the chain's best tree (a fixed
//!    xorshift sequence per chain: deterministic), then local search again, the result
//!    kept if it fits better. The best fit of all chains wins. (One chain alone can
//!    settle in a local optimum: on the synthetic `dispatch` seed 2 a single chain of
//!    200 kicks stopped at a fit of 1.065 that draws 0.083 of the time wrong, where
//!    other chains reach 1.037 and 0.036.)
//!
//! Every step is counted in *work* (one unit per run, importer or module visited by an
//! evaluation or an acyclicity check); the whole search stops after [`WORK_CAP`] units,
//! so its cost is at most linear in the input plus a constant (about 0.05 s at most), whatever
//! the size. A greedy pass that does not fit in the cap gives up (`None`): the profile is
//! then drawn as without this fit, as it is when there are more than [`MAX_CELLS`]
//! (importer, module) pairs to keep counts for.
//!
//! [`DispatchPlan::find`] recognises the pattern in a profile, builds the importers and
//! modules [`solve`] matches, and turns the runs it returns into what the flame
//! estimator draws: the runs each run imported, widest first, and the width of each
//! run's imports.

use super::edge_numbers;
use super::facts::FunctionFacts;
use super::slots::Slots;
use crate::model::{FuncId, Profile};
use crate::rng::xorshift;

/// Most work units (see the module comment) the search may spend. 4 chains of 25 kicks
/// find the same fits as 4 of 100 on all five synthetic `dispatch` seeds, in a quarter of
/// the time (seed 2: 0.03 s instead of 0.12 s) and well inside this cap.
pub(crate) const WORK_CAP: u64 = 2_500_000;
/// Independent chains of kicks, and the kicks (random restarts from the chain's best
/// tree) of each.
pub(crate) const CHAINS: usize = 4;
pub(crate) const KICKS: usize = 25;
/// Most (importer, module) pairs the search keeps counts for (16 MiB of counts).
pub(crate) const MAX_CELLS: u64 = 1 << 22;
/// Uncertainty of a multi-run module's mean run width, as a share of it.
const SPREAD: f64 = 0.5;

/// One importer (a row): how many runs it started and their total time. Row 0 is the
/// root: the dispatcher's calls from outside the import cycle.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Importer {
    pub calls: u32,
    pub time: f64,
    /// The module (column) this importer is; `None` for the root.
    pub module: Option<u32>,
}

/// One module (a column): its number of runs and their total time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Module {
    pub runs: u32,
    pub time: f64,
    /// The row of this module's imports, if it imports.
    pub importer: Option<u32>,
}

/// The runs as a tree: run 0 is the root (no module); every other run has a module and
/// a parent run, and `width` is its estimated width (bottom-up: exact for a module run
/// once, else the mean own time of the module's runs plus the runs it imported).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Runs {
    pub module: Vec<u32>,
    pub parent: Vec<u32>,
    pub width: Vec<f64>,
    /// The fit reached (weighted squared misfit; lower is better).
    pub objective: f64,
}

const NONE: u32 = u32::MAX;

struct Search<'a> {
    rows: &'a [Importer],
    cols: &'a [Module],
    /// Per module: mean own width of a run (what is not imports).
    own: Vec<f64>,
    /// The module of each run (see [`run_modules`]).
    module: Vec<u32>,
    /// The longest import time: the scale of the misfit's floor.
    scale: f64,
    work: u64,
    /// Per evaluation: scratch.
    start: Vec<u32>,
    kids: Vec<u32>,
    ct: Vec<f64>,
    var: Vec<f64>,
    order: Vec<u32>,
    on_stack: Vec<bool>,
    pred: Vec<f64>,
    pvar: Vec<f64>,
}

/// Matches runs to importers (see the module comment). `None` when the counts do not
/// add up, no acyclic assignment is found greedily, or the greedy pass alone would
/// exceed the work cap.
pub(crate) fn solve(rows: &[Importer], cols: &[Module]) -> Option<Runs> {
    let calls: u64 = rows.iter().map(|r| u64::from(r.calls)).sum();
    let runs: u64 = cols.iter().map(|c| u64::from(c.runs)).sum();
    let cells = rows.len() as u64 * cols.len() as u64;
    if calls != runs || runs == 0 || runs >= u64::from(NONE) || rows.is_empty() || cells > MAX_CELLS
    {
        return None;
    }
    let bad = |t: f64| !(t.is_finite() && t >= 0.0);
    if rows.iter().any(|r| bad(r.time)) || cols.iter().any(|c| bad(c.time) || c.runs == 0) {
        return None;
    }
    let own = cols
        .iter()
        .map(|c| {
            let imports = c.importer.map_or(0.0, |r| rows[r as usize].time);
            ((c.time - imports) / f64::from(c.runs)).max(0.0)
        })
        .collect();
    let mut s = Search {
        rows,
        cols,
        own,
        module: run_modules(cols),
        scale: rows.iter().map(|r| r.time).fold(0.0, f64::max),
        work: 0,
        start: Vec::new(),
        kids: Vec::new(),
        ct: Vec::new(),
        var: Vec::new(),
        order: Vec::new(),
        on_stack: vec![false; cols.len()],
        pred: vec![0.0; rows.len()],
        pvar: vec![0.0; rows.len()],
    };
    let x = s.greedy()?;
    let parent = s.tree(&x);
    let parent = s.improve(parent);
    let objective = s.evaluate(&parent)?;

    let mut width = vec![0.0; parent.len()];
    width.copy_from_slice(&s.ct[..parent.len()]);
    let module = run_modules(cols);
    Some(Runs {
        module,
        parent,
        width,
        objective,
    })
}

/// The module of each run: run 0 is the root, then each module's runs in module order.
fn run_modules(cols: &[Module]) -> Vec<u32> {
    let mut module = vec![NONE];
    for (c, col) in cols.iter().enumerate() {
        module.extend(std::iter::repeat_n(c as u32, col.runs as usize));
    }
    module
}

impl Search<'_> {
    fn unit(&self, c: usize) -> f64 {
        self.cols[c].time / f64::from(self.cols[c].runs)
    }

    fn unit_var(&self, c: usize) -> f64 {
        if self.cols[c].runs == 1 {
            0.0
        } else {
            (SPREAD * self.unit(c)).powi(2)
        }
    }

    fn floor(&self, r: usize) -> f64 {
        let t = self.rows[r].time;
        (1e-3 * t).powi(2) + (1e-12 * self.scale).powi(2) + f64::MIN_POSITIVE
    }

    /// Counts per (row, column), greedily (see the module comment).
    fn greedy(&mut self) -> Option<Vec<Vec<u32>>> {
        let (nr, nc) = (self.rows.len(), self.cols.len());
        let mut x = vec![vec![0u32; nc]; nr];
        let mut cap: Vec<u32> = self.rows.iter().map(|r| r.calls).collect();
        let mut got = vec![0.0; nr];
        let mut var = vec![0.0; nr];
        let mut order: Vec<usize> = (0..nc).collect();
        order.sort_by(|&a, &b| {
            (self.cols[a].runs > 1)
                .cmp(&(self.cols[b].runs > 1))
                .then(self.unit(b).total_cmp(&self.unit(a)))
                .then(a.cmp(&b))
        });
        let mut cand: Vec<(f64, usize)> = Vec::new();
        for c in order {
            let (u, v) = (self.unit(c), self.unit_var(c));
            for _ in 0..self.cols[c].runs {
                cand.clear();
                for r in 0..nr {
                    if cap[r] == 0 || self.rows[r].module == Some(c as u32) {
                        continue;
                    }
                    let l = self.rows[r].time;
                    let d = ((got[r] + u - l).powi(2) - (got[r] - l).powi(2))
                        / (var[r] + v + self.floor(r));
                    cand.push((d, r));
                }
                self.work += nr as u64;
                cand.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let mut chosen = None;
                for &(_, r) in &cand {
                    if self.work > WORK_CAP {
                        return None;
                    }
                    let ok = match self.rows[r].module {
                        None => true,
                        Some(m) => !self.reaches(&x, c, m as usize),
                    };
                    if ok {
                        chosen = Some(r);
                        break;
                    }
                }
                let r = chosen?;
                cap[r] -= 1;
                x[r][c] += 1;
                got[r] += u;
                var[r] += v;
            }
        }
        Some(x)
    }

    /// Whether module `to` is reachable from module `from` in the graph of `x`
    /// (itself included).
    fn reaches(&mut self, x: &[Vec<u32>], from: usize, to: usize) -> bool {
        let mut seen = vec![false; self.cols.len()];
        let mut stack = vec![from];
        seen[from] = true;
        while let Some(c) = stack.pop() {
            self.work += 1 + self.cols.len() as u64;
            if c == to {
                return true;
            }
            if let Some(r) = self.cols[c].importer {
                for (k, &n) in x[r as usize].iter().enumerate() {
                    if n > 0 && !seen[k] {
                        seen[k] = true;
                        stack.push(k);
                    }
                }
            }
        }
        false
    }

    /// The run tree of counts `x`: each importing module's runs share its imports round
    /// robin (widest import to the shallowest run first).
    fn tree(&mut self, x: &[Vec<u32>]) -> Vec<u32> {
        let module = run_modules(self.cols);
        let n = module.len();
        let mut first = vec![0u32; self.cols.len()];
        let mut at = 1u32;
        for (c, col) in self.cols.iter().enumerate() {
            first[c] = at;
            at += col.runs;
        }
        let mut next = first.clone();
        let mut parent = vec![NONE; n];
        let mut depth = vec![0u32; n];
        // Modules in topological order (Kahn), importers before what they import.
        let mut indeg = vec![0u32; self.cols.len()];
        for row in x {
            for (c, &k) in row.iter().enumerate() {
                indeg[c] += u32::from(k > 0);
            }
        }
        let mut ready: Vec<usize> = Vec::new();
        let mut rows_in_order = vec![0usize];
        let mut queue: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
        for (c, row) in x[0].iter().enumerate() {
            if *row > 0 {
                indeg[c] -= 1;
            }
        }
        for (c, &d) in indeg.iter().enumerate() {
            if d == 0 {
                queue.push_back(c);
            }
        }
        while let Some(c) = queue.pop_front() {
            ready.push(c);
            if let Some(r) = self.cols[c].importer {
                rows_in_order.push(r as usize);
                for (k, &cnt) in x[r as usize].iter().enumerate() {
                    if cnt > 0 {
                        indeg[k] -= 1;
                        if indeg[k] == 0 {
                            queue.push_back(k);
                        }
                    }
                }
            }
        }
        for r in rows_in_order {
            // The runs of this importer, shallowest first.
            let mut hosts: Vec<u32> = match self.rows[r].module {
                None => vec![0],
                Some(m) => {
                    (first[m as usize]..first[m as usize] + self.cols[m as usize].runs).collect()
                }
            };
            hosts.sort_by_key(|&h| (depth[h as usize], h));
            let mut kids: Vec<usize> = Vec::new();
            for (c, &k) in x[r].iter().enumerate() {
                kids.extend(std::iter::repeat_n(c, k as usize));
            }
            kids.sort_by(|&a, &b| self.unit(b).total_cmp(&self.unit(a)).then(a.cmp(&b)));
            self.work += (kids.len() + hosts.len()) as u64;
            for (j, c) in kids.into_iter().enumerate() {
                let host = hosts[j % hosts.len()];
                let run = next[c];
                next[c] += 1;
                parent[run as usize] = host;
                depth[run as usize] = depth[host as usize] + 1;
            }
        }
        parent
    }

    /// The fit of a run tree, or `None` if it is not a tree or runs a module inside
    /// itself. Leaves each run's estimated width in `self.ct`.
    fn evaluate(&mut self, parent: &[u32]) -> Option<f64> {
        let n = parent.len();
        self.work += (n + self.rows.len() + self.cols.len()) as u64;
        self.child_lists(parent)?;
        self.post_order(n)?;
        self.widths(n);
        let mut s = 0.0;
        for (row, imp) in self.rows.iter().enumerate() {
            let d = self.pred[row] - imp.time;
            s += d * d / (self.pvar[row] + self.floor(row));
        }
        Some(s)
    }

    /// The children of every run in `self.kids`, from `self.start[r]` (a counting sort
    /// by parent); `None` if a parent is not a run.
    fn child_lists(&mut self, parent: &[u32]) -> Option<()> {
        let n = parent.len();
        self.start.clear();
        self.start.resize(n + 1, 0);
        for &p in &parent[1..] {
            if p as usize >= n {
                return None;
            }
            self.start[p as usize + 1] += 1;
        }
        for i in 0..n {
            self.start[i + 1] += self.start[i];
        }
        self.kids.clear();
        self.kids.resize(n.saturating_sub(1), 0);
        let mut fill = self.start.clone();
        for (r, &p) in parent.iter().enumerate().skip(1) {
            self.kids[fill[p as usize] as usize] = r as u32;
            fill[p as usize] += 1;
        }
        Some(())
    }

    /// The runs in post-order in `self.order`, depth-first from the root with the
    /// modules on the current path marked; `None` if a module runs inside itself or a
    /// run is not reached from the root.
    fn post_order(&mut self, n: usize) -> Option<()> {
        self.order.clear();
        let mut stack: Vec<(u32, bool)> = vec![(0, false)];
        let mut ok = true;
        while let Some((r, done)) = stack.pop() {
            let m = self.module[r as usize];
            if done {
                if m != NONE {
                    self.on_stack[m as usize] = false;
                }
                self.order.push(r);
                continue;
            }
            if m != NONE {
                if self.on_stack[m as usize] {
                    ok = false;
                    break;
                }
                self.on_stack[m as usize] = true;
            }
            stack.push((r, true));
            let (a, b) = (self.start[r as usize], self.start[r as usize + 1]);
            for k in a..b {
                stack.push((self.kids[k as usize], false));
            }
        }
        if !ok {
            self.on_stack.iter_mut().for_each(|s| *s = false);
            return None;
        }
        if self.order.len() != n {
            return None;
        }
        Some(())
    }

    /// Each run's width and its uncertainty bottom-up (post-order), and each importer's
    /// predicted import time from the runs it was given.
    fn widths(&mut self, n: usize) {
        self.ct.clear();
        self.ct.resize(n, 0.0);
        self.var.clear();
        self.var.resize(n, 0.0);
        self.pred.iter_mut().for_each(|p| *p = 0.0);
        self.pvar.iter_mut().for_each(|p| *p = 0.0);
        for i in 0..n {
            let r = self.order[i] as usize;
            let (a, b) = (self.start[r] as usize, self.start[r + 1] as usize);
            let (mut sum, mut var) = (0.0, 0.0);
            for k in a..b {
                let c = self.kids[k] as usize;
                sum += self.ct[c];
                var += self.var[c];
            }
            let m = self.module[r];
            let row = if m == NONE {
                Some(0)
            } else {
                self.cols[m as usize].importer
            };
            if let Some(row) = row {
                self.pred[row as usize] += sum;
                self.pvar[row as usize] += var;
            }
            if m == NONE {
                continue;
            }
            let col = &self.cols[m as usize];
            if col.runs == 1 {
                self.ct[r] = col.time;
            } else {
                let own = self.own[m as usize];
                self.ct[r] = own + sum;
                self.var[r] = (SPREAD * own).powi(2) + var;
            }
        }
    }

    /// Local search and kicks (see the module comment), within the work cap.
    fn improve(&mut self, parent: Vec<u32>) -> Vec<u32> {
        let Some(score) = self.evaluate(&parent) else {
            return parent;
        };
        let module = self.module.clone();
        let start = self.climb(parent, score, &module);
        if start.0.len() < 3 {
            return start.0;
        }
        // Independent chains from the same start (one chain alone can settle in a
        // local optimum the kicks do not leave); the best fit wins, the first on ties.
        let mut best = start.clone();
        for chain in 0..CHAINS {
            let found = self.kicks(start.clone(), chain, &module);
            if found.1 < best.1 * (1.0 - 1e-12) {
                best = found;
            }
        }
        best.0
    }

    /// One chain of [`KICKS`] kicks from `start`, its random sequence chosen by `chain`.
    fn kicks(&mut self, start: (Vec<u32>, f64), chain: usize, module: &[u32]) -> (Vec<u32>, f64) {
        let (mut best, mut best_score) = start;
        let mut rng = xorshift(
            0x9E37_79B9_7F4A_7C15 ^ (chain as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03),
        );
        let n = best.len();
        for _ in 0..KICKS {
            if self.work > WORK_CAP {
                break;
            }
            let mut cur = best.clone();
            let mut cur_score = best_score;
            for _ in 0..3 {
                for _ in 0..20 {
                    let a = 1 + (rng() % (n as u64 - 1)) as usize;
                    let b = 1 + (rng() % (n as u64 - 1)) as usize;
                    cur.swap(a, b);
                    // `swap` exchanged parents: that is the move.
                    match self.evaluate(&cur) {
                        Some(s) => {
                            cur_score = s;
                            break;
                        }
                        None => cur.swap(a, b),
                    }
                }
            }
            let (cand, s) = self.climb(cur, cur_score, module);
            if s < best_score * (1.0 - 1e-12) {
                best = cand;
                best_score = s;
            }
        }
        (best, best_score)
    }

    /// First-improvement hill climbing: swaps of importers between two runs, then moves
    /// of a run between runs of its importing module; until nothing improves or the work
    /// cap is reached.
    fn climb(&mut self, mut parent: Vec<u32>, mut score: f64, module: &[u32]) -> (Vec<u32>, f64) {
        let n = parent.len();
        let better = |s: f64, than: f64| s < than - 1e-12 * than.abs().max(1e-300);
        // Runs of each module, for the moves.
        let mut runs_of: Vec<Vec<u32>> = vec![Vec::new(); self.cols.len()];
        for (r, &m) in module.iter().enumerate().skip(1) {
            runs_of[m as usize].push(r as u32);
        }
        let mut improved = true;
        while improved {
            improved = false;
            for a in 1..n {
                for b in a + 1..n {
                    if self.work > WORK_CAP {
                        return (parent, score);
                    }
                    if parent[a] == parent[b] {
                        continue;
                    }
                    parent.swap(a, b);
                    match self.evaluate(&parent) {
                        Some(s) if better(s, score) => {
                            score = s;
                            improved = true;
                        }
                        _ => parent.swap(a, b),
                    }
                }
            }
            for a in 1..n {
                let pa = parent[a];
                if pa == 0 {
                    continue;
                }
                let host_module = module[pa as usize] as usize;
                for &q in &runs_of[host_module] {
                    if self.work > WORK_CAP {
                        return (parent, score);
                    }
                    let before = parent[a];
                    if q == before {
                        continue;
                    }
                    parent[a] = q;
                    match self.evaluate(&parent) {
                        Some(s) if better(s, score) => {
                            score = s;
                            improved = true;
                        }
                        _ => parent[a] = before,
                    }
                }
            }
        }
        (parent, score)
    }
}

/// Where every call of a wrapper around the dispatcher is one module run: which module
/// run each frame of the pattern stands for (see the module comment).
pub(super) struct DispatchPlan {
    /// The wrapper (`_call_with_frames_removed`) and the dispatcher (`exec`).
    pub(super) wrapper: FuncId,
    pub(super) dispatcher: FuncId,
    /// Per module (column): the slot of the edge dispatcher -> module, and of the edge
    /// module -> wrapper if it imports.
    pub(super) col_slot: Vec<usize>,
    pub(super) wrap_slot: Vec<Option<usize>>,
    /// Per function: its column, or `NO_RUN`.
    pub(super) col_of: Vec<u32>,
    /// Per run: its module (run 0 is the root), children (widest first), estimated
    /// width and the width of its imports.
    pub(super) module: Vec<u32>,
    kid_start: Vec<u32>,
    kids: Vec<u32>,
    pub(super) width: Vec<f64>,
    pub(super) import_width: Vec<f64>,
}

/// No run: a frame outside the pattern.
pub(super) const NO_RUN: u32 = u32::MAX;

/// The pattern as found in the profile, before its runs are matched.
struct Pattern {
    wrapper: FuncId,
    dispatcher: FuncId,
    rows: Vec<Importer>,
    cols: Vec<Module>,
    col_slot: Vec<usize>,
    wrap_slot: Vec<Option<usize>>,
    col_of: Vec<u32>,
}

impl DispatchPlan {
    /// The runs `run` imported, widest first.
    pub(super) fn kids(&self, run: u32) -> &[u32] {
        let (a, b) = (
            self.kid_start[run as usize] as usize,
            self.kid_start[run as usize + 1] as usize,
        );
        &self.kids[a..b]
    }

    /// Finds the one-call-one-run pattern and matches its runs to their importers
    /// ([`solve`]). It holds when a function (the wrapper) has a single callee edge, to
    /// a dispatcher, with as many calls as the wrapper has; every caller of the wrapper
    /// is run by that dispatcher; every callee of the dispatcher has it as its only
    /// caller (a module body); and every other caller of the dispatcher is outside the
    /// dispatcher's cycle (so its calls are the outermost runs). All edges must be timed.
    pub(super) fn find(
        profile: &Profile,
        slots: &Slots,
        facts: &[FunctionFacts],
    ) -> Option<DispatchPlan> {
        for w in 0..profile.functions().len() as FuncId {
            let Some(pattern) = Pattern::find(profile, slots, facts, w) else {
                continue;
            };
            let runs = solve(&pattern.rows, &pattern.cols)?;
            return Some(DispatchPlan::new(pattern, runs));
        }
        None
    }

    /// The plan of the runs `solve` matched: children of each run widest first, and
    /// each module's import time shared between its runs as their imports' widths.
    fn new(pattern: Pattern, runs: Runs) -> DispatchPlan {
        let (kid_start, kids) = children(&runs);
        let m = runs.module.len();
        let imported: Vec<f64> = (0..m)
            .map(|r| {
                kids[kid_start[r] as usize..kid_start[r + 1] as usize]
                    .iter()
                    .map(|&k| runs.width[k as usize])
                    .sum()
            })
            .collect();
        let Pattern { rows, cols, .. } = &pattern;
        let mut per_module = vec![0.0; cols.len()];
        for r in 1..m {
            per_module[runs.module[r] as usize] += imported[r];
        }
        let import_width = (0..m)
            .map(|r| {
                if r == 0 {
                    return 0.0;
                }
                let c = runs.module[r] as usize;
                let Some(row) = cols[c].importer else {
                    return 0.0;
                };
                let time = rows[row as usize].time;
                if per_module[c] > 0.0 {
                    time * imported[r] / per_module[c]
                } else {
                    time / f64::from(cols[c].runs)
                }
            })
            .collect();
        DispatchPlan {
            wrapper: pattern.wrapper,
            dispatcher: pattern.dispatcher,
            col_slot: pattern.col_slot,
            wrap_slot: pattern.wrap_slot,
            col_of: pattern.col_of,
            module: runs.module,
            kid_start,
            kids,
            width: runs.width,
            import_width,
        }
    }
}

/// The children of every run, laid end to end (`kids[kid_start[r]..kid_start[r + 1]]`),
/// each run's widest first.
fn children(runs: &Runs) -> (Vec<u32>, Vec<u32>) {
    let m = runs.module.len();
    let mut kid_start = vec![0u32; m + 1];
    for &p in &runs.parent[1..] {
        kid_start[p as usize + 1] += 1;
    }
    for i in 0..m {
        kid_start[i + 1] += kid_start[i];
    }
    let mut kids = vec![0u32; m - 1];
    let mut fill = kid_start.clone();
    for (r, &p) in runs.parent.iter().enumerate().skip(1) {
        kids[fill[p as usize] as usize] = r as u32;
        fill[p as usize] += 1;
    }
    for r in 0..m {
        let (a, b) = (kid_start[r] as usize, kid_start[r + 1] as usize);
        kids[a..b].sort_by(|&x, &y| {
            runs.width[y as usize]
                .total_cmp(&runs.width[x as usize])
                .then(x.cmp(&y))
        });
    }
    (kid_start, kids)
}

/// A count that can be matched run by run: a whole number of calls, at least one.
fn whole(x: f64) -> bool {
    x >= 1.0 && x.fract() == 0.0 && x < f64::from(u32::MAX)
}

impl Pattern {
    /// The pattern with `w` as the wrapper, if it holds (see [`DispatchPlan::find`]).
    fn find(
        profile: &Profile,
        slots: &Slots,
        facts: &[FunctionFacts],
        w: FuncId,
    ) -> Option<Pattern> {
        let ws = slots.of(w);
        if ws.len() != 1 {
            return None;
        }
        let ws = &slots.slots[ws.start];
        let d = ws.callee;
        let df = &facts[d as usize];
        if d == w
            || !df.dispatcher
            || !ws.timed
            || ws.n.nc != facts[w as usize].nc
            || !whole(ws.n.nc)
        {
            return None;
        }
        let mut pattern = Pattern::modules(profile, slots, w, d)?;
        // The dispatcher's callers: the wrapper, and others outside its cycle (the root).
        let mut root_calls = df.nc;
        for e in profile.callers_of(d) {
            let en = edge_numbers(profile, e);
            if e.caller == d
                || !en.timed
                || (e.caller != w && facts[e.caller as usize].scc == df.scc)
            {
                return None;
            }
            if e.caller == w {
                root_calls -= en.nc;
            }
        }
        if !whole(root_calls) {
            return None;
        }
        pattern.rows.push(Importer {
            calls: root_calls as u32,
            time: df.ct,
            module: None,
        });
        let wrapper_calls = pattern.importers(profile, slots)?;
        (wrapper_calls == ws.n.nc).then_some(pattern)
    }

    /// The dispatcher `d`'s callees, the modules (columns), if each is a module body
    /// run only by `d`; no importers yet.
    fn modules(profile: &Profile, slots: &Slots, w: FuncId, d: FuncId) -> Option<Pattern> {
        let only_caller = |f: FuncId, by: FuncId| match profile.callers_of(f) {
            [e] => e.caller == by,
            _ => false,
        };
        let mut col_of = vec![NO_RUN; profile.functions().len()];
        let mut cols = Vec::new();
        let mut col_slot = Vec::new();
        for k in slots.of(d) {
            let s = &slots.slots[k];
            if s.callee == w
                || s.callee == d
                || !s.timed
                || !whole(s.n.nc)
                || !only_caller(s.callee, d)
            {
                return None;
            }
            col_of[s.callee as usize] = cols.len() as u32;
            col_slot.push(k);
            cols.push(Module {
                runs: s.n.nc as u32,
                time: s.n.ct,
                importer: None,
            });
        }
        if cols.is_empty() {
            return None;
        }
        Some(Pattern {
            wrapper: w,
            dispatcher: d,
            rows: Vec::new(),
            wrap_slot: vec![None; cols.len()],
            cols,
            col_slot,
            col_of,
        })
    }

    /// Adds a row per caller of the wrapper (each a module importing), if every one is
    /// a module; the calls they make in all.
    fn importers(&mut self, profile: &Profile, slots: &Slots) -> Option<f64> {
        let w = self.wrapper;
        let mut wrapper_calls = 0.0;
        for e in profile.callers_of(w) {
            let c = self.col_of[e.caller as usize];
            let en = edge_numbers(profile, e);
            if c == NO_RUN || !en.timed || !whole(en.nc) {
                return None;
            }
            wrapper_calls += en.nc;
            self.cols[c as usize].importer = Some(self.rows.len() as u32);
            self.wrap_slot[c as usize] = slots.of(e.caller).find(|&k| slots.slots[k].callee == w);
            self.rows.push(Importer {
                calls: en.nc as u32,
                time: en.ct,
                module: Some(c),
            });
        }
        Some(wrapper_calls)
    }
}

#[cfg(test)]
mod tests;
