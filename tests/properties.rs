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

use marshal_writer::{Flavour, Py, Rng, Writer};

use crate::util::external;

/// A name: ASCII, non-ASCII, or holding a lone surrogate (surrogatepass bytes).
fn name(rng: &mut Rng) -> Vec<u8> {
    let parts: &[&[u8]] = &[
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
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let part: &&[u8] = rng.pick(parts);
        out.extend_from_slice(part);
    }
    out
}

fn count(rng: &mut Rng) -> (Py, Count) {
    match rng.below(10) {
        0 => (Py::Int(0), 0),
        1 => {
            let n = -(rng.below(1000) as i128);
            (Py::Int(n), n)
        }
        2 => {
            let n = rng.next() as i128; // up to 2^64
            (Py::Int(n), n)
        }
        3 => {
            let n = (rng.next() as i128) << 40; // up to 2^104
            (Py::Int(n), n)
        }
        4 => {
            // Beyond i128: saturates.
            let negative = rng.chance(30);
            let bits = 128 + rng.below(100) as u32;
            (
                Py::HugeInt { negative, bits },
                if negative { i128::MIN } else { i128::MAX },
            )
        }
        _ => {
            let n = rng.below(100_000) as i128;
            (Py::Int(n), n)
        }
    }
}

fn time(rng: &mut Rng) -> (Py, f64) {
    let x = match rng.below(12) {
        0 => f64::NAN,
        1 => -(rng.below(1000) as f64) / 7.0,
        2 => 1e300 * rng.below(10) as f64,
        3 => f64::INFINITY,
        4 => f64::NEG_INFINITY,
        5 => -0.0,
        6 => 5e-324,
        7 => {
            // An int where a float is expected.
            let n = rng.below(50) as i128;
            return (Py::Int(n), n as f64);
        }
        _ => rng.below(1_000_000) as f64 / 1e6,
    };
    (Py::Float(x), x)
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

/// A random stats dict and the profile it must read as.
fn random_stats(rng: &mut Rng, flavour: Flavour) -> (Py, Profile) {
    let n = 1 + rng.below(40) as usize;
    let mut keys: Vec<(Py, FuncKey)> = Vec::new();
    let mut seen = HashSet::new();
    let files: &[&[u8]] = &[
        b"a.py",
        b"~",
        b"",
        b"/srv/app/m\xc3\xb6d.py",
        b"x\xED\xB0\x80.py",
    ];
    while keys.len() < n {
        let file = *rng.pick(files);
        let line = rng.below(3000) as i64 - if rng.chance(5) { 5000 } else { 0 };
        let nm = name(rng);
        let key = FuncKey {
            file: text(file),
            line,
            name: text(&nm),
        };
        if seen.insert(key.clone()) {
            let as_bytes = flavour == Flavour::Py2 && rng.chance(30);
            keys.push((key_py(file, line, &nm, as_bytes), key));
        }
    }
    let mut b = ProfileBuilder::new();
    let mut rows = Vec::new();
    for (kp, key) in &keys {
        let (cc_p, cc) = count(rng);
        let (nc_p, nc) = count(rng);
        let (tt_p, tt) = time(rng);
        let (ct_p, ct) = time(rng);
        b.set_function(key.clone(), Stats { cc, nc, tt, ct });
        // Callers: a few, or many; sometimes itself (recursion); ints or 4-tuples.
        let many = rng.chance(10);
        let ncallers = if many {
            rng.below(keys.len() as u64 + 1)
        } else {
            rng.below(4)
        };
        let mut callers = Vec::new();
        let mut used = HashSet::new();
        for _ in 0..ncallers {
            let (ckp, ck) = &keys[rng.below(keys.len() as u64) as usize];
            if !used.insert(ck.clone()) {
                continue;
            }
            let value = if rng.chance(20) {
                let (p, c) = count(rng);
                b.add_edge(ck.clone(), key.clone(), EdgeStats::Count(c.into()));
                p
            } else {
                let (nc_p, nc) = count(rng);
                let (cc_p, cc) = count(rng);
                let (tt_p, tt) = time(rng);
                let (ct_p, ct) = time(rng);
                b.add_edge(
                    ck.clone(),
                    key.clone(),
                    EdgeStats::Timed(Stats { cc, nc, tt, ct }),
                );
                Py::Tuple(vec![nc_p, cc_p, tt_p, ct_p])
            };
            callers.push((ckp.clone(), value));
        }
        rows.push((
            kp.clone(),
            Py::Tuple(vec![cc_p, nc_p, tt_p, ct_p, Py::Dict(callers)]),
        ));
    }
    (Py::Dict(rows), b.finish())
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

#[test]
fn random_stats_dicts_read_back_and_render_deterministically() {
    let flavours = [Flavour::Py2, Flavour::Py3V0, Flavour::Py3V4];
    let mut options = RenderOptions::default();
    for seed in 0..300u64 {
        let mut rng = Rng::new(seed);
        let flavour = flavours[(seed % 3) as usize];
        let (dict, want) = random_stats(&mut rng, flavour);
        let mut w = Writer::new(&mut rng, flavour);
        w.write(&dict);
        let bytes = w.out;
        let context = format!("seed {seed} ({flavour:?}, {} bytes)", bytes.len());
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
        options.tree.threshold = [0.001, 0.0, 0.05][(seed % 3) as usize];
        let first = render_all(&loaded.profile, &options);
        let second = render_all(&loaded.profile, &options);
        assert!(first == second, "{context}: two renders differ");
    }
}

#[test]
fn the_property_test_can_fail() {
    // The comparison sees a one-bit change in a time.
    let mut rng = Rng::new(7);
    let (dict, want) = random_stats(&mut rng, Flavour::Py3V4);
    let mut w = Writer::new(&mut rng, Flavour::Py3V4);
    w.write(&dict);
    let loaded = input::load("random", Bytes::from(w.out)).expect("reads");
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

#[test]
fn trees_hold_their_children_and_their_bounds() {
    let mut files: Vec<std::path::PathBuf> = ["tests/data/real", "tests/data/pstats"]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|x| x == "prof"))
        .collect();
    files.sort();
    let mut checked = 0;
    for path in &files {
        let data = Bytes::from(std::fs::read(path).unwrap());
        if let Ok(loaded) = input::load("fixture", data) {
            assert_trees_are_consistent(&loaded.profile, &path.display().to_string());
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} fixtures read");
    for seed in 0..100u64 {
        let mut rng = Rng::new(seed);
        let (_, profile) = random_stats(&mut rng, Flavour::Py3V4);
        assert_trees_are_consistent(&profile, &format!("random seed {seed}"));
    }
}
