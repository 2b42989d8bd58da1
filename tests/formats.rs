//! The docs in `formats/json`, `formats/text` and `formats/stats`: examples are current
//! (FLAMEPROF_BLESS=1 rewrites them), the JSON validates against `schema.json`, and the
//! jq one-liners of the JSON README run and print what the README says.

use std::process::Command;

use crate::util::{data, external, golden, repo, run};

const EXAMPLE: &str = "pstats/real_cprofile_small_py311.prof";

fn bless() -> bool {
    std::env::var_os("FLAMEPROF_BLESS").is_some_and(|v| v == "1")
}

fn example(args: &[&str]) -> Vec<u8> {
    let input = data(EXAMPLE).display().to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.push(&input);
    let r = run(&all).ok();
    r.stdout().to_vec()
}

#[test]
fn format_examples_are_current() {
    golden(
        "formats/json/example.json",
        &example(&["-f", "json", "--threshold", "0.5"]),
    );
    golden("formats/text/example.txt", &example(&["-f", "text"]));
    golden(
        "formats/text/example-focus.txt",
        &example(&["-f", "text", "--focus", "small.py:6(fib)"]),
    );
    golden("formats/stats/example.txt", &example(&["-f", "stats"]));
    golden(
        "formats/stats/example-callers.txt",
        &example(&["-f", "stats", "--sort", "tottime", "--callers"]),
    );
    golden(
        "formats/stats/example-callees.txt",
        &example(&["-f", "stats", "--sort", "name", "--callees"]),
    );
}

/// Every output format the registry lists that this issue added has its folder.
#[test]
fn new_formats_have_readme_and_example() {
    for name in ["json", "text", "stats"] {
        assert!(
            flameprof::backend::find(name).is_some(),
            "{name} is not registered"
        );
        for file in [
            "README.md",
            if name == "json" {
                "example.json"
            } else {
                "example.txt"
            },
        ] {
            assert!(
                repo(&format!("formats/{name}/{file}")).exists(),
                "formats/{name}/{file} is missing"
            );
        }
    }
}

/// Panics unless `python3` with the `jsonschema` package is here (.ci/run installs
/// python3 from .ci/apt-packages and jsonschema from .ci/requirements.txt).
fn require_python_jsonschema() {
    match Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
    {
        Err(e) => panic!("python3 not found ({e})"),
        Ok(o) if !o.status.success() => {
            panic!("the Python package jsonschema is missing (pip install jsonschema)")
        }
        Ok(_) => {}
    }
}

#[test]
fn json_output_validates_against_the_schema() {
    if !external("python3 with jsonschema") {
        return;
    }
    require_python_jsonschema();
    let tmp = tempfile::tempdir().unwrap();
    let mut files = vec![repo("formats/json/example.json").display().to_string()];
    let inputs = [
        "pstats/real_cprofile_small_py311.prof",
        "pstats/real_profile_cli_small_py311.prof",
        "pstats/real_merged_cprofile_and_profile_mixed_callers_py311.prof",
        "pstats/real_cprofile_deep_recursion_py311.prof",
        "pstats/real_cprofile_mutual_recursion_py311.prof",
        "pstats/real_cprofile_unicode_names_py311.prof",
        "pstats/synth_nan_inf_times.prof",
        "pstats/synth_big_counts_long.prof",
        "pstats/synth_zero_negative_inconsistent.prof",
        "pstats/synth_special_names.prof",
        "pstats/synth_empty_dict.prof",
        "pstats/real_yappi_threads_wall_builtins.prof",
    ];
    for (i, input) in inputs.iter().enumerate() {
        let input = data(input).display().to_string();
        for (j, extra) in [&["--threshold", "0.01"][..], &["--focus", "<module>"][..]]
            .iter()
            .enumerate()
        {
            let out = tmp
                .path()
                .join(format!("{i}-{j}.json"))
                .display()
                .to_string();
            let mut args = vec!["-f", "json", "-o", &out];
            args.extend_from_slice(extra);
            args.push(&input);
            run(&args).ok();
            files.push(out);
        }
    }
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = 0
for f in sys.argv[2:]:
    doc = json.load(open(f, encoding="utf-8"), parse_constant=lambda c: sys.exit("%s: %s is not JSON" % (f, c)))
    for e in v.iter_errors(doc):
        bad += 1
        print("%s: %s at %s" % (f, e.message[:200], list(e.absolute_path)))
    n = doc["flame"]["nodes"]
    for i, node in enumerate(n):
        assert node["id"] == i and (i == 0 or n[node["parent"]]["depth"] + 1 == node["depth"]), (f, i)
        assert node["children"] == [c for c in node["children"] if n[c]["parent"] == i], (f, i)
    for i, fn in enumerate(doc["functions"]):
        assert fn["id"] == i, (f, i)
sys.exit(1 if bad else 0)
"#;
    let schema = repo("formats/json/schema.json").display().to_string();
    let r = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "schema validation failed:\n{}{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
}

/// The ```console blocks of a README: `$ command` lines and the output that follows.
fn console_blocks(readme: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut current: Option<(String, String)> = None;
    for line in readme.lines() {
        if line.starts_with("```console") {
            in_block = true;
        } else if in_block && line.starts_with("```") {
            in_block = false;
            out.extend(current.take());
        } else if in_block {
            if let Some(cmd) = line.strip_prefix("$ ") {
                out.extend(current.take());
                current = Some((cmd.to_string(), String::new()));
            } else if let Some((_, expected)) = current.as_mut() {
                expected.push_str(line);
                expected.push('\n');
            }
        }
    }
    out
}

#[test]
fn jq_examples_in_the_json_readme_print_what_it_says() {
    if !external("jq") {
        return;
    }
    let dir = repo("formats/json");
    let readme_path = dir.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let blocks = console_blocks(&readme);
    assert!(
        blocks.len() >= 4,
        "expected the jq examples in {}",
        readme_path.display()
    );
    // CI installs jq (.ci/apt-packages).
    let jq = Command::new("jq").arg("--version").output();
    assert!(
        jq.is_ok_and(|o| o.status.success()),
        "jq is needed by this test (apt-get install jq)"
    );
    let mut blessed = readme.clone();
    let mut failures = Vec::new();
    for (cmd, expected) in &blocks {
        assert!(
            cmd.starts_with("jq "),
            "only jq commands belong in these blocks: {cmd}"
        );
        let r = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(&dir)
            .output()
            .unwrap();
        let actual = String::from_utf8_lossy(&r.stdout).into_owned();
        if !r.status.success() || actual.is_empty() {
            failures.push(format!(
                "$ {cmd}\nfailed: {}",
                String::from_utf8_lossy(&r.stderr)
            ));
        } else if &actual != expected {
            if bless() {
                blessed = blessed.replacen(
                    &format!("$ {cmd}\n{expected}"),
                    &format!("$ {cmd}\n{actual}"),
                    1,
                );
            } else {
                failures.push(format!(
                    "$ {cmd}\nREADME says:\n{expected}jq prints:\n{actual}"
                ));
            }
        }
    }
    if bless() && blessed != readme {
        std::fs::write(&readme_path, blessed).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{}\n(re-bless with FLAMEPROF_BLESS=1 cargo test)",
        failures.join("\n")
    );
}

#[test]
fn text_fits_the_columns_and_has_no_colour_in_a_pipe() {
    for columns in ["60", "100", "200"] {
        let input = data("pstats/real_cprofile_deep_recursion_py311.prof")
            .display()
            .to_string();
        let big = data("real/sympy.prof").display().to_string();
        for (file, threshold) in [(&input, "0"), (&big, "0.1")] {
            let r = Command::new(env!("CARGO_BIN_EXE_flameprof"))
                .args(["-f", "text", "--threshold", threshold, file])
                .env("COLUMNS", columns)
                .env_remove("NO_COLOR")
                .output()
                .unwrap();
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
            let text = String::from_utf8(r.stdout).unwrap();
            assert!(!text.contains('\x1b'), "colour in a pipe");
            let width: usize = columns.parse().unwrap();
            for line in text.lines() {
                assert!(
                    line.chars().count() <= width,
                    "line wider than {width}: {line:?}"
                );
            }
        }
    }
}

#[test]
fn focus_keeps_only_stacks_through_the_match() {
    let r = run(&[
        "-f",
        "json",
        "--focus",
        "small.py:6(fib)",
        &data(EXAMPLE).display().to_string(),
    ])
    .ok();
    let text = r.stdout_text();
    // Every node line (one per node) either is fib, or lies under or above it.
    let fib_nodes = text
        .lines()
        .filter(|l| l.contains("\"display\":\"/srv/research/corpus/work/small.py:6(fib)\""))
        .count();
    assert!(fib_nodes >= 1, "{text}");
    assert!(
        !text.contains("\"display\":\"/srv/research/corpus/work/small.py:14(area)\",\"name\""),
        "area is not on fib's stacks"
    );
    let empty = run(&[
        "-f",
        "text",
        "--focus",
        "no such function",
        &data(EXAMPLE).display().to_string(),
    ])
    .ok();
    assert_eq!(
        empty.stdout_text().lines().count(),
        2,
        "{}",
        empty.stdout_text()
    );
}

#[test]
fn sort_keys_and_views_are_validated() {
    let f = data(EXAMPLE).display().to_string();
    assert_eq!(run(&["-f", "stats", "--sort", "cum", &f]).code(), 2);
    assert_eq!(
        run(&["-f", "stats", "--callers", "--callees", &f]).code(),
        2
    );
    assert!(
        run(&["-f", "stats", "--sort", "file", &f])
            .ok()
            .stdout_text()
            .contains("Ordered by: file name")
    );
}

/// In process rather than through the binary: a run per fixture and format would spend
/// most of its time starting processes, and a panic fails the test either way.
#[test]
fn new_backends_survive_every_readable_fixture() {
    let options = flameprof::backend::RenderOptions::default();
    let mut rendered = 0;
    for entry in std::fs::read_dir(data("pstats")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The reader's tests cover the broken files; they never reach a backend.
        if name.starts_with("broken_") || !name.ends_with(".prof") {
            continue;
        }
        let bytes = bytes::Bytes::from(std::fs::read(&path).unwrap());
        let Ok(loaded) = flameprof::load(&name, bytes) else {
            continue;
        };
        let _ = flameprof::check(&loaded.profile);
        for backend in flameprof::backend::registry() {
            if !["json", "text", "stats"].contains(&backend.name) {
                continue;
            }
            let job = flameprof::backend::Job::new(&loaded.profile, &options);
            (backend.render)(&job, &mut Vec::new())
                .unwrap_or_else(|e| panic!("{name}: {}: {e}", backend.name));
            rendered += 1;
        }
    }
    assert!(rendered > 150, "only {rendered} renders");
}

/// The value of `"key":` in one node line of `-f json` (up to the next `,` or `}`).
fn json_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":");
    let at = line.find(&pat)? + pat.len();
    let rest = &line[at..];
    Some(&rest[..rest.find([',', '}']).unwrap_or(rest.len())])
}

/// Counts `(exact, close, guess)` frames in the flame tree of `-f json` for `rel`, after
/// checking every node's `certainty` against the rule of `formats/json/README.md`.
pub fn json_certainty_counts(rel: &str) -> [usize; 3] {
    let input = data(rel).display().to_string();
    let out = run(&["-f", "json", &input]).ok();
    let text = String::from_utf8_lossy(out.stdout()).into_owned();
    let flame = &text[text.find("\n\"flame\":").unwrap()..text.find("\n\"inverted\":").unwrap()];
    let mut counts = [0; 3];
    let mut stack: Vec<(bool, f64)> = Vec::new();
    for line in flame.lines().filter(|l| l.starts_with("{\"id\":")) {
        let num = |k: &str| {
            json_field(line, k)
                .unwrap()
                .parse::<f64>()
                .unwrap_or(f64::NAN)
        };
        // The spreads add up from the root; a frame is exact only on an exact stack.
        let id: usize = json_field(line, "id").unwrap().parse().unwrap();
        let (parent_exact, parent_sum) = match json_field(line, "parent") {
            Some("null") | None => (true, 0.0),
            Some(p) => stack[p.parse::<usize>().unwrap()],
        };
        let exact = json_field(line, "exact") == Some("true");
        let spread = if exact {
            0.0
        } else {
            let s = (num("max_total") - num("min_total")) / num("total");
            if num("total") > 0.0 && s.is_finite() {
                s
            } else {
                f64::INFINITY
            }
        };
        let sum = parent_sum + spread;
        assert_eq!(stack.len(), id, "nodes in order, parents first");
        stack.push((exact && parent_exact, sum));
        let expected = if exact && parent_exact {
            "\"exact\""
        } else if sum <= 0.5 {
            "\"close\""
        } else {
            "\"guess\""
        };
        assert_eq!(json_field(line, "certainty"), Some(expected), "{line}");
        counts[["\"exact\"", "\"close\"", "\"guess\""]
            .iter()
            .position(|g| *g == expected)
            .unwrap()] += 1;
    }
    counts
}

#[test]
fn json_grades_every_node_by_the_range_its_data_allows() {
    for rel in [EXAMPLE, "real/pip_list.prof", "real/pylint.prof"] {
        let [exact, close, guess] = json_certainty_counts(rel);
        assert!(exact > 0, "{rel}: no exact frame (the root is one)");
        if rel != EXAMPLE {
            assert!(close > 0 && guess > 0, "{rel}: {exact} {close} {guess}");
        }
    }
}

#[test]
fn text_marks_each_frame_with_the_grade_json_gives_it() {
    for rel in [EXAMPLE, "real/pip_list.prof"] {
        let [_, close, guess] = json_certainty_counts(rel);
        let input = data(rel).display().to_string();
        let out = run(&["-f", "text", &input]).ok();
        let text = String::from_utf8_lossy(out.stdout()).into_owned();
        let header = text.lines().next().unwrap();
        assert!(header.ends_with("function (~ = close estimate, ? = rough guess)"));
        // The total column (after the share); cut summaries and the footer have none.
        let marks: Vec<char> = (text.lines().skip(1))
            .filter_map(|l| l.split_whitespace().nth(1)?.chars().next())
            .collect();
        let count = |c: char| marks.iter().filter(|&&m| m == c).count();
        assert_eq!((count('~'), count('?')), (close, guess), "{rel}");
    }
}

#[test]
fn svg_draws_each_frame_with_the_grade_json_gives_it() {
    let [exact, close, guess] = json_certainty_counts("real/pip_list.prof");
    let input = data("real/pip_list.prof").display().to_string();
    let out = run(&["--flame-only", "--no-script", &input]).ok();
    let svg = String::from_utf8_lossy(out.stdout()).into_owned();
    let class = |tail: &str| {
        (svg.lines())
            .filter(|l| l.starts_with("<rect x=") && l.contains(&format!("{tail}\" tabindex")))
            .count()
    };
    let solid = (svg.lines())
        .filter(|l| l.starts_with("<rect x=") && !l.contains(" e\" ") && !l.contains(" g\" "))
        .count();
    // Every frame of the tree is wide enough to draw; the root is not drawn.
    assert_eq!(
        (solid, class(" e"), class(" e g")),
        (exact - 1, close, guess)
    );
}
