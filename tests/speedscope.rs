//! `-f speedscope`: its samples are `-f log`'s folded stacks (same stacks, same values
//! unrounded), their weights add up to the flame tree's total, `-o x.speedscope.json`
//! picks it, and (with the schema from speedscope's npm package, which `.ci/run`
//! fetches) the output validates against speedscope's own file-format schema.

use std::collections::BTreeMap;
use std::process::Command;

use crate::util::{data, external, golden, repo, run};

/// Inputs of every kind: a real cProfile run, a small one, a synthetic one
/// with odd names, and collapsed stacks (counts, no seconds).
const INPUTS: &[&str] = &[
    "real/pip_list.prof",
    "pstats/real_cprofile_small_py311.prof",
    "pstats/real_cprofile_mutual_recursion_py311.prof",
    "pstats/synth_special_names.prof",
    "collapsed/plain.txt",
];

/// Decodes the JSON string literal at the start of `s` (the escapes `-f speedscope`
/// writes); returns it and the rest of `s`.
fn json_string(s: &str) -> (String, &str) {
    let mut chars = s.strip_prefix('"').expect("a string").char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, &s[i + 2..]),
            '\\' => match chars.next().unwrap().1 {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = (0..4).map(|_| chars.next().unwrap().1).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    panic!("unterminated string: {s}")
}

/// What a speedscope file of flameprof's layout says.
struct Speedscope {
    unit: String,
    end: f64,
    /// Stacks as `-f log --labels module` writes them, with their weights.
    samples: Vec<(String, f64)>,
}

fn parse(text: &str) -> Speedscope {
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap().starts_with(
            "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"flameprof "
        ),
        "{text}"
    );
    assert_eq!(lines.next(), Some("\"shared\":{\"frames\":["));
    let mut names = Vec::new();
    let mut line = lines.next().unwrap();
    while let Some(rest) = line.strip_prefix("{\"name\":") {
        let (name, _) = json_string(rest);
        names.push(name.replace(';', ","));
        line = lines.next().unwrap();
    }
    assert!(line.starts_with("]},"), "{line}");
    let header = lines.next().unwrap();
    let field = |key: &str| {
        let at = header.find(key).unwrap() + key.len();
        header[at..].split([',', '"']).next().unwrap().to_string()
    };
    let unit = field("\"unit\":\"");
    let end: f64 = field("\"endValue\":").parse().unwrap();
    assert_eq!(lines.next(), Some("\"samples\":["));
    let mut stacks = Vec::new();
    for line in lines.by_ref() {
        if line == "]," {
            break;
        }
        let inner = line.trim_end_matches(',').trim_matches(['[', ']']);
        let stack: Vec<&str> = inner
            .split(',')
            .map(|i| names[i.parse::<usize>().unwrap()].as_str())
            .collect();
        stacks.push(stack.join(";"));
    }
    assert_eq!(lines.next(), Some("\"weights\":["));
    let weights: Vec<f64> = lines
        .take_while(|l| !l.starts_with("]}]}"))
        .map(|l| l.trim_end_matches(',').parse().unwrap())
        .collect();
    assert_eq!(stacks.len(), weights.len());
    Speedscope {
        unit,
        end,
        samples: stacks.into_iter().zip(weights).collect(),
    }
}

#[test]
fn samples_are_the_folded_stacks_and_add_up_to_the_total() {
    for rel in INPUTS {
        let input = data(rel).display().to_string();
        // pip_list in full is deeper than -f log writes whole (it cuts its stacks to
        // stay within its output bound): the default threshold keeps it whole.
        let threshold = if rel.starts_with("real/") { "0.1" } else { "0" };
        let doc = parse(
            &run(&["-f", "speedscope", "--threshold", threshold, &input])
                .ok()
                .stdout_text(),
        );
        let timed = !rel.starts_with("collapsed/");
        assert_eq!(doc.unit, if timed { "seconds" } else { "none" }, "{rel}");
        let mult = if timed { 1e6 } else { 1.0 };
        let log = run(&[
            "-f",
            "log",
            "--labels",
            "module",
            "--threshold",
            threshold,
            "--log-mult",
            if timed { "1000000" } else { "1" },
            &input,
        ])
        .ok()
        .stdout_text();
        let folded: BTreeMap<&str, u64> = log
            .lines()
            .map(|l| {
                let (stack, value) = l.rsplit_once(' ').unwrap();
                (stack, value.parse().unwrap())
            })
            .collect();
        assert_eq!(folded.len(), log.lines().count(), "{rel}: a stack twice");
        let mut seen = 0;
        for (stack, weight) in &doc.samples {
            assert!(*weight > 0.0, "{rel}: {stack} {weight}");
            match folded.get(stack.as_str()) {
                // -f log carries each line's rounding error to the next: ±1 a line.
                Some(&v) => {
                    assert!(
                        (weight * mult - v as f64).abs() <= 1.0,
                        "{rel}: {} vs {v}: {stack}",
                        weight * mult
                    );
                    seen += 1;
                }
                // A line that rounds to 0 is left out of -f log.
                None => assert!(weight * mult < 1.5, "{rel}: {stack} {weight} not in -f log"),
            }
        }
        assert_eq!(
            seen,
            folded.len(),
            "{rel}: -f log has stacks speedscope lacks"
        );
        let sum: f64 = doc.samples.iter().map(|s| s.1).sum();
        let logged: u64 = folded.values().sum();
        assert!(
            (sum * mult - logged as f64).abs() <= 1.0,
            "{rel}: {sum} vs {logged}"
        );
        // The flame tree's total, as -f json gives it.
        let json = run(&["-f", "json", "--threshold", threshold, &input])
            .ok()
            .stdout_text();
        let at = json.find("\n\"flame\":{\"total\":").unwrap() + 18;
        let total: f64 = json[at..].split(',').next().unwrap().parse().unwrap();
        assert_eq!(doc.end, total, "{rel}");
        // Within -f log's bound (one unit): float error, and frames whose self time
        // is negative by float error carry no sample.
        assert!((sum - total).abs() * mult <= 1.0, "{rel}: {sum} vs {total}");
    }
}

#[test]
fn the_out_file_name_picks_speedscope() {
    let tmp = tempfile::tempdir().unwrap();
    let input = data("collapsed/plain.txt").display().to_string();
    let out = tmp.path().join("x.Speedscope.JSON").display().to_string();
    let r = run(&["-o", &out, &input]).ok();
    assert_eq!(r.stderr(), "");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("\"type\":\"sampled\""), "{text}");
    // `.json` names JSON, which -f speedscope writes: no warning.
    let out = tmp.path().join("x.json").display().to_string();
    let r = run(&["-f", "speedscope", "-o", &out, &input]).ok();
    assert_eq!(r.stderr(), "");
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("\"type\":\"sampled\"")
    );
}

#[test]
fn speedscope_example_is_current() {
    let input = data("pstats/real_cprofile_small_py311.prof")
        .display()
        .to_string();
    let r = run(&["-f", "speedscope", "--title", "small.py", &input]).ok();
    golden("formats/speedscope/example.speedscope.json", r.stdout());
}

/// Validates against `file-format-schema.json` of speedscope's npm package, which
/// `.ci/run` fetches and names in `SPEEDSCOPE_SCHEMA`.
#[test]
fn speedscope_output_validates_against_speedscopes_schema() {
    if !external("python3 with jsonschema, and speedscope's schema in SPEEDSCOPE_SCHEMA") {
        return;
    }
    let schema = std::env::var("SPEEDSCOPE_SCHEMA").unwrap_or_else(|_| {
        panic!(
            "SPEEDSCOPE_SCHEMA is not set: the path of dist/release/file-format-schema.json \
             of the npm package speedscope (.ci/run fetches it)"
        )
    });
    assert!(
        std::path::Path::new(&schema).is_file(),
        "SPEEDSCOPE_SCHEMA={schema} is no file"
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut files = vec![
        repo("formats/speedscope/example.speedscope.json")
            .display()
            .to_string(),
    ];
    let more = [
        "pstats/synth_zero_negative_inconsistent.prof",
        "pstats/synth_nan_inf_times.prof",
        "pstats/synth_empty_dict.prof",
        "pstats/real_cprofile_unicode_names_py311.prof",
        "pstats/real_cprofile_deep_recursion_py311.prof",
    ];
    for (i, rel) in INPUTS.iter().chain(&more).enumerate() {
        let out = tmp.path().join(format!("{i}.json")).display().to_string();
        run(&[
            "-f",
            "speedscope",
            "-o",
            &out,
            &data(rel).display().to_string(),
        ])
        .ok();
        files.push(out);
    }
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft7Validator(schema)
bad = 0
for f in sys.argv[2:]:
    doc = json.load(open(f, encoding="utf-8"), parse_constant=lambda c: sys.exit("%s: %s is not JSON" % (f, c)))
    for e in v.iter_errors(doc):
        bad += 1
        print("%s: %s at %s" % (f, e.message[:200], list(e.absolute_path)))
    n = len(doc["shared"]["frames"])
    for p in doc["profiles"]:
        assert len(p["samples"]) == len(p["weights"]), f
        assert all(0 <= i < n for s in p["samples"] for i in s), f
sys.exit(1 if bad else 0)
"#;
    let r = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .args(&files)
        .output()
        .expect("python3 with jsonschema (.ci/apt-packages, .ci/requirements.txt)");
    assert!(
        r.status.success(),
        "schema validation failed:\n{}{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
}
