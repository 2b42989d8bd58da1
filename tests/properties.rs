//! Property tests: random stats dicts (non-ASCII and lone-surrogate names, counts up
//! to 2^64 and past `i128`, NaN / negative / huge times, recursion, many callers)
//! written by `support/marshal_writer.rs` in every marshal flavour, read back: the
//! model equals what was written, every backend renders it, and two renders are
//! byte-identical. Then the same against dicts written by Python's own `marshal`.
//! Last, both trees of every fixture and of random profiles keep their invariants.

use std::collections::HashSet;
use std::process::Command;

use bytes::Bytes;
use flameprof::__private::input;
use flameprof::__private::model::{
    Count, EdgeStats, FuncKey, Profile, ProfileBuilder, Stats, Text,
};
use flameprof::backend::{self, Job, RenderOptions};

#[path = "support/marshal_writer.rs"]
mod marshal_writer;

use marshal_writer::{Flavour, Py, Tape, Writer};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use proptest::test_runner::{RngAlgorithm, RngSeed, TestRunner};

use crate::util::external;

/// The runner every property test here uses: `cases` cases from a fixed seed, so a run
/// is the same each time, and no `proptest-regressions/` files written into the repo.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x00f1_a3e9_0f00),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Name parts: ASCII, non-ASCII, and lone surrogates (surrogatepass bytes).
const NAME_PARTS: &[&[u8]] = &[
    b"f",
    b"main",
    b"<lambda>",
    b"<module>",
    b"Thread.run",
    "caf\u{e9}".as_bytes(),
    "\u{65e5}\u{672c}".as_bytes(),
    "\u{1F525}".as_bytes(),
    b"\xED\xA0\x80",
    b"\xED\xBF\xBF",
    b" ",
    b";",
    b"\"<&>'",
    b"x/y.py",
];

const FILES: &[&[u8]] = &[
    b"a.py",
    b"~",
    b"",
    b"/srv/app/m\xc3\xb6d.py",
    b"x\xED\xB0\x80.py",
];

fn name() -> impl Strategy<Value = Vec<u8>> {
    vec(select(NAME_PARTS), 1..=4).prop_map(|parts| parts.concat())
}

fn int(n: i128) -> (Py, Count) {
    (Py::Int(n), n)
}

/// A count as written and as read. The plainest kind comes first: a failure shrinks
/// towards it.
fn count() -> impl Strategy<Value = (Py, Count)> {
    prop_oneof![
        5 => (0..100_000i128).prop_map(int),
        1 => Just(int(0)),
        1 => (0..1000i128).prop_map(|n| int(-n)),
        // Up to 2^64, and up to 2^104.
        1 => any::<u64>().prop_map(|n| int(n.into())),
        1 => any::<u64>().prop_map(|n| int(i128::from(n) << 40)),
        // Beyond i128: saturates.
        1 => (prop::bool::weighted(0.3), 128..228u32).prop_map(|(negative, bits)| (
            Py::HugeInt { negative, bits },
            if negative { i128::MIN } else { i128::MAX },
        )),
    ]
}

fn float(x: f64) -> (Py, f64) {
    (Py::Float(x), x)
}

/// A time as written and as read: NaN, infinities, negatives, huge and tiny ones too.
fn time() -> impl Strategy<Value = (Py, f64)> {
    prop_oneof![
        5 => (0..1_000_000u32).prop_map(|n| float(f64::from(n) / 1e6)),
        1 => Just(float(f64::NAN)),
        1 => (0..1000u32).prop_map(|n| float(-f64::from(n) / 7.0)),
        1 => (0..10u32).prop_map(|n| float(1e300 * f64::from(n))),
        1 => Just(float(f64::INFINITY)),
        1 => Just(float(f64::NEG_INFINITY)),
        1 => Just(float(-0.0)),
        1 => Just(float(5e-324)),
        // An int where a float is expected.
        1 => (0..50i32).prop_map(|n| (Py::Int(n.into()), f64::from(n))),
    ]
}

/// One caller's entry: a bare count (as `profile` writes) or the 4-tuple.
#[derive(Clone, Debug)]
enum RawEdge {
    Count((Py, Count)),
    Timed([(Py, Count); 2], [(Py, f64); 2]),
}

/// One row of a stats dict; callers name other rows by index, so the strategy needs
/// not know how many rows there are.
#[derive(Clone, Debug)]
struct RawFunction {
    file: &'static [u8],
    line: i64,
    name: Vec<u8>,
    /// Py2 only: the key's strings as `str` (bytes) rather than `unicode`.
    as_bytes: bool,
    counts: [(Py, Count); 2],
    times: [(Py, f64); 2],
    callers: Vec<(Index, RawEdge)>,
}

fn function() -> impl Strategy<Value = RawFunction> {
    let line =
        (0..3000i64, prop::bool::weighted(0.05)).prop_map(|(l, low)| l - 5000 * i64::from(low));
    let edge = prop_oneof![
        4 => (count(), count(), time(), time())
            .prop_map(|(nc, cc, tt, ct)| RawEdge::Timed([nc, cc], [tt, ct])),
        1 => count().prop_map(RawEdge::Count),
    ];
    // A few callers, or many; a caller may be the function itself (recursion).
    let callers = prop_oneof![
        9 => vec((any::<Index>(), edge.clone()), 0..4),
        1 => vec((any::<Index>(), edge), 0..=40),
    ];
    (
        select(FILES),
        line,
        name(),
        prop::bool::weighted(0.3),
        [count(), count()],
        [time(), time()],
        callers,
    )
        .prop_map(
            |(file, line, name, as_bytes, counts, times, callers)| RawFunction {
                file,
                line,
                name,
                as_bytes,
                counts,
                times,
                callers,
            },
        )
}

fn flavour() -> impl Strategy<Value = Flavour> {
    select(&[Flavour::Py2, Flavour::Py3V0, Flavour::Py3V4][..])
}

/// A random stats dict: its rows, and the tape of the writer's encoding choices.
fn stats_dict() -> impl Strategy<Value = (Vec<RawFunction>, Vec<u8>)> {
    (vec(function(), 1..=40), vec(any::<u8>(), 0..64))
}

fn text(bytes: &[u8]) -> Text {
    Text::from(String::from_utf8_lossy(bytes).into_owned())
}

fn key_py(file: &[u8], line: i64, name: &[u8], as_bytes: bool) -> Py {
    let s = |b: &[u8]| {
        if as_bytes {
            Py::Bytes(b.to_vec())
        } else {
            Py::Str(b.to_vec())
        }
    };
    Py::Tuple(vec![s(file), Py::Int(line as i128), s(name)])
}

/// The stats dict of `rows` and the profile it must read as. Rows whose key repeats an
/// earlier one are left out, as a dict would.
fn stats_and_profile(rows: &[RawFunction], flavour: Flavour) -> (Py, Profile) {
    let mut keys: Vec<(Py, FuncKey)> = Vec::new();
    let mut kept = Vec::new();
    let mut seen = HashSet::new();
    for row in rows {
        let key = FuncKey {
            file: text(row.file),
            line: row.line,
            name: text(&row.name),
        };
        if seen.insert(key.clone()) {
            let as_bytes = flavour == Flavour::Py2 && row.as_bytes;
            keys.push((key_py(row.file, row.line, &row.name, as_bytes), key));
            kept.push(row);
        }
    }
    let mut b = ProfileBuilder::new();
    let mut dict = Vec::new();
    for ((kp, key), row) in keys.iter().zip(kept) {
        let [(cc_p, cc), (nc_p, nc)] = row.counts.clone();
        let [(tt_p, tt), (ct_p, ct)] = row.times.clone();
        b.set_function(key.clone(), Stats { cc, nc, tt, ct });
        let mut callers = Vec::new();
        let mut used = vec![false; keys.len()];
        for (index, edge) in row.callers.iter().take(keys.len()) {
            // A caller already taken gives way to the next free one: had it been
            // dropped, deleting any row (which moves where an index points) could drop
            // the very edge a failure needs, and the case would not shrink.
            let start = index.index(keys.len());
            let free = (0..keys.len())
                .map(|k| (start + k) % keys.len())
                .find(|&k| !used[k])
                .expect("fewer callers than keys");
            used[free] = true;
            let (ckp, ck) = &keys[free];
            let stats = match edge.clone() {
                RawEdge::Count((p, c)) => {
                    b.add_edge(ck.clone(), key.clone(), EdgeStats::Count(c.into()));
                    p
                }
                RawEdge::Timed([(nc_p, nc), (cc_p, cc)], [(tt_p, tt), (ct_p, ct)]) => {
                    let s = Stats { cc, nc, tt, ct };
                    b.add_edge(ck.clone(), key.clone(), EdgeStats::Timed(s));
                    Py::Tuple(vec![nc_p, cc_p, tt_p, ct_p])
                }
            };
            callers.push((ckp.clone(), stats));
        }
        dict.push((
            kp.clone(),
            Py::Tuple(vec![cc_p, nc_p, tt_p, ct_p, Py::Dict(callers)]),
        ));
    }
    (Py::Dict(dict), b.finish())
}

/// The marshal bytes of `dict`, written with the choices on `tape`.
fn marshal(dict: &Py, flavour: Flavour, tape: &[u8]) -> Vec<u8> {
    let mut tape = Tape::new(tape.to_vec());
    let mut w = Writer::new(&mut tape, flavour);
    w.write(dict);
    w.out
}

/// Float equality that treats every NaN as equal.
fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn same_stats(a: &Stats, b: &Stats) -> bool {
    a.cc == b.cc && a.nc == b.nc && same(a.tt, b.tt) && same(a.ct, b.ct)
}

fn assert_same_profile(got: &Profile, want: &Profile, context: &str) {
    assert_eq!(
        got.functions().len(),
        want.functions().len(),
        "{context}: function count"
    );
    for (g, w) in got.functions().iter().zip(want.functions()) {
        assert_eq!(g.key, w.key, "{context}");
        assert_eq!(g.listed, w.listed, "{context}: {:?}", g.key);
        assert!(
            same_stats(&g.stats, &w.stats),
            "{context}: {:?}: {:?} != {:?}",
            g.key,
            g.stats,
            w.stats
        );
    }
    assert_eq!(got.edges().len(), want.edges().len(), "{context}: edges");
    for (g, w) in got.edges().iter().zip(want.edges()) {
        assert_eq!((g.caller, g.callee), (w.caller, w.callee), "{context}");
        let ok = match (g.stats, w.stats) {
            (EdgeStats::Timed(a), EdgeStats::Timed(b)) => same_stats(&a, &b),
            (EdgeStats::Count(a), EdgeStats::Count(b)) => a == b,
            _ => false,
        };
        assert!(ok, "{context}: edge {:?} != {:?}", g.stats, w.stats);
    }
}

fn render_all(profile: &Profile, options: &RenderOptions) -> Vec<(&'static str, Vec<u8>)> {
    backend::registry()
        .iter()
        .map(|b| {
            let job = Job::new(profile, options);
            let mut out = Vec::new();
            (b.render)(&job, &mut out).unwrap_or_else(|e| panic!("{}: {e}", b.name));
            (b.name, out)
        })
        .collect()
}

proptest! {
    // 300 cases: about a second in a debug build, for three flavours and every backend.
    #![proptest_config(config(300))]

    #[test]
    fn random_stats_dicts_read_back_and_render_deterministically(
        flavour in flavour(),
        (rows, tape) in stats_dict(),
        threshold in select(&[0.001, 0.0, 0.05][..]),
    ) {
        let (dict, want) = stats_and_profile(&rows, flavour);
        let bytes = marshal(&dict, flavour, &tape);
        let context = format!("{flavour:?}, {} bytes", bytes.len());
        let loaded =
            input::load("random", Bytes::from(bytes)).unwrap_or_else(|e| panic!("{context}: {e}"));
        // Names written as invalid UTF-8 are read with U+FFFD, and said so.
        let replaced = want.functions().iter().any(|f| {
            f.key.file.as_str().contains('\u{FFFD}') || f.key.name.as_str().contains('\u{FFFD}')
        });
        assert!(
            loaded
                .warnings
                .iter()
                .all(|w| replaced && w.message().contains("not valid UTF-8")),
            "{context}: {:?}",
            loaded.warnings
        );
        assert_same_profile(&loaded.profile, &want, &context);
        let _ = input::checks::check(&loaded.profile);
        let mut options = RenderOptions::default();
        options.tree.threshold = threshold;
        let first = render_all(&loaded.profile, &options);
        let second = render_all(&loaded.profile, &options);
        assert!(first == second, "{context}: two renders differ");
    }
}

#[test]
fn the_property_test_can_fail() {
    // The comparison sees a one-bit change in a time.
    let mut runner = TestRunner::new(config(1));
    let (rows, tape) = stats_dict()
        .new_tree(&mut runner)
        .expect("a case")
        .current();
    let (dict, want) = stats_and_profile(&rows, Flavour::Py3V4);
    let bytes = marshal(&dict, Flavour::Py3V4, &tape);
    let loaded = input::load("random", Bytes::from(bytes)).expect("reads");
    let mut b = ProfileBuilder::new();
    for (i, f) in want.functions().iter().enumerate() {
        if f.listed {
            let mut s = f.stats;
            if i == 0 {
                s.tt = if s.tt.is_nan() { 1.0 } else { -s.tt - 1.0 };
            }
            b.set_function(f.key.clone(), s);
        }
    }
    let changed = b.finish();
    let r = std::panic::catch_unwind(|| assert_same_profile(&loaded.profile, &changed, "x"));
    assert!(r.is_err());
}

/// Python's own marshal: random dicts written by `marshal.dumps` at versions 0-4 read
/// back as Python describes them.
#[test]
fn dicts_written_by_python_marshal_read_back() {
    if !external("python3") {
        return;
    }
    let script = r#"
import marshal, random, sys
out = sys.argv[1]
names = ['f', 'caf\xe9', '\u65e5\u672c', '\ud800', 'x\udcff', '<lambda>', ' ;']
for seed in range(40):
    r = random.Random(seed)
    keys = list({(r.choice(['a.py', '~', 'd\udce9.py']), r.randrange(-3, 3000),
                  ''.join(r.choice(names) for _ in range(r.randrange(1, 4))))
                 for _ in range(r.randrange(1, 30))})
    def num(): return r.choice([0, -5, 2**31, 2**64 + 3, -2**70, r.randrange(10**6)])
    def tm(): return r.choice([float('nan'), -1.5, 1e300, float('inf'), 0.0, -0.0, r.random(), 7])
    stats = {}
    for k in keys:
        callers = {}
        for c in r.sample(keys, r.randrange(0, min(4, len(keys)) + 1)):
            callers[c] = r.choice([num(), (num(), num(), tm(), tm())])
        stats[k] = (num(), num(), tm(), tm(), callers)
    version = seed % 5
    with open(f'{out}/py_{seed}.prof', 'wb') as f:
        f.write(marshal.dumps(stats, version))
    with open(f'{out}/py_{seed}.txt', 'w') as f:
        def h(s): return s.encode('utf-8', 'surrogatepass').hex()
        for k, v in stats.items():
            f.write('F %s %d %s %d %d %r %r\n' % (h(k[0]), k[1], h(k[2]), v[0], v[1], v[2], v[3]))
            for c, e in v[4].items():
                if isinstance(e, int):
                    f.write('C %s %d %s %d\n' % (h(c[0]), c[1], h(c[2]), e))
                else:
                    f.write('T %s %d %s %d %d %r %r\n' % (h(c[0]), c[1], h(c[2]), e[0], e[1], e[2], e[3]))
"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let ran = Command::new("python3")
        .args(["-c", script])
        .arg(dir.path())
        .status();
    assert!(
        ran.as_ref().is_ok_and(|s| s.success()),
        "python3 could not write the dicts: {ran:?}"
    );
    let unhex = |s: &str| -> Text {
        let b: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect();
        text(&b)
    };
    let num = |s: &str| -> Count { s.parse().expect("count") };
    let flt = |s: &str| -> f64 { s.parse().unwrap_or_else(|_| panic!("float {s}")) };
    for seed in 0..40 {
        let data = std::fs::read(dir.path().join(format!("py_{seed}.prof"))).expect("prof");
        let lines = std::fs::read_to_string(dir.path().join(format!("py_{seed}.txt"))).unwrap();
        let mut b = ProfileBuilder::new();
        let mut current = None;
        for line in lines.lines() {
            let w: Vec<&str> = line.split(' ').collect();
            let key = FuncKey {
                file: unhex(w[1]),
                line: w[2].parse().expect("line"),
                name: unhex(w[3]),
            };
            let callee = || current.clone().expect("a function first");
            match w[0] {
                "F" => {
                    let s = Stats {
                        cc: num(w[4]),
                        nc: num(w[5]),
                        tt: flt(w[6]),
                        ct: flt(w[7]),
                    };
                    b.set_function(key.clone(), s);
                    current = Some(key);
                }
                "C" => b.add_edge(key, callee(), EdgeStats::Count(num(w[4]).into())),
                _ => {
                    let s = Stats {
                        nc: num(w[4]),
                        cc: num(w[5]),
                        tt: flt(w[6]),
                        ct: flt(w[7]),
                    };
                    b.add_edge(key, callee(), EdgeStats::Timed(s));
                }
            }
        }
        let want = b.finish();
        let context = format!("python seed {seed} (marshal version {})", seed % 5);
        let loaded =
            input::load("py", Bytes::from(data)).unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_same_profile(&loaded.profile, &want, &context);
        let options = RenderOptions::default();
        assert!(render_all(&loaded.profile, &options) == render_all(&loaded.profile, &options));
    }
}

/// Every frame of both trees: a finite, non-negative width that holds its children and
/// lies within the range it reports as consistent with the data; exact frames report
/// no range; the frames under the root add up to at most the profile's total.
fn assert_trees_are_consistent(profile: &Profile, context: &str) {
    for threshold in [0.0, 0.001] {
        let options = flameprof::__private::tree::TreeOptions {
            threshold,
            ..Default::default()
        };
        for (name, tree) in [
            (
                "flame",
                flameprof::__private::tree::flame_tree(profile, &options),
            ),
            (
                "inverted",
                flameprof::__private::tree::inverted_tree(profile, &options),
            ),
        ] {
            let total = tree.total();
            let slack = 1e-9 * total.max(f64::MIN_POSITIVE);
            for (i, f) in tree.frames().iter().enumerate() {
                // Built only for a failure: formatting every frame would cost more than the checks.
                let at = || format!("{context}: {name} tree at {threshold}, frame {i}: {f:?}");
                assert!(f.total.is_finite() && f.total >= 0.0, "{}", at());
                let children: f64 = tree
                    .children(i as u32)
                    .iter()
                    .map(|&c| tree.frame(c).total)
                    .sum();
                assert!(children <= f.total + slack, "{}: children {children}", at());
                assert!(f.self_time >= -slack, "{}", at());
                assert!(f.min_total <= f.total + slack, "{}", at());
                assert!(f.total <= f.max_total + slack, "{}", at());
                if f.exact {
                    assert!(f.max_total - f.min_total <= slack, "{}", at());
                }
            }
        }
    }
}

/// The stats files of the real programs and of the format fixtures, sorted.
fn fixture_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = ["tests/data/real", "tests/data/pstats"]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|x| x == "prof"))
        .collect();
    files.sort();
    files
}

#[test]
fn trees_of_every_fixture_hold_their_children_and_their_bounds() {
    let files = fixture_files();
    let mut checked = 0;
    for path in &files {
        let data = Bytes::from(std::fs::read(path).unwrap());
        if let Ok(loaded) = input::load("fixture", data) {
            assert_trees_are_consistent(&loaded.profile, &path.display().to_string());
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} fixtures read");
}

/// In a file cProfile wrote, every frame lies inside one of its function's outermost
/// calls, so no frame of the flame graph is wider than the function's `ct`: the bound
/// that still holds where the estimate runs past the per-edge pools (time carried down
/// to nested hooks, re-entry into a cycle).
#[test]
fn no_frame_of_a_real_profile_is_wider_than_its_function() {
    // The real programs, and the small real profiles among the format fixtures.
    let files: Vec<std::path::PathBuf> = (fixture_files().into_iter())
        .filter(|p| {
            p.starts_with("tests/data/real")
                || p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("real_cprofile"))
        })
        .collect();
    assert!(files.len() > 20, "only {} real profiles", files.len());
    for path in &files {
        let loaded = input::load("fixture", Bytes::from(std::fs::read(path).unwrap())).unwrap();
        let profile = &loaded.profile;
        for threshold in [0.0, 0.001] {
            let options = flameprof::__private::tree::TreeOptions {
                threshold,
                ..Default::default()
            };
            let tree = flameprof::__private::tree::flame_tree(profile, &options);
            for f in tree.frames() {
                let Some(func) = f.func else { continue };
                let ct = { profile.function(func).stats.ct };
                assert!(
                    f.total <= ct * (1.0 + 1e-9) + 1e-12,
                    "{}: {:?} drawn {} wide, its ct {ct}",
                    path.display(),
                    profile.function(func).key,
                    f.total
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(config(100))]

    #[test]
    fn trees_of_random_profiles_hold_their_children_and_their_bounds(
        (rows, _) in stats_dict(),
    ) {
        let (_, profile) = stats_and_profile(&rows, Flavour::Py3V4);
        assert_trees_are_consistent(&profile, "random profile");
    }
}
