//! [`ProfileBuilder`]: functions and edges collected in any order, interned by key
//! through a seeded hash index, then summed, sorted and indexed into a [`Profile`].

use std::collections::HashMap;

use super::{Edge, EdgeStats, FuncId, FuncKey, Function, NO_FUNCTION, Profile, Stats, Text};

/// Collects functions and edges in any order; `finish` sorts and indexes them.
///
/// Edges are appended to a flat list (no hashing per edge) and summed per
/// `(caller, callee)` pair in `finish`, in the order they were added. Runs of edges
/// into one callee (a stats row's callers dict) are noted as they are added, so that
/// `finish` orders the edges by callee one run at a time.
///
/// The order rows are first listed in is the stats dict's order (a key met again
/// keeps its place, as in a Python dict), and the first edge kept into a callee is the
/// first entry of its callers dict: both are kept for `-f stats`, where pstats' order
/// shows (see [`Profile::listing_order`]).
#[derive(Default)]
pub struct ProfileBuilder {
    index: KeyIndex,
    functions: Vec<Function>,
    /// Caller and callee are builder indexes until `finish` renumbers them.
    edges: Vec<Edge>,
    /// Per function: edges into it added before this position were cleared by
    /// [`ProfileBuilder::clear_callers`] (0 = none).
    cleared_before: Vec<u32>,
    /// `(callee, start)` of each run of edges into one callee, by start; a run ends
    /// where the next starts. A run never spans a clearing of its callee's edges.
    runs: Vec<(u32, u32)>,
    /// The functions in the order they were first listed (a row of the stats dict).
    listing: Vec<u32>,
}

/// A function's index in a [`ProfileBuilder`] (not its final [`FuncId`](crate::model::FuncId)).
pub type BuilderId = usize;

impl ProfileBuilder {
    /// The key of the function interned as `id`.
    pub fn key(&self, id: BuilderId) -> &FuncKey {
        &self.functions[id].key
    }

    /// How many distinct functions have been interned so far.
    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    pub fn new() -> ProfileBuilder {
        ProfileBuilder::default()
    }

    /// The builder index of `key`, adding it (with zero numbers, unlisted) if new.
    pub fn intern(&mut self, key: FuncKey) -> BuilderId {
        let hash = self.index.hash(&key);
        match self.find_or_index(hash, &key.file, key.line, &key.name) {
            Some(i) => i,
            None => self.push_indexed(key),
        }
    }

    /// The hash of a text, as [`ProfileBuilder::intern_parts`] takes it: a reader that
    /// meets one string object in many keys hashes it once.
    pub fn text_hash(&self, text: &Text) -> u64 {
        self.index.text_hash(text)
    }

    /// [`ProfileBuilder::intern`] of `(file, line, name)`, given the [`text_hash`] of
    /// `file` and of `name`; the texts are cloned only if the key is new.
    ///
    /// [`text_hash`]: ProfileBuilder::text_hash
    pub fn intern_parts(
        &mut self,
        (file, file_hash): (&Text, u64),
        line: i64,
        (name, name_hash): (&Text, u64),
    ) -> BuilderId {
        let hash = KeyIndex::combine(file_hash, line, name_hash);
        match self.find_or_index(hash, file, line, name) {
            Some(i) => i,
            None => self.push_indexed(FuncKey {
                file: file.clone(),
                line,
                name: name.clone(),
            }),
        }
    }

    /// The index of the key `(file, line, name)` if known; if not, the index of the
    /// next function is filed under `hash` and [`ProfileBuilder::push_indexed`] must
    /// add the key.
    fn find_or_index(
        &mut self,
        hash: u64,
        file: &Text,
        line: i64,
        name: &Text,
    ) -> Option<BuilderId> {
        use std::collections::hash_map::Entry;
        let i = self.functions.len() as u32;
        let prev = match self.index.heads.entry(hash) {
            Entry::Occupied(mut e) => {
                let mut j = *e.get();
                while j != KeyIndex::NONE {
                    let k = &self.functions[j as usize].key;
                    if k.line == line && k.file == *file && k.name == *name {
                        return Some(j as BuilderId);
                    }
                    j = self.index.next[j as usize];
                }
                e.insert(i)
            }
            Entry::Vacant(e) => {
                e.insert(i);
                KeyIndex::NONE
            }
        };
        self.index.next.push(prev);
        None
    }

    fn push_indexed(&mut self, key: FuncKey) -> BuilderId {
        let i = self.functions.len();
        self.functions.push(Function {
            key,
            stats: Stats::default(),
            listed: false,
        });
        self.cleared_before.push(0);
        i
    }

    /// Adds a row of the stats dict. A key seen before is summed, as `pstats.Stats.add` does.
    pub fn add_function(&mut self, key: FuncKey, stats: Stats) {
        let i = self.intern(key);
        let f = &mut self.functions[i];
        f.stats.add(&stats);
        if !f.listed {
            f.listed = true;
            self.listing.push(i as u32);
        }
    }

    /// Replaces a row (a duplicate key inside one dict keeps the last value).
    /// Its previous caller edges are dropped by the caller of this method if needed.
    pub fn set_function(&mut self, key: FuncKey, stats: Stats) {
        let i = self.intern(key);
        self.set_function_id(i, stats);
    }

    /// [`ProfileBuilder::set_function`] by index; returns whether the row was already listed.
    pub fn set_function_id(&mut self, i: BuilderId, stats: Stats) -> bool {
        let f = &mut self.functions[i];
        let was = f.listed;
        f.stats = stats;
        f.listed = true;
        if !was {
            self.listing.push(i as u32);
        }
        was
    }

    /// Adds a caller→callee edge; edges between the same pair are summed.
    pub fn add_edge(&mut self, caller: FuncKey, callee: FuncKey, stats: EdgeStats) {
        let a = self.intern(caller);
        let b = self.intern(callee);
        self.add_edge_ids(a, b, stats);
    }

    /// [`ProfileBuilder::add_edge`] by index.
    pub fn add_edge_ids(&mut self, caller: BuilderId, callee: BuilderId, stats: EdgeStats) {
        let at = self.edges.len() as u32;
        match self.runs.last() {
            Some(&(c, start)) if c == callee as u32 && start >= self.cleared_before[callee] => {}
            _ => self.runs.push((callee as u32, at)),
        }
        self.edges.push(Edge {
            caller: caller as u32,
            callee: callee as u32,
            stats,
        });
    }

    /// Reserves room for `functions` more functions and `edges` more edges: a hint,
    /// ignored where the memory is not to be had (the tables then grow as they fill).
    pub fn reserve(&mut self, functions: usize, edges: usize) {
        self.index.reserve(functions);
        let _ = self.functions.try_reserve(functions);
        let _ = self.cleared_before.try_reserve(functions);
        let _ = self.runs.try_reserve(functions);
        let _ = self.listing.try_reserve(functions);
        let _ = self.edges.try_reserve(edges);
    }

    /// Removes every caller edge of `callee` (used when a duplicate key replaces a row).
    pub fn clear_callers(&mut self, callee: &FuncKey) {
        let hash = self.index.hash(callee);
        if let Some(b) = self.index.find(hash, callee, &self.functions) {
            self.clear_callers_id(b);
        }
    }

    /// [`ProfileBuilder::clear_callers`] by index; O(1), the edges are dropped in `finish`.
    pub fn clear_callers_id(&mut self, callee: BuilderId) {
        self.cleared_before[callee] = self.edges.len() as u32;
    }

    pub fn finish(self) -> Profile {
        let ProfileBuilder {
            index,
            mut functions,
            mut edges,
            cleared_before,
            runs,
            listing,
        } = self;
        drop(index);
        let mut order = sorted_order(&functions);
        let mut new_id = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old as usize] = new as u32;
        }
        permute(&mut functions, &mut order);
        drop(order);
        let listing: Vec<FuncId> = listing.iter().map(|&i| new_id[i as usize]).collect();

        // The runs as (callee, start, end), renumbered, without those cleared: a run
        // is wholly kept or wholly cleared.
        let mut ends = runs.iter().skip(1).map(|r| r.1).chain([edges.len() as u32]);
        let mut runs: Vec<(u32, u32, u32)> = runs
            .iter()
            .map(|&(callee, start)| (callee, start, ends.next().unwrap_or(start)))
            .filter(|&(callee, start, _)| start >= cleared_before[callee as usize])
            .map(|(callee, start, end)| (new_id[callee as usize], start, end))
            .collect();
        drop(cleared_before);
        let kept: usize = runs.iter().map(|r| (r.2 - r.1) as usize).sum();
        // Each callee's first kept run, in the order added, starts with the first
        // entry of its callers dict.
        let mut first_caller = vec![NO_FUNCTION; functions.len()];
        for &(callee, start, _) in &runs {
            let first = &mut first_caller[callee as usize];
            if *first == NO_FUNCTION {
                *first = new_id[edges[start as usize].caller as usize];
            }
        }

        // Order by callee, renumbering: the runs are sorted by (callee, position) and
        // copied whole, which keeps insertion order within each callee; in place if
        // they already are in that order and none was cleared.
        if kept == edges.len() && runs.windows(2).all(|w| w[0].0 < w[1].0) {
            for e in &mut edges {
                e.caller = new_id[e.caller as usize];
                e.callee = new_id[e.callee as usize];
            }
        } else {
            runs = runs_by_callee(runs, functions.len());
            let mut sorted: Vec<Edge> = Vec::with_capacity(kept);
            for &(callee, start, end) in &runs {
                sorted.extend(edges[start as usize..end as usize].iter().map(|e| Edge {
                    caller: new_id[e.caller as usize],
                    callee,
                    stats: e.stats,
                }));
            }
            edges = sorted;
        }
        drop(new_id);
        // Then, per callee, by caller (a stable sort: duplicates of a pair are summed
        // in the order they were added), summing duplicates as the edges move down.
        let (mut keys, mut from) = (Vec::new(), Vec::new());
        let mut write = 0usize;
        let mut start = 0usize;
        let mut r = 0usize;
        while r < runs.len() {
            let callee = runs[r].0;
            let mut len = 0usize;
            while r < runs.len() && runs[r].0 == callee {
                len += (runs[r].2 - runs[r].1) as usize;
                r += 1;
            }
            let group = &mut edges[start..start + len];
            if !group.is_sorted_by_key(|e| e.caller) {
                sort_by_caller(group, &mut keys, &mut from);
            }
            let first = write;
            for i in start..start + len {
                if write > first && edges[write - 1].caller == edges[i].caller {
                    let later = edges[i].stats;
                    edges[write - 1].stats.add(&later);
                } else {
                    if write != i {
                        edges[write] = edges[i];
                    }
                    write += 1;
                }
            }
            start += len;
        }
        drop(runs);
        edges.truncate(write);
        edges.shrink_to_fit();
        Profile::from_sorted(functions, edges, listing, first_caller)
    }
}

/// `runs` (callee, start, end), listed by start, ordered by (callee, start): a stable
/// counting sort by callee (callees are below `n`).
pub(super) fn runs_by_callee(runs: Vec<(u32, u32, u32)>, n: usize) -> Vec<(u32, u32, u32)> {
    let mut next = vec![0u32; n + 1];
    for r in &runs {
        next[r.0 as usize + 1] += 1;
    }
    for k in 0..n {
        next[k + 1] += next[k];
    }
    let mut out = vec![(0, 0, 0); runs.len()];
    for r in runs {
        let at = &mut next[r.0 as usize];
        out[*at as usize] = r;
        *at += 1;
    }
    out
}

/// Sorts one callee's edges by caller, stably. A few are sorted as they are; more
/// by their `(caller, position)` pairs, sorted as integers, then moved in place each
/// once (a comparison sort of many edges moves the 64-byte edges many times, and
/// allocates room for half of them).
pub(super) fn sort_by_caller(group: &mut [Edge], keys: &mut Vec<u64>, from: &mut Vec<u32>) {
    if group.len() <= 20 {
        group.sort_by_key(|e| e.caller);
        return;
    }
    keys.clear();
    keys.extend(
        group
            .iter()
            .enumerate()
            .map(|(i, e)| (u64::from(e.caller) << 32) | i as u64),
    );
    keys.sort_unstable();
    from.clear();
    from.extend(keys.iter().map(|&k| k as u32));
    permute(group, from);
}

/// Reorders `items` in place so that position `i` holds the item that was at
/// `from[i]` (`from` is a permutation, and is used up).
pub(super) fn permute<T>(items: &mut [T], from: &mut [u32]) {
    const DONE: u32 = u32::MAX;
    for start in 0..items.len().min(from.len()) {
        // Follow the cycle through `start`: each position takes the item it wants,
        // and the item first at `start` ends where the cycle closes.
        let mut j = start;
        while from[j] != DONE {
            let k = from[j] as usize;
            from[j] = DONE;
            if k == start {
                break;
            }
            items.swap(j, k);
            j = k;
        }
    }
}

/// The indexes of `functions` in key order. Each distinct file name is ranked once (a
/// file name is usually one slice of the input shared by many keys), so that most
/// comparisons are of two integers rather than of two long paths.
fn sorted_order(functions: &[Function]) -> Vec<u32> {
    // Real profiles have one file per 5-15 functions: room for one per 4, never regrown.
    let mut by_slice: HashMap<(usize, usize), u32, KeyHashState> =
        HashMap::with_capacity_and_hasher(functions.len() / 4, KeyHashState::default());
    let mut files: Vec<&Text> = Vec::new();
    let file_of: Vec<u32> = functions
        .iter()
        .map(|f| {
            let t = &f.key.file;
            *by_slice.entry(t.slice_id()).or_insert_with(|| {
                files.push(t);
                files.len() as u32 - 1
            })
        })
        .collect();
    drop(by_slice);
    let mut by_text: Vec<u32> = (0..files.len() as u32).collect();
    by_text.sort_unstable_by(|&a, &b| files[a as usize].cmp(files[b as usize]));
    // Equal file names in different slices get one rank.
    let mut rank = vec![0u32; files.len()];
    let mut r = 0u32;
    for (i, &f) in by_text.iter().enumerate() {
        if i > 0 && files[by_text[i - 1] as usize] != files[f as usize] {
            r += 1;
        }
        rank[f as usize] = r;
    }
    if let Some(order) = packed_order(functions, &file_of, &rank, r) {
        return order;
    }
    let mut keyed: Vec<(u32, i64, u32)> = functions
        .iter()
        .enumerate()
        .map(|(i, f)| (rank[file_of[i] as usize], f.key.line, i as u32))
        .collect();
    // Keys are unique (interned): an unstable sort gives the one order.
    keyed.sort_unstable_by(|a, b| {
        (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| {
            let (x, y) = (&functions[a.2 as usize].key, &functions[b.2 as usize].key);
            x.name.cmp(&y.name)
        })
    });
    keyed.into_iter().map(|k| k.2).collect()
}

/// [`sorted_order`] when `(file rank, line - lowest line)` fits in 64 bits (as in
/// every real file): a stable radix sort of the indexes by that integer, then each run
/// of one file and line (builtins share `~:0`) is ordered by name.
fn packed_order(
    functions: &[Function],
    file_of: &[u32],
    rank: &[u32],
    max_rank: u32,
) -> Option<Vec<u32>> {
    let bits = |x: u64| u64::BITS - x.leading_zeros();
    let (lo, hi) = functions.iter().fold((i64::MAX, i64::MIN), |(lo, hi), f| {
        (lo.min(f.key.line), hi.max(f.key.line))
    });
    let span = u64::try_from(i128::from(hi) - i128::from(lo)).ok()?;
    let line_bits = bits(span);
    let total = line_bits + bits(max_rank.into());
    if total > 64 || functions.len() > u32::MAX as usize {
        return None;
    }
    let packed: Vec<u64> = functions
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let rank = u64::from(rank[file_of[i] as usize]);
            rank.checked_shl(line_bits).unwrap_or(0) | f.key.line.wrapping_sub(lo) as u64
        })
        .collect();
    let mut order: Vec<u32> = (0..functions.len() as u32).collect();
    if total > 0 {
        // Least significant digit first, at most 12 bits a pass.
        let passes = total.div_ceil(12);
        let width = total.div_ceil(passes);
        let mask = (1u64 << width) - 1;
        let mut next = vec![0u32; 1 << width];
        let mut moved = vec![0u32; order.len()];
        for pass in 0..passes {
            let shift = pass * width;
            next.fill(0);
            for &p in &packed {
                next[((p >> shift) & mask) as usize] += 1;
            }
            let mut sum = 0;
            for slot in next.iter_mut() {
                (*slot, sum) = (sum, sum + *slot);
            }
            for &i in &order {
                let slot = &mut next[((packed[i as usize] >> shift) & mask) as usize];
                moved[*slot as usize] = i;
                *slot += 1;
            }
            std::mem::swap(&mut order, &mut moved);
        }
    }
    let mut start = 0;
    while start < order.len() {
        let head = packed[order[start] as usize];
        let mut end = start + 1;
        while end < order.len() && packed[order[end] as usize] == head {
            end += 1;
        }
        if end - start > 1 {
            order[start..end].sort_unstable_by(|&a, &b| {
                functions[a as usize]
                    .key
                    .name
                    .cmp(&functions[b as usize].key.name)
            });
        }
        start = end;
    }
    Some(order)
}

/// The builder's key → index table. It holds each key's hash and index, not a copy
/// of the key: keys with one hash are chained through `next`, and compared with the
/// keys in `functions`.
#[derive(Default)]
struct KeyIndex {
    hasher: KeyHashState,
    /// Hash → the last function added with that hash.
    heads: HashMap<u64, u32, KeyHashState>,
    /// Per function: the previous function with the same hash (`NONE` ends a chain).
    next: Vec<u32>,
}

impl KeyIndex {
    const NONE: u32 = u32::MAX;

    /// A key's hash: its texts' hashes and its line, mixed.
    fn hash(&self, key: &FuncKey) -> u64 {
        Self::combine(
            self.text_hash(&key.file),
            key.line,
            self.text_hash(&key.name),
        )
    }

    fn text_hash(&self, text: &Text) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(text.as_str())
    }

    fn combine(file: u64, line: i64, name: u64) -> u64 {
        // The texts' hashes are seeded already: a fixed seed mixes them.
        use std::hash::BuildHasher;
        foldhash::fast::FixedState::default().hash_one((file, line, name))
    }

    fn find(&self, hash: u64, key: &FuncKey, functions: &[Function]) -> Option<BuilderId> {
        let mut i = *self.heads.get(&hash)?;
        while i != Self::NONE {
            if functions[i as usize].key == *key {
                return Some(i as BuilderId);
            }
            i = self.next[i as usize];
        }
        None
    }

    fn reserve(&mut self, n: usize) {
        self.heads.reserve(n);
        self.next.reserve(n);
    }
}

/// The hasher of the builder's key index and of `finish`'s file table: fast on file
/// paths, and seeded per process so that a crafted file cannot make its keys collide.
type KeyHashState = foldhash::fast::RandomState;
