//! Collapsed ("folded") stacks in: every dialect in every format, the numbers they
//! give, `-f log` giving the stacks back, standard input, merging, and bad input
//! (see `formats/collapsed/README.md`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::util::{data, formats, run, run_in};

/// The fixtures, one per dialect: py-spy's `--format raw` (recorded from
/// `tests/data/collapsed/x.py`, plain, `--threads`, and `--subprocesses --idle
/// --function`), austin and CPython 3.15 (written from their formats), flamegraph.pl's
/// bare frames, and `file:line:name` frames with recursion.
const FIXTURES: &[&str] = &[
    "collapsed/pyspy.txt",
    "collapsed/pyspy_threads.txt",
    "collapsed/pyspy_subprocesses_idle_function.txt",
    "collapsed/austin.txt",
    "collapsed/austin-3.7.0-wall.txt",
    "collapsed/cpython315.txt",
    "collapsed/plain.txt",
    "collapsed/recursion.txt",
];

fn path(rel: &str) -> String {
    data(rel).display().to_string()
}

/// A frame of any dialect as `-f log` writes it: `file:line:name`.
fn as_log_frame(frame: &str, first: bool) -> String {
    if frame == ":INVALID:" {
        return "~:0:<INVALID>".to_string();
    }
    let int = |s: &str| s.parse::<i64>().is_ok();
    let parts: Vec<&str> = frame.splitn(3, ':').collect();
    if parts.len() == 3 && int(parts[1]) {
        return frame.to_string();
    }
    let thread = first && (frame.starts_with("thread (") || frame.starts_with("process "));
    if !thread
        && let Some(inner) = frame.strip_suffix(')')
        && let Some((name, place)) = inner.rsplit_once(" (")
        && let Some((file, line)) = place.rsplit_once(':')
        && int(line)
    {
        return format!("{file}:{line}:{name}");
    }
    if let Some((rest, line)) = frame.rsplit_once(':')
        && int(line)
        && let Some((file, name)) = rest.rsplit_once(':')
    {
        return format!("{file}:{line}:{name}");
    }
    format!("~:0:{frame}")
}

/// The stacks of folded text as a multiset, frames written as `-f log` writes them
/// (comments, blank lines and stacks with no frames left out).
fn stacks(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (stack, value) = line.rsplit_once(' ').expect("a count");
        if stack.trim().is_empty() {
            continue;
        }
        let frames: Vec<String> = (stack.split(';').enumerate())
            .map(|(i, f)| as_log_frame(f, i < 2))
            .collect();
        *out.entry(frames.join(";")).or_insert(0) += value.parse::<u64>().expect("a count");
    }
    out
}

/// The arguments of `-f log` with every frame and line kept and the values written as
/// read at `--log-mult MULT`, then `rest`.
fn exact_log<'a>(mult: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "-f",
        "log",
        "--threshold",
        "0",
        "--keep-lines",
        "--log-mult",
        mult,
    ];
    all.extend_from_slice(rest);
    all
}

fn log_of(args: &[&str]) -> String {
    run(&exact_log("1", args)).ok().stdout_text()
}

/// `-f log --keep-lines` at threshold 0 of `fixture`, its values written as they were read: samples
/// at `--log-mult 1`, austin's microseconds (read as seconds) at the default 1e6.
fn log_back(fixture: &str) -> String {
    let mult = if is_austin(fixture) { "1000000" } else { "1" };
    run(&exact_log(mult, &[&path(fixture)])).ok().stdout_text()
}

/// austin's fixtures: their values are microseconds (`# mode: wall`).
fn is_austin(fixture: &str) -> bool {
    fixture.contains("austin")
}

#[test]
fn every_dialect_renders_in_every_format() {
    for fixture in FIXTURES {
        for format in formats() {
            let r = run(&["-f", format, &path(fixture)]).ok();
            assert!(!r.stdout().is_empty(), "{}", r.describe());
        }
    }
}

#[test]
fn log_at_threshold_0_gives_back_the_input_stacks() {
    for fixture in FIXTURES {
        let input = std::fs::read_to_string(data(fixture)).unwrap();
        let back = log_back(fixture);
        assert_eq!(stacks(&back), stacks(&input), "{fixture}");
    }
}

#[test]
fn our_own_log_output_reads_back_into_the_same_keys() {
    for fixture in FIXTURES {
        let once = log_back(fixture);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("once.folded"), &once).unwrap();
        let twice = run_in(dir.path(), &exact_log("1", &["once.folded"]), None).ok();
        assert_eq!(twice.stdout_text(), once, "{fixture}");
        // And the function table too: the same numbers under the same names (austin's
        // are seconds, its log's samples: not the same table).
        if is_austin(fixture) {
            continue;
        }
        let stats = |dir: &Path, file: &str| {
            run_in(dir, &["-f", "stats", "--sort", "stdname", file], None)
                .ok()
                .stdout_text()
        };
        let from_input = stats(Path::new(env!("CARGO_MANIFEST_DIR")), &path(fixture));
        assert_eq!(stats(dir.path(), "once.folded"), from_input, "{fixture}");
    }
}

#[test]
fn cumulative_samples_count_a_recursive_function_once_per_stack() {
    // main;rec;rec;leaf 4 / main;rec 2 / main 1.
    let json = run(&["-f", "json", &path("collapsed/recursion.txt")])
        .ok()
        .stdout_text();
    for (name, numbers) in [
        ("main", r#""cc":1,"nc":7,"tt":1.0,"ct":7.0"#),
        ("rec", r#""cc":2,"nc":6,"tt":2.0,"ct":6.0"#),
        ("leaf", r#""cc":4,"nc":4,"tt":4.0,"ct":4.0"#),
    ] {
        let row = json
            .lines()
            .find(|l| l.contains(&format!(r#""name":"{name}","module""#)))
            .unwrap_or_else(|| panic!("{name} in {json}"));
        assert!(row.contains(numbers), "{name}: {row}");
    }
    // The call rec→rec is on 4 samples' stacks, main→rec on 6.
    assert!(json.contains(r#""callers":[{"id":0,"display":"m.py:1(main)","calls":6},{"id":1,"display":"m.py:5(rec)","calls":4}]"#), "{json}");
    let stats = run(&["-f", "stats", &path("collapsed/recursion.txt")])
        .ok()
        .stdout_text();
    assert!(stats.contains("in 7.000 seconds"), "{stats}");
    for row in [
        "      7/1    1.000    0.143    7.000    7.000 m.py:1(main)",
        "      6/2    2.000    0.333    6.000    3.000 m.py:5(rec)",
        "        4    4.000    1.000    4.000    1.000 m.py:9(leaf)",
    ] {
        assert!(stats.contains(row), "{row:?} in\n{stats}");
    }
}

#[test]
fn every_frame_of_both_trees_is_exact() {
    for fixture in FIXTURES {
        let json = run(&["-f", "json", "--threshold", "0", &path(fixture)])
            .ok()
            .stdout_text();
        assert!(!json.contains(r#""certainty":"close""#), "{fixture}");
        assert!(!json.contains(r#""certainty":"guess""#), "{fixture}");
        assert!(!json.contains(r#""exact":false"#), "{fixture}");
    }
    // The inverted tree: each function at its samples on top, the stacks beneath.
    let lib = flameprof::load_file(&data("collapsed/plain.txt"))
        .unwrap()
        .profile;
    let options = flameprof::TreeOptions {
        threshold: 0.0,
        ..Default::default()
    };
    let inverted = flameprof::inverted_tree(&lib, &options);
    let width = |name: &str| {
        let id = (0..lib.functions().len() as u32)
            .find(|&i| lib.function(i).key.name.as_str() == name)
            .unwrap();
        let tops: Vec<f64> = (inverted.children(0).iter())
            .map(|&c| inverted.frame(c))
            .filter(|f| f.func == Some(id))
            .map(|f| f.total)
            .collect();
        tops
    };
    assert_eq!(width("tokenize"), [30.0]);
    assert_eq!(width("measure"), [25.0]);
    assert_eq!(width("parse"), [10.0]);
    for f in inverted.frames() {
        assert_eq!(
            (f.exact, f.min_total, f.max_total),
            (true, f.total, f.total)
        );
    }
}

#[test]
fn standard_input_is_recognised_from_its_content() {
    let bytes = std::fs::read(data("collapsed/pyspy.txt")).unwrap();
    let from_stdin = run_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &exact_log("1", &[]),
        Some(bytes),
    )
    .ok();
    assert_eq!(
        from_stdin.stdout_text(),
        log_of(&[&path("collapsed/pyspy.txt")])
    );
    assert!(
        from_stdin
            .stderr()
            .contains("<stdin>: 2 samples with no frames"),
        "{}",
        from_stdin.describe()
    );
}

#[test]
fn thread_roots_are_kept_or_dropped() {
    for (fixture, root) in [
        ("collapsed/pyspy_threads.txt", "thread ("),
        ("collapsed/pyspy_subprocesses_idle_function.txt", "process "),
        ("collapsed/austin.txt", "~:0:P4317;~:0:T0:43"),
        ("collapsed/cpython315.txt", "~:0:tid:"),
    ] {
        let kept = log_of(&[&path(fixture)]);
        let r = run(&exact_log("1", &["--no-thread-roots", &path(fixture)])).ok();
        let dropped = r.stdout_text();
        // A stack of thread frames alone has no frame left: said, and left out.
        let frameless: f64 = (r.stderr().split(" samples with no frames").next())
            .and_then(|s| s.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0);
        assert!(kept.lines().all(|l| l.contains(root)), "{fixture}: {kept}");
        assert!(
            !dropped.contains(root) && !dropped.contains("~:0:T"),
            "{fixture}: {dropped}"
        );
        let sum = |t: &str| crate::util::folded_sum(t);
        assert_eq!(sum(&kept), sum(&dropped) + frameless, "{fixture}");
    }
}

#[test]
fn collapsed_inputs_merge_by_adding_stacks() {
    let plain = path("collapsed/plain.txt");
    let twice = log_of(&[&plain, &plain]);
    let once = stacks(&log_of(&[&plain]));
    let doubled: BTreeMap<String, u64> = once.iter().map(|(k, v)| (k.clone(), 2 * v)).collect();
    assert_eq!(stacks(&twice), doubled);
}

#[test]
fn sampled_stacks_and_cprofile_calls_are_not_merged() {
    let prof = path("pstats/real_cprofile_small_py311.prof");
    let folded = path("collapsed/plain.txt");
    for (a, b, message) in [
        (
            &folded,
            &prof,
            format!(
                "cannot read '{prof}': a profile of calls (cProfile, profile, yappi) cannot be \
                 merged with '{folded}', sampled stacks (counts are samples, no times)"
            ),
        ),
        (
            &prof,
            &folded,
            format!(
                "cannot read '{folded}': sampled stacks (counts are samples, no times) cannot be \
                 merged with '{prof}', a profile of calls (cProfile, profile, yappi)"
            ),
        ),
    ] {
        let r = run(&["-f", "text", a, b]);
        assert_eq!(r.code(), 1, "{}", r.describe());
        assert_eq!(r.stderr(), format!("flameprof: {message}\n"));
    }
}

#[test]
fn bad_lines_are_refused_with_their_number_and_problem() {
    let cases: &[(&[u8], &str)] = &[
        (b"a;b 1\na;c\n", "line 2: no sample count at the end"),
        (b"a;b 1\na;c -3\n", "line 2: negative sample count '-3'"),
        (
            b"a;b 1\n\na;c 1.5\n",
            "line 3: sample count '1.5' is not a whole number",
        ),
        (
            b"a;b 1\na;c 99999999999999999999\n",
            "line 2: sample count '99999999999999999999' is larger than",
        ),
        (
            b"a;b 1\na;\xff 1\n",
            "line 2: not valid UTF-8 (byte 0xff at column 3)",
        ),
        (
            b"a;b 1\na;\x00 1\n",
            "line 2: a control character (U+0000) at column 3",
        ),
        (b"a;b 1\na;;c 1\n", "line 2: frame 2 is empty"),
    ];
    for (input, message) in cases {
        let r = run_in(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &["-f", "text"],
            Some(input.to_vec()),
        );
        assert_eq!(r.code(), 1, "{}", r.describe());
        let want = format!("flameprof: cannot read '<stdin>': {message}");
        assert!(
            r.stderr().starts_with(&want),
            "{} (wanted {want})",
            r.describe()
        );
        assert_eq!(r.stderr().lines().count(), 1, "{}", r.describe());
    }
}

#[test]
fn a_million_frames_on_one_line_stay_bounded() {
    let mut line = "f.py:1:f;".repeat(1_000_000);
    line.push_str("f.py:2:g 7\n");
    for format in formats() {
        let r = run_in(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &["-f", format],
            Some(line.clone().into_bytes()),
        );
        assert_eq!(r.code(), 0, "{}", r.describe());
    }
}

/// austin's values are microseconds of its metric (`# mode: wall`), not samples: the
/// profile is in seconds, its counts unknown (`?`, not microseconds shown as samples).
#[test]
fn austin_values_are_microseconds_and_counts_unknown() {
    let fixture = "collapsed/austin-3.7.0-wall.txt";
    let input = std::fs::read_to_string(data(fixture)).unwrap();
    let micros: u64 = (input.lines())
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(micros, 25821);
    let lib = flameprof::load_file(&data(fixture)).unwrap().profile;
    assert_eq!(lib.measure(), flameprof::Measure::Samples { seconds: true });
    assert!((lib.totals().2 - micros as f64 * 1e-6).abs() < 1e-12);
    assert!(lib.functions().iter().all(|f| !f.stats.calls_known()));
    let tree = flameprof::flame_tree(&lib, &flameprof::TreeOptions::default());
    assert!((tree.total() - 0.025821).abs() < 1e-12, "{}", tree.total());
    // A frame with no time of its own has exactly none (the trees are drawn in whole
    // microseconds, then scaled).
    for f in tree.frames() {
        assert!(f.self_time == 0.0 || f.self_time >= 1e-6, "{f:?}");
    }

    let text = run(&["-f", "text", &path(fixture)]).ok().stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].contains("25.82ms") && lines[1].contains("all (23 functions)"),
        "{text}"
    );
    assert!(!text.contains("samples)"), "{text}");
    // `:INVALID:` is the sampler's frame, shown as one and said to be austin's.
    assert!(text.contains("─ {INVALID}"), "{text}");
    assert!(
        text.contains("{INVALID} frames are austin's: samples it could not read"),
        "{text}"
    );
    let json = run(&["-f", "json", &path(fixture)]).ok().stdout_text();
    assert!(
        json.contains(r#""units":{"counts":"samples","times":"seconds"}"#),
        "{json}"
    );
    assert!(
        json.contains(r#""file":"~","line":0,"name":"<INVALID>""#),
        "{json}"
    );
    let svg = run(&["-f", "svg", &path(fixture)]).ok().stdout_text();
    assert!(svg.contains("samples not counted"), "{svg}");
    // -f log at its default (microseconds) writes the values austin wrote.
    let log = run(&[
        "-f",
        "log",
        "--threshold",
        "0",
        "--keep-lines",
        &path(fixture),
    ])
    .ok()
    .stdout_text();
    assert_eq!(stacks(&log), stacks(&input));
}

/// austin's full mode (`time,+mem,-mem`): the time is read, the memory left out with a
/// warning; memory mode (bytes) is refused on its header's line.
#[test]
fn austin_full_mode_reads_its_time_and_memory_mode_is_refused() {
    let full = "collapsed/austin-3.7.0-full.txt";
    let input = std::fs::read_to_string(data(full)).unwrap();
    let micros: u64 = (input.lines())
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            l.rsplit_once(' ')
                .unwrap()
                .1
                .split(',')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    let r = run(&["-f", "json", &path(full)]).ok();
    assert!(
        r.stderr()
            .contains("austin's full mode: the time of each sample was read"),
        "{}",
        r.describe()
    );
    let lib = flameprof::load_file(&data(full)).unwrap().profile;
    assert!((lib.totals().2 - micros as f64 * 1e-6).abs() < 1e-12);

    // Seconds both, but austin's counts are unknown and a sampled stats file's samples.
    let wall = path("collapsed/austin-3.7.0-wall.txt");
    let r = run(&[
        "-f",
        "text",
        &wall,
        "tests/data/pstats/synth_sampled_py315.prof",
    ]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr().contains(&format!(
            "a sampled profile (counts are samples) cannot be merged with '{wall}', austin's \
             stacks (times, sample counts unknown)"
        )),
        "{}",
        r.describe()
    );
    let merged = run(&["-f", "json", &wall, &path(full)]).ok().stdout_text();
    assert!(merged.contains(r#""units":{"counts":"samples","times":"seconds"}"#));

    let memory = path("collapsed/austin-3.7.0-memory.txt");
    let r = run(&["-f", "text", &memory]);
    assert_eq!(r.code(), 1);
    assert_eq!(
        r.stderr().trim_end(),
        format!(
            "flameprof: cannot read '{memory}': line 3: austin's memory mode (values are bytes) is not read; record in wall or cpu mode"
        )
    );
}

/// A stack's frames as `(file, name)`, lines dropped, with its value.
fn by_function(log: &str) -> BTreeMap<Vec<(String, String)>, u64> {
    let mut out = BTreeMap::new();
    for line in log.lines() {
        let (stack, value) = line.rsplit_once(' ').unwrap();
        let frames = (stack.split(';'))
            .map(|f| {
                let mut p = f.splitn(3, ':');
                let (file, _, name) = (p.next().unwrap(), p.next(), p.next().unwrap());
                (file.to_string(), name.to_string())
            })
            .collect();
        *out.entry(frames).or_insert(0) += value.parse::<u64>().unwrap();
    }
    out
}

/// py-spy records the line being run: by default each function is one key (at its
/// smallest line), every frame kept, so the stacks are the same stacks with the lines
/// dropped and the totals unchanged; `--keep-lines` keeps the keys (the round trips
/// above).
#[test]
fn per_line_frames_are_grouped_by_function_unless_keep_lines() {
    for fixture in ["collapsed/pyspy.txt", "collapsed/austin-3.7.0-wall.txt"] {
        let mult = if is_austin(fixture) { "1000000" } else { "1" };
        let p = path(fixture);
        let grouped = run(&["-f", "log", "--threshold", "0", "--log-mult", mult, &p])
            .ok()
            .stdout_text();
        let kept = log_back(fixture);
        assert_ne!(grouped, kept, "{fixture}: nothing to group?");
        assert_eq!(by_function(&grouped), by_function(&kept), "{fixture}");
        // One key per function: no two keys share a file and a name.
        let mut keys = BTreeMap::new();
        for frame in grouped
            .lines()
            .flat_map(|l| l.rsplit_once(' ').unwrap().0.split(';'))
        {
            let mut p = frame.splitn(3, ':');
            let (file, line, name) = (p.next().unwrap(), p.next().unwrap(), p.next().unwrap());
            let seen = keys
                .entry((file.to_string(), name.to_string()))
                .or_insert(line.to_string());
            assert_eq!(seen, line, "{fixture}: {file} {name}");
        }
    }
    // work ran at lines 14 and 15 of x.py: one key, at 14; leaf at 8 and 9: at 8.
    let text = run(&[
        "-f",
        "text",
        "--threshold",
        "0",
        &path("collapsed/pyspy.txt"),
    ])
    .ok()
    .stdout_text();
    assert!(
        text.contains("work (x.py:14)") && !text.contains("work (x.py:15)"),
        "{text}"
    );
    assert!(
        text.contains("leaf (x.py:8)") && !text.contains("leaf (x.py:9)"),
        "{text}"
    );
    let json = |extra: &[&str]| {
        let mut args = vec!["-f", "json"];
        args.extend_from_slice(extra);
        args.push("tests/data/collapsed/pyspy.txt");
        let out = run(&args).ok().stdout_text();
        let at = out.find("\"totals\":").unwrap();
        out[at..at + out[at..].find('}').unwrap()].to_string()
    };
    // The same samples on top and the same time; the samples on the stack (`calls`)
    // are fewer, as a function running at two of its lines in one stack (work at 14
    // calling fib, fib at 4 calling fib at 3) now counts once.
    let (g, k) = (json(&[]), json(&["--keep-lines"]));
    let tail = |t: &str| t[t.find("\"primitive_calls\"").unwrap()..].to_string();
    assert_eq!(tail(&g), tail(&k));
    assert!(
        g.starts_with("\"totals\":{\"functions\":31,") && k.contains("\"functions\":35,"),
        "{g} {k}"
    );
}
