//! Sampled profiles keyed by line, made into one function per code object.
//!
//! CPython 3.15's sampling profiler keys each frame by the line being executed, not
//! the line a function starts on (`Lib/profiling/sampling/pstats_collector.py`), so one
//! function is spread over as many keys as it had lines running. The file does not
//! hold the first line of the code object, so a function is identified as its
//! sampling profiler's own summary identifies it (`_print_summary` adds the keys up by
//! file and function name): by file and qualified name, which is what the unwinder
//! reads (`co_qualname`). The group is shown at its smallest line, the nearest to
//! where the function starts that the file knows.

use std::collections::HashMap;

use super::{Count, FuncId, FuncKey, Profile, ProfileBuilder, Stats};

impl Profile {
    /// The profile with every `(file, name)` function's per-line keys made one, at the
    /// smallest of their lines; edges between them are added up (their counts are
    /// samples). Counts and times of a group are the sums of its lines', except that a
    /// sample in which the function was on the stack at two of its lines (recursion)
    /// was counted at each: the calls from one of its lines to another are taken off
    /// its cumulative samples, which stay between the largest line's and the sum.
    pub fn group_lines(&self) -> Profile {
        let n = self.functions().len();
        // The group of each function: the first function of its (file, name).
        let mut first: HashMap<(&str, &str), FuncId> = HashMap::new();
        let mut group = Vec::with_capacity(n);
        let mut line = Vec::with_capacity(n);
        for (id, f) in self.functions().iter().enumerate() {
            let g = *first
                .entry((f.key.file.as_str(), f.key.name.as_str()))
                .or_insert(id as FuncId);
            group.push(g);
            line.push(f.key.line);
            let l = &mut line[g as usize];
            *l = (*l).min(f.key.line);
        }
        if first.len() == n {
            return self.clone();
        }
        let key = |id: FuncId| {
            let g = group[id as usize];
            let k = &self.function(g).key;
            FuncKey::new(k.file.clone(), line[g as usize], k.name.clone())
        };
        // Samples counted twice in a group's cumulative count: calls between two of
        // its lines.
        let mut twice: Vec<Count> = vec![0; n];
        let mut largest: Vec<Count> = vec![0; n];
        for e in self.edges() {
            let g = group[e.callee as usize];
            if g == group[e.caller as usize] && e.caller != e.callee {
                twice[g as usize] = twice[g as usize].saturating_add(e.stats.calls().max(0));
            }
        }
        let mut sums: Vec<(Stats, bool)> = vec![(Stats::default(), false); n];
        for (id, f) in self.functions().iter().enumerate() {
            if f.listed {
                let g = group[id] as usize;
                sums[g].0.add(&f.stats);
                sums[g].1 = true;
                largest[g] = largest[g].max(f.stats.nc);
            }
        }
        let mut b = ProfileBuilder::new();
        for id in 0..n {
            if group[id] as usize != id {
                continue;
            }
            let (mut s, listed) = sums[id];
            if !listed {
                b.intern(key(id as FuncId));
                continue;
            }
            let (nc, ct) = (s.nc, s.ct);
            if twice[id] > 0 && nc > 0 {
                let kept = nc.saturating_sub(twice[id]).clamp(largest[id], nc);
                s.nc = kept;
                s.ct = ct * (kept as f64 / nc as f64);
            }
            b.add_function(key(id as FuncId), s);
        }
        for e in self.edges() {
            b.add_edge(key(e.caller), key(e.callee), e.stats);
        }
        b.finish().with_measure(self.measure())
    }
}
