//! The core model: a profile as functions and caller→callee edges, independent of
//! where it was read from and of how it will be drawn.
//!
//! Functions are interned by their `(file, line, name)` label and sorted by it: a
//! [`FuncId`] is a position in that order, and the trees, the checks and every other
//! format depend on nothing else. The stats dict's own order (the order the profiler
//! met the functions; real files are ordered by memory address) is kept beside it, as a
//! list of ids and each function's first caller, for `-f stats` only: pstats breaks
//! ties and prints an unsorted report in that order. Merging follows `pstats.Stats.add`.
//! A profile read from collapsed stacks also keeps the stacks ([`Stacks`]), from which
//! its functions and edges are derived.

mod builder;
mod guided;
mod labels;
mod lines;
mod merge;
mod stacks;
#[cfg(test)]
mod tests;
mod text;

pub use builder::{BuilderId, ProfileBuilder};
pub use guided::Backing;
pub use labels::{ModuleLabels, write_label};
pub use merge::Merger;
pub use stacks::{RawStacks, StackValue, Stacks};
pub use text::{ELISION, Text, shortened_str};

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

    /// A frame CPython 3.15's sampling profiler makes up: `("~", 0, "<GC>")` (a garbage
    /// collection), `("~", 0, "<native>")` (C code, with `--native`) and
    /// `("<task>", 0, TASK)` (an asyncio task, with `--async-aware`), and austin's
    /// `("~", 0, "<INVALID>")` (a sample it could not read). No Python code runs in them
    /// under that name.
    pub fn is_sampler_frame(&self) -> bool {
        self.line == 0
            && match self.file.as_str() {
                "~" => matches!(self.name.as_str(), "<GC>" | "<native>" | "<INVALID>"),
                "<task>" => true,
                _ => false,
            }
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
    /// False when the file does not know how often the function was called: sampling
    /// profilers (pyinstrument) write -1, and a negative count means nothing else.
    pub fn calls_known(&self) -> bool {
        let nc = self.nc;
        nc >= 0
    }

    pub fn add(&mut self, other: &Stats) {
        self.cc = self.cc.saturating_add(other.cc);
        self.nc = self.nc.saturating_add(other.nc);
        self.tt += other.tt;
        self.ct += other.ct;
    }
}

/// What a profile's counts and times measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Measure {
    /// A deterministic profiler (cProfile, `profile`, yappi): calls are counted and
    /// times measured.
    #[default]
    Calls,
    /// A sampling profiler: counts are samples. With `seconds`, times are samples times
    /// the sampling interval; without (collapsed stacks, which keep no interval), the
    /// "times" are the sample counts themselves.
    Samples { seconds: bool },
}

impl Measure {
    /// What a profile of this kind is, for messages: "a profile of calls".
    pub fn described(self) -> &'static str {
        match self {
            Measure::Calls => "a profile of calls (cProfile, profile, yappi)",
            Measure::Samples { seconds: true } => "a sampled profile (counts are samples)",
            Measure::Samples { seconds: false } => "sampled stacks (counts are samples, no times)",
        }
    }

    pub fn is_samples(self) -> bool {
        matches!(self, Measure::Samples { .. })
    }
}

/// Index of a function in [`Profile::functions`].
pub type FuncId = u32;

/// No function: a [`FuncId`] slot left empty.
const NO_FUNCTION: FuncId = FuncId::MAX;

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
    /// Module labels, computed on first use (see [`Profile::module_labels`]).
    labels: Derived<ModuleLabels>,
    /// What the counts and times measure.
    measure: Measure,
    /// The listed functions in the stats dict's order (see [`Profile::listing_order`]).
    listing: Vec<FuncId>,
    /// Per function, the first entry of its callers dict ([`NO_FUNCTION`]: none).
    first_caller: Vec<FuncId>,
    /// The exact stacks the profile was read from, if any (collapsed stacks).
    stacks: Option<Stacks>,
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

impl Profile {
    fn from_sorted(
        functions: Vec<Function>,
        edges: Vec<Edge>,
        listing: Vec<FuncId>,
        first_caller: Vec<FuncId>,
    ) -> Profile {
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
            labels: Derived::default(),
            measure: Measure::Calls,
            listing,
            first_caller,
            stacks: None,
        }
    }

    /// What the counts and times measure.
    pub fn measure(&self) -> Measure {
        self.measure
    }

    /// The profile, its counts and times taken as measuring `measure`.
    pub fn with_measure(mut self, measure: Measure) -> Profile {
        self.measure = measure;
        self
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

    /// The listed functions in the order of the stats dict as read: the order rows
    /// were first met (a key met again keeps its place); for merged profiles the
    /// first's order, then each other's new keys in its order, as `pstats.Stats.add`
    /// leaves them. What pstats breaks ties in, and prints unsorted.
    pub fn listing_order(&self) -> &[FuncId] {
        &self.listing
    }

    /// The first entry of the callers dict of `callee` as read (or merged), if any:
    /// pstats looks at nothing else of a callers dict's order (it sorts the callers
    /// it prints), so this is all of that order the model keeps.
    pub fn first_caller(&self, callee: FuncId) -> Option<FuncId> {
        Some(self.first_caller[callee as usize]).filter(|&c| c != NO_FUNCTION)
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

    /// Every function's module label (`json`, `pip._internal.cli.main`, `small.py`),
    /// computed once per profile, in one pass (see `model/labels.rs`).
    pub fn module_labels(&self) -> &ModuleLabels {
        self.labels.0.get_or_init(|| ModuleLabels::compute(self))
    }

    /// The label function `id` is shown with: `format (json:52)`, or pstats' name for
    /// builtins ([`write_label`]).
    pub fn label(&self, id: FuncId) -> String {
        let mut out = String::new();
        self.write_label(id, &mut out);
        out
    }

    /// Appends [`Profile::label`] to `out`.
    pub fn write_label(&self, id: FuncId, out: &mut String) {
        write_label(out, &self.function(id).key, self.module_labels().module(id));
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
    /// The profiles should measure one thing (the caller refuses to mix calls and
    /// samples: see `pipeline::read_all`); the result takes the first one's
    /// [`Measure`]. Profiles that all carry stacks are merged by adding their stacks up;
    /// mixed with profiles that do not, the stacks are dropped.
    pub fn merge(profiles: Vec<Profile>) -> Profile {
        let mut merger = Merger::new();
        for p in profiles {
            merger.add(p);
        }
        merger.finish()
    }
}

/// The power of two the trees divide every time by: 0 for any real profile; for
/// absurd ones (own times adding up past the largest `f64`), the least `k` that keeps
/// Σ tottime plus the largest tottime or cumtime below 2^1020, so that the sums a tree
/// makes (a total, a frame and its children) stay finite. Edge times are not read (a
/// pass over the edges would cost more than the rest of this on every profile): the
/// trees clamp them to the widths of the functions they lead to. Dividing by a power of two keeps
/// every ratio, so the picture is the one the data describes.
pub fn time_scale(profile: &Profile) -> i32 {
    // Summed pre-divided by 2^128, so the sum itself cannot overflow.
    const PRE: f64 = 1.0 / (1u128 << 127) as f64 / 2.0;
    let (mut sum, mut max) = (0.0f64, 0.0f64);
    for f in profile.functions() {
        sum += positive(f.stats.tt) * PRE;
        max = max.max(positive(f.stats.ct)).max(positive(f.stats.tt));
    }
    let need = sum + max * PRE;
    // need × 2^128 ≤ 2^1020, i.e. need ≤ 2^892.
    let limit = 2f64.powi(892);
    if need <= limit {
        return 0;
    }
    let mut k = (need / limit).log2().ceil().max(1.0) as i32;
    while need * 2f64.powi(-k) > limit {
        k += 1;
    }
    k
}

/// A time that counts: finite and positive, else 0.
fn positive(t: f64) -> f64 {
    if t.is_finite() && t > 0.0 { t } else { 0.0 }
}
