//! Checks on data that is valid but odd: a profile that reads fine yet would give a
//! misleading picture. Each check gives at most one counted, one-line [`Warning`];
//! the command line prints them like the reader's warnings. Nothing here changes the
//! profile (times too large to add up are divided by the trees, see
//! [`crate::model::time_scale`]; the check only says so). The list, with the fixture that shows each one, is in
//! `formats/pstats/README.md`.

use crate::model::{EdgeStats, FuncId, FuncKey, Profile};

/// One warning: a stable kind (used by the tests and the docs) and the line shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    pub kind: &'static str,
    pub message: String,
}

/// Every kind, in the order the checks run.
pub const KINDS: &[&str] = &[
    "zero-total",
    "bad-times",
    "time-overflow",
    "tottime-over-cumtime",
    "calls-swapped",
    "phantom-recursion",
    "no-root",
    "yappi",
    "merged-threads",
    "label-collision",
];

fn bad_time(t: f64) -> bool {
    !t.is_finite() || t < 0.0
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Runs every check on a (possibly merged) profile.
pub fn check(profile: &Profile) -> Vec<Warning> {
    let mut out = Vec::new();
    if !profile.functions().iter().any(|f| f.listed) {
        return out;
    }
    let t = Tally::of(profile);
    time_warnings(profile, &t, &mut out);
    call_warnings(&t, &mut out);
    if t.total > 0.0 && !has_root(profile) {
        warn(
            &mut out,
            "no-root",
            "no clean root: every function with time is called by another function \
             with time (a cycle nothing enters, or a filtered profile); the flame graph \
             has nothing to start from and may be empty"
                .into(),
        );
    }
    thread_warnings(profile, &t, &mut out);
    label_collisions(profile, &mut out);
    out
}

fn warn(out: &mut Vec<Warning>, kind: &'static str, message: String) {
    debug_assert!(KINDS.contains(&kind));
    out.push(Warning { kind, message });
}

/// Times that make the pictures empty or wrong: a zero total, negative, NaN or infinite
/// times, and sums too large to add up.
fn time_warnings(profile: &Profile, t: &Tally, out: &mut Vec<Warning>) {
    // Zero total: nothing to draw.
    if t.total <= 0.0 {
        warn(
            out,
            "zero-total",
            "the total own time (sum of tottime) is zero: the pictures are empty; \
             was the profile taken with a timer that did not advance?"
                .into(),
        );
    }

    if t.bad > 0 {
        warn(
            out,
            "bad-times",
            format!(
                "{} negative, NaN or infinite times (a timer running backwards, or \
                 profile's bias set too high); they count as zero in the pictures",
                plural(t.bad, "function has", "functions have")
            ),
        );
    }

    // Times so large that their sums overflow: the trees divide them all.
    let scale = crate::model::time_scale(profile);
    if scale > 0 {
        warn(
            out,
            "time-overflow",
            format!(
                "the times are too large to add up (Σ tottime {} the largest float): \
                 the trees (text, json, svg, log) divide every time by 2^{scale}, which \
                 keeps their proportions; the times they show are that much smaller",
                if t.total.is_finite() {
                    "nears"
                } else {
                    "passes"
                }
            ),
        );
    }
}

/// Counts that one stack could not give: own time above cumulative time, more
/// primitive calls than calls, recursion off every cycle.
fn call_warnings(t: &Tally, out: &mut Vec<Warning>) {
    // Own time above cumulative time (both sane): impossible for one stack.
    if t.over > 0 {
        warn(
            out,
            "tottime-over-cumtime",
            format!(
                "{} more own time than cumulative time (cProfile on Python 3.12+ mixes \
                 the stacks of several threads); widths under them are estimates",
                plural(t.over, "function has", "functions have")
            ),
        );
    }

    if t.swapped > 0 {
        warn(
            out,
            "calls-swapped",
            format!(
                "{} more primitive calls than calls (yappi writes the two swapped); \
                 shown as read, as pstats does",
                plural(t.swapped, "function has", "functions have")
            ),
        );
    }

    // Recursive calls recorded for a function on no cycle of the call graph. cProfile
    // (`_lsprof.c`) counts a call as recursive when the function is still on its own
    // stack of open calls at the return, and it pops that stack at every return
    // whatever function returns: calls and returns that reach it unpaired leave a
    // function there for good, and each later call of it counts as recursive. Threads
    // sharing the profiler (Python 3.12+, sys.monitoring) and greenlets switching
    // stacks do that, in any Python; so does a file whose callers were cut.
    if !t.phantom.is_empty() {
        let n = t.phantom.len();
        warn(
            out,
            "phantom-recursion",
            format!(
                "{} recursive calls but {} on no cycle of the call graph: {}; cProfile \
                 counts a call as recursive while its own stack still holds the function, \
                 and that stack drifts from the program's when calls and returns reach it \
                 unpaired (several threads on Python 3.12+, greenlets or gevent switching \
                 stacks), or the file lost callers (edited or filtered); recursion there is \
                 not drawn",
                plural(n, "function records", "functions record"),
                if n == 1 { "it is" } else { "they are" },
                t.phantom_names
            ),
        );
    }
}

/// Whether some function with time is a clean root: not fully accounted for by callers
/// that have time themselves (a cycle with no way in, or a filtered profile, has none).
fn has_root(profile: &Profile) -> bool {
    let functions = profile.functions();
    // Which functions have time, read in one pass: looked up per caller below, a
    // table of flags stays in cache where the functions themselves would not.
    let timed: Vec<bool> = functions
        .iter()
        .map(|f| f.stats.ct.is_finite() && f.stats.ct > 0.0)
        .collect();
    (0..functions.len() as FuncId).any(|f| {
        if !timed[f as usize] {
            return false;
        }
        let s = &profile.function(f).stats;
        let callers = profile.callers_of(f);
        let covered = callers
            .iter()
            .map(|e| e.stats.calls().max(0))
            .fold(0i128, i128::saturating_add);
        // Callers with no time of their own (the profile module's fake
        // `profile:0(profiler)`) do not hide a root.
        callers
            .iter()
            .all(|e| e.caller == f || !timed[e.caller as usize])
            || s.nc > covered
    })
}

/// Threads merged into one profile: by yappi, or several runs of threading's run().
fn thread_warnings(profile: &Profile, t: &Tally, out: &mut Vec<Warning>) {
    // yappi: builtins keyed by their module, e.g. ('time', 0, 'sleep').
    if let Some(first) = t.first_yappi {
        warn(
            out,
            "yappi",
            format!(
                "looks like a yappi profile ({} keyed by module, e.g. {}): unless it \
                 was saved for one thread (get_func_stats(ctx_id=...)), the threads are \
                 merged: their stacks mixed and their times summed",
                plural(t.yappi, "builtin", "builtins"),
                profile.function(first).key.display()
            ),
        );
    }

    // threading's run() with no caller, called more than once.
    let thread_runs = t.thread_runs;
    if thread_runs > 1 {
        warn(
            out,
            "merged-threads",
            format!(
                "the stacks of {thread_runs} threads are merged into one (threading's run() \
                 has no caller and {thread_runs} calls): their times add up, and may exceed \
                 the wall time"
            ),
        );
    }
}

/// Two different functions that are shown with the same label. Labels are compared by
/// hash first (hashed piece by piece as they would be written, never rendered, and met
/// in an open-addressing table rather than sorted); only labels whose hashes meet are
/// rendered and compared whole.
fn label_collisions(profile: &Profile, out: &mut Vec<Warning>) {
    let functions = profile.functions();
    let mut scratch = Vec::new();
    let hashes: Vec<u64> = functions
        .iter()
        .map(|f| label_hash(&f.key, &mut scratch))
        .collect();
    let mut shared: Vec<String> = Vec::new();
    for group in equal_hashes(&hashes) {
        let mut labels: Vec<String> = group
            .iter()
            .map(|&i| functions[i as usize].key.display())
            .collect();
        labels.sort_unstable();
        labels.dedup_by(|b, a| {
            if a == b && shared.last() != Some(a) {
                shared.push(a.clone());
            }
            a == b
        });
    }
    shared.sort_unstable();
    if let Some(first) = shared.first() {
        warn(
            out,
            "label-collision",
            format!(
                "{} shared by different functions (e.g. {first:?}): frames with one label \
                 may be different functions",
                plural(shared.len(), "label is", "labels are")
            ),
        );
    }
}

/// The per-function checks, counted in one pass over the listed functions: each test
/// is a comparison or two, so walking the functions once per check would cost more
/// than the checks themselves.
struct Tally {
    /// Sum of the positive, finite own times.
    total: f64,
    /// Functions with a negative, NaN or infinite time.
    bad: usize,
    /// Functions with more own time than cumulative time (both sane).
    over: usize,
    /// Functions with more primitive calls than calls.
    swapped: usize,
    /// Functions recording recursive calls while on no cycle.
    phantom: Vec<FuncId>,
    /// The first few of them by cumulative time, named, and how many more.
    phantom_names: String,
    /// Builtins keyed by their module as yappi writes them, and the first of them.
    yappi: usize,
    first_yappi: Option<FuncId>,
    /// Calls of the most called threading `run()` that has no caller (0 if none).
    thread_runs: i128,
}

impl Tally {
    fn of(profile: &Profile) -> Tally {
        let components = profile.components();
        // Component ids are numbered from 0, at most one per function.
        let mut size = vec![0u32; components.len()];
        for &c in components {
            size[c as usize] += 1;
        }
        let mut t = Tally {
            total: 0.0,
            bad: 0,
            over: 0,
            swapped: 0,
            phantom: Vec::new(),
            phantom_names: String::new(),
            yappi: 0,
            first_yappi: None,
            thread_runs: 0,
        };
        let listed = (profile.functions().iter().enumerate()).filter(|(_, fun)| fun.listed);
        for (f, fun) in listed {
            let f = f as FuncId;
            let s = &fun.stats;
            if s.tt.is_finite() && s.tt > 0.0 {
                t.total += s.tt;
            }
            let sane = !bad_time(s.tt) && !bad_time(s.ct);
            t.bad += usize::from(!sane);
            t.over += usize::from(sane && s.tt > s.ct * (1.0 + 1e-6) + 1e-12);
            t.swapped += usize::from(s.nc >= 0 && s.cc > s.nc);
            let phantom = s.cc >= 0 && s.nc > s.cc && {
                let callers = profile.callers_of(f);
                !callers.is_empty()
                    && callers
                        .iter()
                        .all(|e| matches!(e.stats, EdgeStats::Timed(_)))
                    && !callers.iter().any(|e| e.caller == f)
                    && size[components[f as usize] as usize] == 1
            };
            if phantom {
                t.phantom.push(f);
            }
            if keyed_by_module(&fun.key) {
                t.yappi += 1;
                t.first_yappi.get_or_insert(f);
            }
            if runs_a_thread(&fun.key) && profile.callers_of(f).is_empty() {
                t.thread_runs = t.thread_runs.max(s.nc.max(0));
            }
        }
        t.phantom_names = named(profile, &t.phantom);
        t
    }
}

/// The functions shown by name in a warning: the first three by cumulative time (then
/// by order in the file), and how many more there are.
fn named(profile: &Profile, ids: &[FuncId]) -> String {
    const SHOWN: usize = 3;
    let mut by_time = ids.to_vec();
    let ct = |f: FuncId| {
        let ct = profile.function(f).stats.ct;
        if ct.is_finite() { ct } else { 0.0 }
    };
    by_time.sort_by(|&a, &b| ct(b).total_cmp(&ct(a)).then(a.cmp(&b)));
    let mut out = by_time
        .iter()
        .take(SHOWN)
        .map(|&f| profile.function(f).key.display())
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        out.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    out
}

/// A builtin keyed by its module, as yappi writes them: ('time', 0, 'sleep').
fn keyed_by_module(k: &FuncKey) -> bool {
    let file = k.file.as_str();
    k.line == 0
        && !file.is_empty()
        && !matches!(file, "~" | "profile")
        && !file.contains(['/', '\\', '<', ' '])
        && !file.ends_with(".py")
}

/// threading's `Thread.run()` or `_bootstrap_inner()`.
fn runs_a_thread(k: &FuncKey) -> bool {
    k.file.as_str().ends_with("threading.py")
        && matches!(
            k.name.as_str(),
            "run" | "Thread.run" | "_bootstrap_inner" | "Thread._bootstrap_inner"
        )
}

/// The hash of a function's label: its pieces are gathered in `scratch` (equal labels
/// can be cut into pieces differently) and hashed a word at a time. Deterministic, and
/// cheap next to rendering the label. Collisions only cost an exact comparison.
fn label_hash(key: &FuncKey, scratch: &mut Vec<u8>) -> u64 {
    scratch.clear();
    key.display_pieces(|piece| scratch.extend_from_slice(piece.as_bytes()));
    word_hash(scratch)
}

/// A multiply-and-fold hash over the 8-byte words of `bytes` (the last one padded
/// with zeros, the length mixed in first): a few instructions per word where FNV-1a
/// takes a few per byte.
fn word_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mix = |h: u64, word: u64| {
        let m = u128::from(h ^ word) * u128::from(K);
        (m as u64) ^ ((m >> 64) as u64)
    };
    let mut h = mix(0x243F_6A88_85A3_08D3, bytes.len() as u64);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        h = mix(h, u64::from_le_bytes(word.try_into().unwrap_or_default()));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        for (to, &from) in last.iter_mut().zip(rest) {
            *to = from;
        }
        h = mix(h, u64::from_le_bytes(last));
    }
    h
}

/// The groups of two or more indexes of `hashes` with one hash value, each in
/// increasing order, the groups ordered by their first index.
fn equal_hashes(hashes: &[u64]) -> Vec<Vec<u32>> {
    const EMPTY: u32 = u32::MAX;
    let size = (hashes.len() * 2).next_power_of_two().max(2);
    let mask = size as u64 - 1;
    // Per slot: the first index with the slot's hash, and its group (EMPTY if none yet).
    let mut slots = vec![(EMPTY, EMPTY); size];
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for (i, &h) in hashes.iter().enumerate() {
        // The low bits of FNV are well mixed; a linear probe finds the hash or a hole.
        let mut at = (h ^ (h >> 32)) & mask;
        loop {
            let (first, group) = &mut slots[at as usize];
            if *first == EMPTY {
                *first = i as u32;
                break;
            }
            if hashes[*first as usize] == h {
                if *group == EMPTY {
                    *group = groups.len() as u32;
                    groups.push(vec![*first]);
                }
                groups[*group as usize].push(i as u32);
                break;
            }
            at = (at + 1) & mask;
        }
    }
    // A group was made when its second index came; its first ones came in order.
    groups.sort_unstable_by_key(|g| g[0]);
    groups
}

impl From<Warning> for crate::warning::Warning {
    fn from(w: Warning) -> crate::warning::Warning {
        crate::warning::Warning::new(crate::warning::WarningKind::Data(w.kind), w.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FuncKey, ProfileBuilder, Stats};

    fn st(cc: i128, nc: i128, tt: f64, ct: f64) -> Stats {
        Stats { cc, nc, tt, ct }
    }

    fn kinds(p: &Profile) -> Vec<&'static str> {
        check(p).into_iter().map(|w| w.kind).collect()
    }

    #[test]
    fn a_clean_profile_has_no_warnings() {
        let mut b = ProfileBuilder::new();
        let (f, g) = (FuncKey::new("a.py", 1, "f"), FuncKey::new("a.py", 2, "g"));
        b.add_function(f.clone(), st(1, 1, 1.0, 3.0));
        b.add_function(g.clone(), st(2, 2, 2.0, 2.0));
        b.add_edge(f, g, EdgeStats::Timed(st(2, 2, 2.0, 2.0)));
        assert!(kinds(&b.finish()).is_empty());
    }

    #[test]
    fn an_empty_profile_is_left_to_the_caller() {
        assert!(kinds(&ProfileBuilder::new().finish()).is_empty());
    }

    #[test]
    fn equal_hashes_are_grouped_whatever_the_table_slots() {
        // 7 and 7 + 2^k meet in every small table without being equal; the 5s and 9s
        // are real groups, one of them spread over slots taken by others.
        let hashes = [7, 5, 7 + (1 << 40), 9, 5, 3, 9, 5, 7 + (1 << 41)];
        assert_eq!(equal_hashes(&hashes), [vec![1, 4, 7], vec![3, 6]]);
        assert!(equal_hashes(&[]).is_empty());
        assert!(equal_hashes(&[1, 2, 3]).is_empty());
        // Against a sort, on many hashes with few distinct values.
        let many: Vec<u64> = (0..5_000u64).map(|i| (i * i) % 997 * 0x9E37_79B9).collect();
        let mut want: std::collections::BTreeMap<u64, Vec<u32>> = Default::default();
        for (i, &h) in many.iter().enumerate() {
            want.entry(h).or_default().push(i as u32);
        }
        let mut want: Vec<Vec<u32>> = want.into_values().filter(|g| g.len() > 1).collect();
        want.sort();
        assert!(equal_hashes(&many) == want, "groups differ from a sort's");
    }

    #[test]
    fn label_hashes_are_the_hashes_of_the_labels() {
        let mut scratch = Vec::new();
        for key in [
            FuncKey::new("a/b.py", -12, "f"),
            FuncKey::new("~", 0, "<built-in method len>"),
            FuncKey::new("~", 0, "len"),
            FuncKey::new("/a/rather/long/path/to/a/module.py", 1234, "function_name"),
        ] {
            let want = word_hash(key.display().as_bytes());
            assert_eq!(label_hash(&key, &mut scratch), want, "{key:?}");
        }
        // One label cut into pieces in two ways.
        let (a, b) = (FuncKey::new("x:1(y", 2, "z"), FuncKey::new("x", 1, "y:2(z"));
        assert_eq!(a.display(), b.display());
        assert_eq!(label_hash(&a, &mut scratch), label_hash(&b, &mut scratch));
        // Padding does not make labels of different lengths meet.
        assert_ne!(word_hash(b"abc"), word_hash(b"abc\0"));
    }

    #[test]
    fn each_odd_shape_gives_its_warning() {
        let mut b = ProfileBuilder::new();
        let (f, g) = (FuncKey::new("a.py", 1, "f"), FuncKey::new("a.py", 2, "g"));
        b.add_function(f.clone(), st(1, 1, 1.0, 3.0));
        // g: recursive calls with no cycle, tottime above cumtime.
        b.add_function(g.clone(), st(2, 5, 2.0, 1.0));
        b.add_edge(f, g, EdgeStats::Timed(st(2, 5, 2.0, 1.0)));
        b.add_function(FuncKey::new("b.py", 1, "h"), st(3, 1, f64::NAN, 0.0));
        b.add_function(FuncKey::new("time", 0, "sleep"), st(1, 1, 0.5, 0.5));
        b.add_function(FuncKey::new("~", 0, "<len>"), st(1, 1, 0.0, 0.0));
        b.add_function(FuncKey::new("~", 0, "{len}"), st(1, 1, 0.0, 0.0));
        assert_eq!(
            kinds(&b.finish()),
            [
                "bad-times",
                "tottime-over-cumtime",
                "calls-swapped",
                "phantom-recursion",
                "yappi",
                "label-collision"
            ]
        );
    }

    #[test]
    fn phantom_recursion_names_the_three_widest_and_counts_the_rest() {
        let mut b = ProfileBuilder::new();
        let main = FuncKey::new("a.py", 1, "main");
        b.add_function(main.clone(), st(1, 1, 1.0, 100.0));
        for i in 0..5 {
            let g = FuncKey::new("a.py", 10 + i, format!("g{i}").as_str());
            let ct = f64::from(i as u8 + 1);
            b.add_function(g.clone(), st(1, 3, ct, ct));
            b.add_edge(main.clone(), g, EdgeStats::Timed(st(1, 3, ct, ct)));
        }
        let warning = check(&b.finish())
            .into_iter()
            .find(|w| w.kind == "phantom-recursion")
            .expect("warned");
        assert!(
            warning.message.starts_with(
                "5 functions record recursive calls but they are on no cycle of the call \
                 graph: a.py:14(g4), a.py:13(g3), a.py:12(g2) and 2 more; cProfile "
            ),
            "{}",
            warning.message
        );
    }

    #[test]
    fn a_cycle_without_an_entry_has_no_root() {
        let mut b = ProfileBuilder::new();
        let (f, g) = (FuncKey::new("a.py", 1, "f"), FuncKey::new("a.py", 2, "g"));
        b.add_function(f.clone(), st(1, 2, 1.0, 3.0));
        b.add_function(g.clone(), st(1, 2, 2.0, 3.0));
        b.add_edge(f.clone(), g.clone(), EdgeStats::Timed(st(1, 2, 2.0, 3.0)));
        b.add_edge(g, f, EdgeStats::Timed(st(1, 2, 1.0, 3.0)));
        assert_eq!(kinds(&b.finish()), ["no-root"]);
    }

    #[test]
    fn times_too_large_to_add_up_are_warned_about() {
        let mut b = ProfileBuilder::new();
        for i in 0..3 {
            b.add_function(FuncKey::new("a.py", i, "f"), st(1, 1, 1e308, 1e308));
        }
        let p = b.finish();
        assert_eq!(kinds(&p), ["time-overflow"]);
        assert!(check(&p)[0].message.contains("by 2^"), "{:?}", check(&p));
    }

    #[test]
    fn zero_total_says_so_once() {
        let mut b = ProfileBuilder::new();
        b.add_function(FuncKey::new("a.py", 1, "f"), st(1, 1, 0.0, 0.0));
        assert_eq!(kinds(&b.finish()), ["zero-total"]);
    }
}
