//! The core model: a profile as functions and caller→callee edges, independent of
//! where it was read from and of how it will be drawn.
//!
//! Functions are interned by their `(file, line, name)` label and sorted by it, so
//! nothing downstream ever depends on the order of the stats dict (real files are
//! ordered by memory address). Merging follows `pstats.Stats.add`.

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;

/// UTF-8 text: short strings (most function names) are kept inline, longer ones
/// share the input buffer (sliced, not copied). Inline texts cost no reference counting
/// to make, copy or drop, which a large profile does millions of times.
#[derive(Clone, Default)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; Text::INLINE] },
    Shared(Bytes),
}

impl Default for Repr {
    fn default() -> Repr {
        Repr::Inline {
            len: 0,
            bytes: [0; Text::INLINE],
        }
    }
}

// Inline texts make a text no larger than the `Bytes` it would otherwise be.
const _: () = assert!(std::mem::size_of::<Text>() == std::mem::size_of::<Bytes>());

impl Text {
    /// The longest text kept inline.
    const INLINE: usize = 23;

    /// Bytes known to be valid UTF-8: copied inline if short, else shared.
    fn valid(bytes: &[u8], shared: impl FnOnce() -> Bytes) -> Text {
        if bytes.len() <= Self::INLINE {
            let mut inline = [0u8; Self::INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            Text(Repr::Inline {
                len: bytes.len() as u8,
                bytes: inline,
            })
        } else {
            Text(Repr::Shared(shared()))
        }
    }

    /// Wraps bytes that are already valid UTF-8; anything else is decoded lossily
    /// (invalid sequences and lone surrogates become U+FFFD) into a fresh buffer.
    pub fn from_utf8_lossy(bytes: Bytes) -> Text {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Text::valid(&bytes, || bytes.clone()),
            Err(_) => Text::from(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    /// [`Text::from_utf8_lossy`] of `data[range]`, slicing `data` only if the text is
    /// not kept inline.
    pub fn from_utf8_lossy_in(data: &Bytes, range: std::ops::Range<usize>) -> Text {
        let bytes = &data[range.clone()];
        match std::str::from_utf8(bytes) {
            Ok(_) => Text::valid(bytes, || data.slice(range)),
            Err(_) => Text::from(String::from_utf8_lossy(bytes).into_owned()),
        }
    }

    /// Decodes Latin-1 bytes (marshal's `a`/`A`/`z`/`Z` codes are read as Latin-1).
    #[inline]
    pub fn from_latin1(bytes: Bytes) -> Text {
        if bytes.is_ascii() {
            Text::valid(&bytes, || bytes.clone())
        } else {
            Text::from(bytes.iter().map(|&b| b as char).collect::<String>())
        }
    }

    /// [`Text::from_latin1`] of `data[range]`, slicing `data` only if the text is not
    /// kept inline.
    #[inline]
    pub fn from_latin1_in(data: &Bytes, range: std::ops::Range<usize>) -> Text {
        let bytes = &data[range.clone()];
        if bytes.is_ascii() {
            Text::valid(bytes, || data.slice(range))
        } else {
            Text::from(bytes.iter().map(|&b| b as char).collect::<String>())
        }
    }

    /// `data[range]` if it is valid UTF-8 (inline if short, else sliced), else `None`.
    pub fn from_utf8_in(data: &Bytes, range: std::ops::Range<usize>) -> Option<Text> {
        let bytes = &data[range.clone()];
        std::str::from_utf8(bytes).ok()?;
        Some(Text::valid(bytes, || data.slice(range)))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text cut to at most `max` bytes by eliding its middle (`head…tail`, on
    /// character boundaries), or `None` if it is no longer than `max` already.
    pub fn shortened(&self, max: usize) -> Option<Text> {
        shortened_str(self.as_str(), max).map(Text::from)
    }

    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Shared(b) => b,
        }
    }

    pub fn as_str(&self) -> &str {
        debug_assert!(std::str::from_utf8(self.as_bytes()).is_ok());
        // SAFETY: the field is private and every constructor above stores valid UTF-8
        // (checked, converted from Latin-1, or taken from a `str`/`String`), inline
        // texts are copies of whole valid texts, and `Bytes` is immutable. Re-checking
        // on every call cost ~5 % of a run.
        unsafe { std::str::from_utf8_unchecked(self.as_bytes()) }
    }
}

/// The mark that stands for the elided middle of a [`Text::shortened`] text.
pub const ELISION: &str = "…";

/// `s` cut to at most `max` bytes by eliding its middle, or `None` if it fits. The head
/// keeps about two thirds of the room (a path's directories or a qualified name's
/// outer parts say most), the tail the rest (the file or the innermost name).
pub fn shortened_str(s: &str, max: usize) -> Option<String> {
    if s.len() <= max {
        return None;
    }
    let room = max.saturating_sub(ELISION.len());
    let mut head = room * 2 / 3;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - (room - head);
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    let mut out = String::with_capacity(max);
    out.push_str(&s[..head]);
    out.push_str(ELISION);
    out.push_str(&s[tail..]);
    Some(out)
}

// Texts compare, order and hash as their strings, however they are kept.
impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_bytes().hash(h)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::valid(s.as_bytes(), || Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        if s.len() <= Self::INLINE {
            Text::from(s.as_str())
        } else {
            Text(Repr::Shared(Bytes::from(s)))
        }
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A call count. Python counts are unbounded; values past `i128` saturate.
pub type Count = i128;

/// A count as a float, exactly as `n as f64` rounds it; quick when the count fits in
/// 64 bits, as real counts do (`i128 as f64` is a library call).
#[inline]
pub fn count_f64(n: Count) -> f64 {
    // Kept out of line: inlined, the two arms are one `n as f64` to the optimizer.
    #[cold]
    #[inline(never)]
    fn wide(n: Count) -> f64 {
        n as f64
    }
    match i64::try_from(n) {
        Ok(small) => small as f64,
        Err(_) => wide(n),
    }
}

/// The label pstats gives a function.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncKey {
    pub file: Text,
    pub line: i64,
    pub name: Text,
}

impl FuncKey {
    pub fn new(file: impl Into<Text>, line: i64, name: impl Into<Text>) -> FuncKey {
        FuncKey {
            file: file.into(),
            line,
            name: name.into(),
        }
    }

    /// True for cProfile's builtin pseudo-file `~` and the `profile` module's `''`.
    pub fn is_builtin(&self) -> bool {
        matches!(self.file.as_str(), "~" | "") && self.line == 0
    }

    /// What `pstats.func_std_string` prints: `file:line(name)`, or `{name}` for builtins.
    pub fn display(&self) -> String {
        let mut out = String::new();
        self.write_display(&mut out);
        out
    }

    /// Appends [`FuncKey::display`] to `out`, without allocating a string of its own.
    pub fn write_display(&self, out: &mut String) {
        self.display_pieces(|piece| out.push_str(piece));
    }

    /// The label [`FuncKey::display`] gives, as the pieces it is made of, in order (for
    /// a reader that needs its bytes, not a string).
    pub fn display_pieces(&self, mut piece: impl FnMut(&str)) {
        let name = self.name.as_str();
        if self.file.as_str() == "~" && self.line == 0 {
            if name.starts_with('<') && name.ends_with('>') && name.len() >= 2 {
                piece("{");
                piece(&name[1..name.len() - 1]);
                piece("}");
            } else {
                piece(name);
            }
        } else {
            piece(self.file.as_str());
            piece(":");
            let mut digits = [0u8; 21];
            piece(decimal(
                &mut digits,
                self.line.unsigned_abs(),
                self.line < 0,
            ));
            piece("(");
            piece(name);
            piece(")");
        }
    }
}

/// `n` (negated if `negative`) in decimal, as `{}` formats it, written at the end of
/// `buf` (without the formatting machinery, which costs more than the rest of a label).
fn decimal(buf: &mut [u8; 21], n: u64, negative: bool) -> &str {
    let mut at = buf.len();
    let mut v = n;
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        at -= 1;
        buf[at] = b'-';
    }
    // Only ASCII digits and '-' were written.
    std::str::from_utf8(&buf[at..]).unwrap_or_default()
}

/// The four numbers pstats keeps per function: primitive calls, total calls,
/// own time and cumulative time (seconds).
///
/// Packed to 8-byte alignment (the counts are `i128`, 16-aligned by default): an
/// [`Edge`] then takes 64 bytes instead of 80, and a 1M-edge profile's tables shrink by a
/// fifth. Fields are read by value (`{ s.cc }`), as references to them may be unaligned.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, packed(8))]
pub struct Stats {
    pub cc: Count,
    pub nc: Count,
    pub tt: f64,
    pub ct: f64,
}

impl Stats {
    pub fn add(&mut self, other: &Stats) {
        self.cc = self.cc.saturating_add(other.cc);
        self.nc = self.nc.saturating_add(other.nc);
        self.tt += other.tt;
        self.ct += other.ct;
    }
}

/// Index of a function in [`Profile::functions`].
pub type FuncId = u32;

/// One function: its label, its numbers, and whether the stats dict listed it
/// (a function seen only as somebody's caller is kept with zero numbers).
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub key: FuncKey,
    pub stats: Stats,
    pub listed: bool,
}

/// What one caller→callee edge records about the callee when called from that caller.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EdgeStats {
    /// cProfile: `(nc, cc, tt, ct)` of the callee under this caller.
    Timed(Stats),
    /// `profile` module and sampled files: a bare call (or sample) count.
    Count(PackedCount),
}

/// A call count kept at 8-byte alignment, as in [`Stats`], so that an [`EdgeStats`]
/// takes 56 bytes rather than 64.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, packed(8))]
pub struct PackedCount(Count);

impl PackedCount {
    pub fn get(self) -> Count {
        self.0
    }
}

impl From<Count> for PackedCount {
    fn from(n: Count) -> PackedCount {
        PackedCount(n)
    }
}

impl EdgeStats {
    pub fn calls(&self) -> Count {
        match self {
            EdgeStats::Timed(s) => s.nc,
            EdgeStats::Count(n) => n.get(),
        }
    }

    /// Adds two edges as `pstats.Stats.add` does; timed + count keeps the timed part
    /// and adds the count to both call counts (pstats itself raises here).
    fn add(&mut self, other: &EdgeStats) {
        *self = match (*self, *other) {
            (EdgeStats::Timed(mut a), EdgeStats::Timed(b)) => {
                a.add(&b);
                EdgeStats::Timed(a)
            }
            (EdgeStats::Count(a), EdgeStats::Count(b)) => {
                EdgeStats::Count(a.get().saturating_add(b.get()).into())
            }
            (EdgeStats::Timed(mut a), EdgeStats::Count(n))
            | (EdgeStats::Count(n), EdgeStats::Timed(mut a)) => {
                a.nc = { a.nc }.saturating_add(n.get());
                a.cc = { a.cc }.saturating_add(n.get());
                EdgeStats::Timed(a)
            }
        };
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Edge {
    pub caller: FuncId,
    pub callee: FuncId,
    pub stats: EdgeStats,
}

const _: () = assert!(std::mem::size_of::<Edge>() == 64);

/// A whole profile. Functions are sorted by key; edges by `(callee, caller)`;
/// `callers_of`/`callees_of` give each function's slice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    functions: Vec<Function>,
    edges: Vec<Edge>,
    /// Edge indexes sorted by `(caller, callee)`.
    by_caller: Vec<u32>,
    callers_start: Vec<u32>,
    callees_start: Vec<u32>,
    /// Strongly connected components, computed on first use (see [`Profile::components`]).
    components: Derived<Vec<u32>>,
}

/// Data derived from a profile on first use. Not part of the profile's identity: two
/// profiles compare equal whether or not either has computed it.
#[derive(Clone, Debug, Default)]
struct Derived<T>(std::sync::OnceLock<T>);

impl<T> PartialEq for Derived<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Collects functions and edges in any order; `finish` sorts and indexes them.
///
/// Edges are appended to a flat list (no hashing per edge) and summed per
/// `(caller, callee)` pair in `finish`, in the order they were added. Runs of edges
/// into one callee (a stats row's callers dict) are noted as they are added, so that
/// `finish` orders the edges by callee one run at a time.
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
}

/// A function's index in a [`ProfileBuilder`] (not its final [`FuncId`]).
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
        f.listed = true;
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
        } = self;
        drop(index);
        let mut order = sorted_order(&functions);
        let mut new_id = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old as usize] = new as u32;
        }
        permute(&mut functions, &mut order);
        drop(order);

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
        Profile::from_sorted(functions, edges)
    }
}

/// `runs` (callee, start, end), listed by start, ordered by (callee, start): a stable
/// counting sort by callee (callees are below `n`).
fn runs_by_callee(runs: Vec<(u32, u32, u32)>, n: usize) -> Vec<(u32, u32, u32)> {
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
fn sort_by_caller(group: &mut [Edge], keys: &mut Vec<u64>, from: &mut Vec<u32>) {
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
fn permute<T>(items: &mut [T], from: &mut [u32]) {
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

impl Text {
    /// Where the text's bytes are: two texts with one slice id hold the same bytes.
    fn slice_id(&self) -> (usize, usize) {
        let b = self.as_bytes();
        (b.as_ptr() as usize, b.len())
    }
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

impl Profile {
    fn from_sorted(functions: Vec<Function>, edges: Vec<Edge>) -> Profile {
        let n = functions.len();
        let mut callers_start = vec![0u32; n + 1];
        let mut callees_start = vec![0u32; n + 1];
        for e in &edges {
            callers_start[e.callee as usize + 1] += 1;
            callees_start[e.caller as usize + 1] += 1;
        }
        for i in 0..n {
            callers_start[i + 1] += callers_start[i];
            callees_start[i + 1] += callees_start[i];
        }
        // Edges are sorted by (callee, caller): a stable counting sort by caller gives
        // (caller, callee) order, as the pairs are unique.
        let mut next = callees_start.clone();
        let mut by_caller = vec![0u32; edges.len()];
        for (i, e) in edges.iter().enumerate() {
            let k = e.caller as usize;
            by_caller[next[k] as usize] = i as u32;
            next[k] += 1;
        }
        Profile {
            functions,
            edges,
            by_caller,
            callers_start,
            callees_start,
            components: Derived::default(),
        }
    }

    pub fn functions(&self) -> &[Function] {
        &self.functions
    }

    pub fn function(&self, id: FuncId) -> &Function {
        &self.functions[id as usize]
    }

    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }

    /// Functions listed in the stats dict (what `len(pstats.Stats.stats)` counts).
    pub fn listed_count(&self) -> usize {
        self.functions.iter().filter(|f| f.listed).count()
    }

    pub fn find(&self, key: &FuncKey) -> Option<FuncId> {
        self.functions
            .binary_search_by(|f| f.key.cmp(key))
            .ok()
            .map(|i| i as FuncId)
    }

    /// Edges into `callee`, sorted by caller.
    pub fn callers_of(&self, callee: FuncId) -> &[Edge] {
        let i = callee as usize;
        &self.edges[self.callers_start[i] as usize..self.callers_start[i + 1] as usize]
    }

    /// Indexes into [`Profile::edges`] of the edges out of `caller`, sorted by callee.
    pub fn callee_edge_ids(&self, caller: FuncId) -> &[u32] {
        let i = caller as usize;
        &self.by_caller[self.callees_start[i] as usize..self.callees_start[i + 1] as usize]
    }

    /// Edges out of `caller`, sorted by callee.
    pub fn callees_of(&self, caller: FuncId) -> impl ExactSizeIterator<Item = &Edge> + '_ {
        self.callee_edge_ids(caller)
            .iter()
            .map(|&e| &self.edges[e as usize])
    }

    /// Totals as `pstats.Stats.get_top_level_stats` adds them: (Σnc, Σcc, Σtt).
    pub fn totals(&self) -> (Count, Count, f64) {
        self.functions.iter().fold((0, 0, 0.0), |(nc, cc, tt), f| {
            (
                nc.saturating_add(f.stats.nc),
                cc.saturating_add(f.stats.cc),
                tt + f.stats.tt,
            )
        })
    }

    /// The strongly connected component of every function in the call graph
    /// (Tarjan's algorithm, iterative): two functions share a component when each
    /// reaches the other through caller→callee edges.
    /// Computed once per profile, on the reversed graph (callee→caller), which has the
    /// same components: a function's callers are one run of [`Profile::edges`], read in
    /// order, where its callees are scattered over it. Component numbers only name
    /// components; nothing may depend on their order.
    pub fn components(&self) -> &[u32] {
        self.components.0.get_or_init(|| self.compute_components())
    }

    fn compute_components(&self) -> Vec<u32> {
        let profile = self;
        const UNSEEN: u32 = u32::MAX;
        let n = profile.functions().len();
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut comp = vec![UNSEEN; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut next_index = 0u32;
        let mut next_comp = 0u32;
        // Call stack of (node, position in its callee list).
        let mut work: Vec<(u32, usize)> = Vec::new();
        for start in 0..n as u32 {
            if index[start as usize] != UNSEEN {
                continue;
            }
            work.push((start, 0));
            while let Some(&mut (v, ref mut pos)) = work.last_mut() {
                let vi = v as usize;
                if *pos == 0 && index[vi] == UNSEEN {
                    index[vi] = next_index;
                    low[vi] = next_index;
                    next_index += 1;
                    stack.push(v);
                    on_stack[vi] = true;
                }
                let callers = profile.callers_of(v);
                if *pos < callers.len() {
                    let w = callers[*pos].caller;
                    *pos += 1;
                    let wi = w as usize;
                    if index[wi] == UNSEEN {
                        work.push((w, 0));
                    } else if on_stack[wi] {
                        low[vi] = low[vi].min(index[wi]);
                    }
                    continue;
                }
                work.pop();
                if let Some(&(p, _)) = work.last() {
                    low[p as usize] = low[p as usize].min(low[vi]);
                }
                if low[vi] == index[vi] {
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        comp[w as usize] = next_comp;
                        if w == v {
                            break;
                        }
                    }
                    next_comp += 1;
                }
            }
        }
        comp
    }

    /// Merges several profiles as `pstats.Stats.add` does: same keys summed, callers merged.
    pub fn merge(profiles: Vec<Profile>) -> Profile {
        if profiles.len() == 1 {
            return profiles.into_iter().next().expect("one profile");
        }
        let mut b = ProfileBuilder::new();
        for p in &profiles {
            for f in &p.functions {
                if f.listed {
                    b.add_function(f.key.clone(), f.stats);
                } else {
                    b.intern(f.key.clone());
                }
            }
            for e in &p.edges {
                b.add_edge(
                    p.function(e.caller).key.clone(),
                    p.function(e.callee).key.clone(),
                    e.stats,
                );
            }
        }
        b.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(cc: Count, nc: Count, tt: f64, ct: f64) -> Stats {
        Stats { cc, nc, tt, ct }
    }

    #[test]
    fn texts_inline_or_shared_behave_as_their_strings() {
        let long = "x".repeat(Text::INLINE + 1);
        let short = "y".repeat(Text::INLINE);
        let data = Bytes::from(format!("{long}{short}é"));
        let texts = [
            Text::from_latin1_in(&data, 0..long.len()),
            Text::from_utf8_lossy_in(&data, long.len()..data.len()),
            Text::from(short.as_str()),
            Text::from(long.clone()),
            Text::from_latin1(data.slice(long.len()..data.len())),
            Text::default(),
        ];
        let strings = [
            long.clone(),
            format!("{short}é"),
            short.clone(),
            long.clone(),
            format!("{short}Ã©"),
            String::new(),
        ];
        for (t, s) in texts.iter().zip(&strings) {
            assert_eq!(t.as_str(), s);
        }
        // Only the long text sliced from the input points into it.
        let inside = |t: &Text| data.as_ptr_range().contains(&t.as_str().as_ptr());
        assert!(inside(&texts[0]) && !inside(&texts[2]));
        assert_eq!(texts[0], texts[3]);
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        assert_eq!(state.hash_one(&texts[0]), state.hash_one(&texts[3]));
        for (a, sa) in texts.iter().zip(&strings) {
            for (b, sb) in texts.iter().zip(&strings) {
                assert_eq!(a.cmp(b), sa.cmp(sb), "{sa:?} vs {sb:?}");
                assert_eq!(a == b, sa == sb);
            }
        }
    }

    #[test]
    fn runs_order_by_callee_then_position() {
        // Runs listed by position (start), callees in a scrambled order with repeats.
        let runs: Vec<(u32, u32, u32)> = (0..500u32)
            .map(|i| ((i * 37 + 11) % 61, 2 * i, 2 * i + 2))
            .collect();
        let mut want = runs.clone();
        want.sort_unstable();
        assert_eq!(runs_by_callee(runs, 61), want);
    }

    #[test]
    fn clearing_a_callee_mid_run_keeps_only_its_later_edges() {
        let key = |name: &str| FuncKey::new("f.py", 1, name);
        let count = |n: Count| EdgeStats::Count(n.into());
        let mut b = ProfileBuilder::new();
        b.add_edge(key("y"), key("x"), count(1));
        b.add_edge(key("z"), key("x"), count(8));
        b.clear_callers(&key("x"));
        b.add_edge(key("z"), key("x"), count(2));
        b.add_edge(key("x"), key("w"), count(16));
        b.add_edge(key("y"), key("x"), count(4));
        let p = b.finish();
        let x = p.find(&key("x")).expect("x");
        let callers: Vec<(String, Count)> = p
            .callers_of(x)
            .iter()
            .map(|e| (p.function(e.caller).key.name.to_string(), e.stats.calls()))
            .collect();
        assert_eq!(callers, [("y".to_string(), 4), ("z".to_string(), 2)]);
        assert_eq!(p.edges().len(), 3);
    }

    #[test]
    fn sort_by_caller_is_stable() {
        for len in [5u32, 50] {
            // Callers scrambled with repeats; the count tells the edges apart.
            let mut group: Vec<Edge> = (0..len)
                .map(|i| Edge {
                    caller: (i * 37 + 11) % 13,
                    callee: 0,
                    stats: EdgeStats::Count(Count::from(i).into()),
                })
                .collect();
            let mut want = group.clone();
            want.sort_by_key(|e| e.caller);
            sort_by_caller(&mut group, &mut Vec::new(), &mut Vec::new());
            assert_eq!(group, want);
        }
    }

    #[test]
    fn counts_convert_as_casts_do() {
        let big = i128::from(i64::MAX);
        for n in [
            0,
            1,
            -1,
            3_535,
            big,
            big + 1,
            -big - 2,
            (1 << 100) + 12_345,
            i128::MIN,
        ] {
            assert_eq!(count_f64(n).to_bits(), (n as f64).to_bits(), "{n}");
        }
    }

    #[test]
    fn decimals_are_written_as_format_writes_them() {
        for n in [0, 1, -1, 9, 10, 99, 100, 12345, -907, i64::MAX, i64::MIN] {
            let mut buf = [0u8; 21];
            assert_eq!(decimal(&mut buf, n.unsigned_abs(), n < 0), format!("{n}"));
            let key = FuncKey::new("f.py", n, "g");
            assert_eq!(key.display(), format!("f.py:{n}(g)"));
        }
    }

    #[test]
    fn functions_are_sorted_whatever_the_insertion_order() {
        let mut b = ProfileBuilder::new();
        b.add_function(FuncKey::new("b.py", 1, "g"), st(1, 1, 1.0, 1.0));
        b.add_function(FuncKey::new("a.py", 9, "f"), st(1, 1, 2.0, 2.0));
        let p = b.finish();
        assert_eq!(p.function(0).key.file.as_str(), "a.py");
        assert_eq!(p.function(1).key.file.as_str(), "b.py");
    }

    #[test]
    fn merge_sums_rows_and_edges_like_pstats_add() {
        let one = || {
            let mut b = ProfileBuilder::new();
            let (f, g) = (FuncKey::new("a.py", 1, "f"), FuncKey::new("a.py", 2, "g"));
            b.add_function(f.clone(), st(1, 1, 1.0, 3.0));
            b.add_function(g.clone(), st(2, 2, 2.0, 2.0));
            b.add_edge(f, g, EdgeStats::Timed(st(2, 2, 2.0, 2.0)));
            b.finish()
        };
        let m = Profile::merge(vec![one(), one()]);
        assert_eq!(m.totals(), (6, 6, 6.0));
        let g = m.find(&FuncKey::new("a.py", 2, "g")).unwrap();
        assert_eq!(m.callers_of(g).len(), 1);
        assert_eq!(m.callers_of(g)[0].stats.calls(), 4);
    }

    #[test]
    fn builtin_display_strips_angle_brackets() {
        let k = FuncKey::new("~", 0, "<built-in method builtins.exec>");
        assert_eq!(k.display(), "{built-in method builtins.exec}");
        assert_eq!(FuncKey::new("a.py", 3, "f").display(), "a.py:3(f)");
    }

    #[test]
    fn functions_share_a_component_exactly_when_each_reaches_the_other() {
        let graphs = crate::rng::call_graphs(0x5eed, 300, 9, |n| 2 * n as u64);
        for (case, (n, calls, _)) in graphs.enumerate() {
            let mut b = ProfileBuilder::new();
            let name = |i: usize| FuncKey::new("m.py", i as i64, format!("f{i}").as_str());
            for i in 0..n {
                b.add_function(name(i), st(1, 1, 1.0, 1.0));
            }
            let mut reach = vec![vec![false; n]; n];
            for (from, to) in calls {
                b.add_edge(name(from), name(to), EdgeStats::Timed(st(1, 1, 1.0, 1.0)));
                reach[from][to] = true;
            }
            for k in 0..n {
                for i in 0..n {
                    for j in 0..n {
                        reach[i][j] |= reach[i][k] && reach[k][j];
                    }
                }
            }
            let p = b.finish();
            let comp = p.components();
            // Functions are sorted by key: `f{i}` sits at line `i`.
            let id = |i: usize| p.find(&name(i)).expect("added") as usize;
            for i in 0..n {
                for j in 0..n {
                    let mutual = i == j || (reach[i][j] && reach[j][i]);
                    assert_eq!(
                        comp[id(i)] == comp[id(j)],
                        mutual,
                        "case {case}: f{i}, f{j}"
                    );
                }
            }
        }
    }

    #[test]
    fn permute_in_place_matches_a_gather() {
        let mut seed = 12345u64;
        for n in 0..40usize {
            for _ in 0..20 {
                let mut from: Vec<u32> = (0..n as u32).collect();
                for i in (1..n).rev() {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let j = (seed >> 33) as usize % (i + 1);
                    from.swap(i, j);
                }
                let items: Vec<u32> = (100..100 + n as u32).collect();
                let want: Vec<u32> = from.iter().map(|&i| items[i as usize]).collect();
                let mut got = items.clone();
                let mut f = from.clone();
                permute(&mut got, &mut f);
                assert_eq!(got, want, "{from:?}");
            }
        }
    }

    #[test]
    fn functions_sort_by_key_for_any_lines_and_files() {
        // Narrow and full-width line ranges, one file or several: the radix order
        // (and the tuple sort it falls back to) give the key order.
        let mut next = crate::rng::xorshift(0x9E37_79B9_7F4A_7C15u64);
        let lines = [i64::MIN, i64::MIN + 1, -5, 0, 1, 2, 300, 70_000, i64::MAX];
        for round in 0..60 {
            let files = 1 + round % 4;
            let wide = round % 3 == 0;
            let mut b = ProfileBuilder::new();
            let mut keys = Vec::new();
            for _ in 0..(next() % 60) {
                let line = if wide {
                    lines[next() as usize % lines.len()]
                } else {
                    (next() % 8) as i64
                };
                let k = FuncKey::new(
                    format!("f{}.py", next() % files as u64),
                    line,
                    format!("n{}", next() % 5),
                );
                b.add_function(k.clone(), st(1, 1, 1.0, 1.0));
                keys.push(k);
            }
            keys.sort();
            keys.dedup();
            let p = b.finish();
            let got: Vec<FuncKey> = p.functions().iter().map(|f| f.key.clone()).collect();
            assert_eq!(got, keys, "round {round}");
        }
    }

    #[test]
    fn functions_sort_by_key_whether_or_not_texts_share_bytes() {
        let shared = Text::from("b.py");
        let mut b = ProfileBuilder::new();
        let keys = [
            FuncKey::new(shared.clone(), 2, "g"),
            FuncKey::new("b.py", 1, "z"),
            FuncKey::new("a.py", 7, "f"),
            FuncKey::new(shared.clone(), 1, "a"),
            FuncKey::new("c.py", 0, "f"),
            FuncKey::new("b.py", 2, "f"),
            FuncKey::new("", 0, "x"),
        ];
        for k in &keys {
            b.add_function(k.clone(), st(1, 1, 1.0, 1.0));
        }
        let p = b.finish();
        let mut want: Vec<FuncKey> = keys.to_vec();
        want.sort();
        let got: Vec<FuncKey> = p.functions().iter().map(|f| f.key.clone()).collect();
        assert_eq!(got, want);
    }
}
