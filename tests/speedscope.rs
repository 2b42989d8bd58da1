//! `-f speedscope`: its samples are `-f log`'s folded stacks (same stacks, same values
//! unrounded), their weights add up to the flame tree's total, `-o x.speedscope.json`
//! picks it, and (with speedscope's npm package, which `.ci/run` fetches) the output
//! validates against speedscope's own file-format schema and opens in speedscope's app
//! in headless Chromium, whose sandwich view lists the file's frames of most self time.

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
    /// The file's `name`, which speedscope shows as the page title.
    name: String,
    /// The frames' names, as written.
    frames: Vec<String>,
    /// Per frame, its self weight: the weights of the samples it ends.
    selfs: Vec<f64>,
    unit: String,
    end: f64,
    /// Stacks as `-f log --labels module` writes them, with their weights.
    samples: Vec<(String, f64)>,
}

fn parse(text: &str) -> Speedscope {
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    assert!(
        first.starts_with(
            "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"flameprof "
        ),
        "{text}"
    );
    let (name, _) = json_string(&first[first.find(",\"name\":").unwrap() + 8..]);
    assert_eq!(lines.next(), Some("\"shared\":{\"frames\":["));
    let mut names = Vec::new();
    let mut frames = Vec::new();
    let mut line = lines.next().unwrap();
    while let Some(rest) = line.strip_prefix("{\"name\":") {
        let (name, _) = json_string(rest);
        names.push(name.replace(';', ","));
        frames.push(name);
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
    let mut leaves = Vec::new();
    for line in lines.by_ref() {
        if line == "]," {
            break;
        }
        let inner = line.trim_end_matches(',').trim_matches(['[', ']']);
        let indices: Vec<usize> = inner.split(',').map(|i| i.parse().unwrap()).collect();
        let stack: Vec<&str> = indices.iter().map(|&i| names[i].as_str()).collect();
        stacks.push(stack.join(";"));
        leaves.push(*indices.last().unwrap());
    }
    assert_eq!(lines.next(), Some("\"weights\":["));
    let weights: Vec<f64> = lines
        .take_while(|l| !l.starts_with("]}]}"))
        .map(|l| l.trim_end_matches(',').parse().unwrap())
        .collect();
    assert_eq!(stacks.len(), weights.len());
    let mut selfs = vec![0.0; frames.len()];
    for (&leaf, w) in leaves.iter().zip(&weights) {
        selfs[leaf] += w;
    }
    Speedscope {
        name,
        frames,
        selfs,
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

// ---------------------------------------------------------------------------------------
// In the speedscope app itself: headless Chromium opens `dist/release/index.html` of the
// npm package (next to the schema in `SPEEDSCOPE_SCHEMA`) as `speedscope x.json` does:
// `#localProfilePath=` names a script that hands the file to
// `speedscope.loadFileFromBase64`. `&view=sandwich` opens the sandwich view, whose
// table (unlike the flame charts, drawn on a canvas) is in the DOM: its rows, by self
// time, are read back with `--dump-dom` and compared with the file's own frames.

/// `dist/release/index.html` of speedscope's npm package, or `None` when the external
/// tests are off.
fn speedscope_app() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let chrome = crate::browser::chromium()?;
    let schema = std::env::var("SPEEDSCOPE_SCHEMA").unwrap_or_else(|_| {
        panic!(
            "SPEEDSCOPE_SCHEMA is not set: the path of dist/release/file-format-schema.json \
             of the npm package speedscope (.ci/run fetches it); the app is its index.html"
        )
    });
    let app = std::path::Path::new(&schema).with_file_name("index.html");
    assert!(
        app.is_file(),
        "no speedscope app at {} (next to SPEEDSCOPE_SCHEMA={schema})",
        app.display()
    );
    Some((chrome, app))
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The text of HTML `s`: tags dropped, the entities Chromium's serializer writes decoded.
fn html_text(s: &str) -> String {
    let mut text = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('<') {
        text.push_str(&rest[..at]);
        rest = &rest[at + rest[at..].find('>').unwrap() + 1..];
    }
    text.push_str(rest);
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// One row of the sandwich view's table: the self column's text and the symbol name.
#[derive(Debug)]
struct Row {
    self_time: String,
    name: String,
}

/// Opens `json` in the speedscope app's sandwich view. `Err` says what went wrong: an
/// `alert()` (speedscope's "Unrecognized format!"), an uncaught error, speedscope's
/// "Something went wrong." screen, or a title other than `title - speedscope`.
fn open_in_speedscope(
    chrome: &std::path::Path,
    app: &std::path::Path,
    json: &str,
    title: &str,
) -> Result<Vec<Row>, String> {
    let dir = tempfile::tempdir().unwrap();
    let loader = dir.path().join("load.js");
    // Runs in the page before the file is loaded: an alert() would block --dump-dom,
    // so it is noted on <html> instead, with errors and speedscope's console errors
    // (it logs "Failed to load format" before its error screen).
    let script = format!(
        r#"(function () {{
  var root = document.documentElement;
  function note(what, args) {{
    var text = Array.prototype.map.call(args, String).join(" ");
    root.setAttribute("data-flameprof-errors", (root.getAttribute("data-flameprof-errors") || "") + what + ": " + text + "\n");
  }}
  window.alert = function () {{ note("alert", arguments); }};
  window.addEventListener("error", function (e) {{ note("error", [e.message]); }});
  window.addEventListener("unhandledrejection", function (e) {{ note("rejection", [e.reason]); }});
  var error = console.error, log = console.log;
  console.error = function () {{ note("console.error", arguments); return error.apply(console, arguments); }};
  console.log = function () {{
    if (String(arguments[0]).indexOf("Failed") === 0) note("console.log", arguments);
    return log.apply(console, arguments);
  }};
}})();
speedscope.loadFileFromBase64("flameprof.json", "{}");
"#,
        base64(json.as_bytes())
    );
    // Named `.json`, not `.speedscope.json`: speedscope tells the format by the content.
    std::fs::write(&loader, script).unwrap();
    // The path must be absolute: speedscope prepends `file:///`.
    let url = format!(
        "file://{}#localProfilePath={}&view=sandwich",
        app.display(),
        loader.display()
    );
    let dom = crate::browser::browse(
        chrome,
        &[
            "--dump-dom",
            // speedscope loads nothing without WebGL: software WebGL, asked for by name.
            "--enable-unsafe-swiftshader",
            "--lang=en-US",
            // Virtual time runs only while the page is idle: the file loads and the
            // view renders within it however busy the machine is.
            "--virtual-time-budget=20000",
        ],
        &url,
    );
    let html = &dom[..dom.find("<body").ok_or("no <body> in the DOM")?];
    if let Some(at) = html.find(" data-flameprof-errors=\"") {
        let value = &html[at + 24..];
        return Err(html_text(&value[..value.find('"').unwrap()]));
    }
    if dom.contains("Something went wrong.") {
        return Err("speedscope shows \"Something went wrong.\"".into());
    }
    let shown = dom
        .find("<title>")
        .map(|at| html_text(&dom[at + 7..at + dom[at..].find("</title>").unwrap()]));
    if shown.as_deref() != Some(&format!("{title} - speedscope")) {
        return Err(format!(
            "title {shown:?}, not {title:?} - speedscope: no profile loaded"
        ));
    }
    let at = dom.find(">Symbol Name</th>").ok_or("no sandwich view")?;
    // The header is a table of its own; the rows are the next table.
    let body = &dom[at..];
    let body = &body[body.find("</table>").ok_or("no end of the header")? + 8..];
    let body = &body[..body.find("</table>").ok_or("no table of rows")?];
    let mut rows = Vec::new();
    for tr in body.split("<tr").skip(1) {
        let tr = &tr[..tr.find("</tr>").ok_or("an unclosed <tr>")?];
        let cells: Vec<String> = tr
            .split("<td")
            .skip(1)
            .map(|td| html_text(&td[td.find('>').unwrap() + 1..]))
            .collect();
        let [_total, self_time, name] = &cells[..] else {
            return Err(format!("a row of {} cells: {tr}", cells.len()));
        };
        rows.push(Row {
            self_time: self_time.split(" (").next().unwrap().to_string(),
            name: name.clone(),
        });
    }
    Ok(rows)
}

/// A value as speedscope shows it in the file's unit: `1.23s`, `4.56ms`, `7.89µs`,
/// `1.00ns`, `2:05` (minutes), or a plain (en-US) number for unit `none`.
fn shown_value(text: &str) -> f64 {
    if let Some((m, s)) = text.split_once(':') {
        return m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap();
    }
    for (suffix, mult) in [("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9), ("s", 1.0)] {
        if let Some(v) = text.strip_suffix(suffix) {
            return v.parse::<f64>().unwrap() * mult;
        }
    }
    text.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("not a value: {text:?}"))
}

/// The sandwich view's first rows are the file's frames of most self time, in order,
/// with their self times: names and values of `doc`, none written into the test.
fn check_sandwich(doc: &Speedscope, rows: &[Row]) -> Result<(), String> {
    let mut ours: Vec<(f64, &str)> = doc
        .selfs
        .iter()
        .zip(&doc.frames)
        .filter(|(s, _)| **s > 0.0)
        .map(|(s, n)| (*s, n.as_str()))
        .collect();
    ours.sort_by(|a, b| b.0.total_cmp(&a.0));
    let k = ours.len().min(10);
    if rows.len() < k {
        return Err(format!("{} rows, {k} expected: {rows:?}", rows.len()));
    }
    // Shown with two decimals (or to the second): within half a percent, or a second.
    let close = |a: f64, b: f64| (a - b).abs() <= 0.006 * a.abs().max(b.abs()) + 1e-12;
    for (i, row) in rows[..k].iter().enumerate() {
        let shown = shown_value(&row.self_time);
        // Among ties any order is right: the row's frame must have the self time of
        // the i-th frame, and be a frame of that self time.
        let matched = ours
            .iter()
            .any(|&(s, n)| n == row.name && close(s, shown) && close(s, ours[i].0));
        if !matched {
            return Err(format!(
                "row {i} of the sandwich view is {:?} with self {}, expected {:?} with {} \
                 (the file's frames by self time: {:?})",
                row.name,
                row.self_time,
                ours[i].1,
                ours[i].0,
                &ours[..k]
            ));
        }
    }
    Ok(())
}

fn speedscope_json(rel: &str) -> String {
    run(&["-f", "speedscope", &data(rel).display().to_string()])
        .ok()
        .stdout_text()
}

/// A real profile (with `<` and `>` in names), one with non-ASCII names, and collapsed
/// stacks (unit `none`): speedscope opens each, and its sandwich view lists the frames of
/// most self time as the file has them.
#[test]
fn speedscope_app_shows_the_frames_of_most_self_time() {
    let Some((chrome, app)) = speedscope_app() else {
        return;
    };
    for rel in [
        "real/pip_list.prof",
        "pstats/real_cprofile_unicode_names_py311.prof",
        "collapsed/plain.txt",
    ] {
        let json = speedscope_json(rel);
        let doc = parse(&json);
        let rows = open_in_speedscope(&chrome, &app, &json, &doc.name)
            .unwrap_or_else(|e| panic!("{rel}: speedscope did not open it: {e}"));
        if let Err(e) = check_sandwich(&doc, &rows) {
            panic!("{rel}: {e}");
        }
    }
}

/// The checks above catch what they look for: a broken file (speedscope's alert, its
/// error screen) and a frame shown under a name the file does not give it.
#[test]
fn speedscope_app_checks_fail_on_a_bad_file() {
    let Some((chrome, app)) = speedscope_app() else {
        return;
    };
    let json = speedscope_json("real/pip_list.prof");
    let doc = parse(&json);
    // Cut short: no format speedscope knows, which it alerts (blocking the page).
    let err = open_in_speedscope(&chrome, &app, &json[..json.len() / 2], &doc.name).unwrap_err();
    assert!(err.contains("alert: Unrecognized format"), "{err}");
    // Valid JSON that speedscope's importer fails on.
    let evented = json.replace("\"type\":\"sampled\"", "\"type\":\"evented\"");
    let err = open_in_speedscope(&chrome, &app, &evented, &doc.name).unwrap_err();
    assert!(err.contains("Failed to load format"), "{err}");
    // The frame of most self time renamed: speedscope shows the new name, which the
    // check of the original file rejects, and the check of the renamed one accepts.
    let top = (0..doc.frames.len())
        .max_by(|&a, &b| doc.selfs[a].total_cmp(&doc.selfs[b]))
        .unwrap();
    let old = format!("{{\"name\":\"{}\"", doc.frames[top]);
    assert_eq!(json.matches(&old).count(), 1, "{old}");
    let renamed = json.replace(&old, &format!("{{\"name\":\"renamed {}\"", doc.frames[top]));
    let rows = open_in_speedscope(&chrome, &app, &renamed, &doc.name).unwrap();
    let err = check_sandwich(&doc, &rows).unwrap_err();
    assert!(err.contains("row 0 ") && err.contains("renamed"), "{err}");
    check_sandwich(&parse(&renamed), &rows).unwrap();
}
