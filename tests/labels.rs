//! Issue 18, "the first minute of a Python user": frames say which package they are
//! from (`compile (re:225)`, not `compile (__init__.py:225)`), a cut label keeps its
//! function name, cProfile's own wrapper frames are not drawn as the user's code, and
//! calls a sampled profile does not count are unknown, not 0.

use std::path::Path;
use std::process::Command;

use crate::util::{data, run};

const PIP: &str = "real/pip_list.prof";

fn output(args: &[&str], file: &str) -> String {
    let input = data(file).display().to_string();
    let mut all = args.to_vec();
    all.push(&input);
    run(&all).ok().stdout_text()
}

#[test]
fn svg_labels_name_the_package_and_tooltips_keep_the_path() {
    let svg = output(&["-f", "svg"], PIP);
    // `re/__init__.py` and `json/__init__.py` were both `__init__.py`.
    assert!(
        svg.contains(r#"aria-label="compile (re:225)""#),
        "no module label for re.compile"
    );
    assert!(!svg.contains("(__init__.py:"), "a basename label is left");
    // The script's table keeps pstats' full name beside the label, for the tooltip.
    assert!(svg.contains(
        r#"["/srv/peers/lib/python3.11/site-packages/pip/_internal/cli/main.py:46(main)","main (pip._internal.cli.main:46)""#
    ));
}

#[test]
fn svg_draws_the_wrapper_frames_as_python_internals() {
    let svg = output(&["-f", "svg"], PIP);
    // `<string>:1(<module>)`, what `python -m cProfile -m pip` executes, was "your code".
    assert!(
        svg.contains(r#"["\u003cstring\u003e:1(\u003cmodule\u003e)","\u003cmodule\u003e (\u003cstring\u003e:1)",1,1,"s"]"#),
        "the wrapper is not drawn as the standard library"
    );
}

#[test]
fn text_shows_module_labels_and_file_labels_on_request() {
    let text = output(&["-f", "text"], PIP);
    assert!(
        text.contains("─ main (pip._internal.cli.main:46)\n"),
        "{text}"
    );
    let text = output(&["-f", "text", "--labels", "file"], PIP);
    assert!(
        text.contains("─ main (…ages/pip/_internal/cli/main.py:46)\n"),
        "{text}"
    );
}

/// However narrow the terminal, a frame's line ends with its function name and line:
/// the path gives way first.
#[test]
fn a_narrow_text_keeps_every_function_name_and_line() {
    for labels in ["file", "module"] {
        let input = data(PIP).display().to_string();
        let r = Command::new(env!("CARGO_BIN_EXE_flameprof"))
            .args(["-f", "text", "--labels", labels, &input])
            .env("COLUMNS", "60")
            .output()
            .unwrap();
        let text = String::from_utf8(r.stdout).unwrap();
        let mut checked = 0;
        for line in text.lines().skip(2).filter(|l| !l.contains("… ")) {
            assert!(line.chars().count() <= 60, "{line}");
            let Some(at) = line.find(['├', '└']) else {
                continue;
            };
            let label = &line[at + "├─ ".len()..];
            if label.starts_with('{') {
                continue;
            }
            // `name (…module:line)`: the name before ` (`, the line before `)`.
            let (name, rest) = label.split_once(" (").expect(line);
            let line_no = rest.strip_suffix(')').and_then(|r| r.rsplit_once(':'));
            assert!(
                line_no.is_some_and(|(_, n)| n.parse::<i64>().is_ok()),
                "{line}"
            );
            assert!(!name.is_empty(), "{line}");
            checked += 1;
        }
        assert!(checked > 30, "{text}");
    }
}

#[test]
fn log_keeps_file_line_name_unless_module_labels_are_asked_for() {
    let log = output(&["-f", "log"], PIP);
    assert!(
        log.contains(";/srv/peers/lib/python3.11/site-packages/pip/_internal/cli/main.py:46:main;")
    );
    let log = output(&["-f", "log", "--labels", "module"], PIP);
    assert!(
        log.contains(";main (pip._internal.cli.main:46);"),
        "{}",
        &log[..500]
    );
    assert!(!log.contains("site-packages"));
    let r = run(&[
        "-f",
        "log",
        "--labels",
        "package",
        &data(PIP).display().to_string(),
    ]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
}

#[test]
fn json_gives_each_function_its_module_and_label() {
    let json = output(&["-f", "json"], PIP);
    assert!(json.contains(
        r#""file":"/srv/peers/lib/python3.11/site-packages/pip/_internal/cli/main.py","line":46,"name":"main","module":"pip._internal.cli.main","label":"main (pip._internal.cli.main:46)""#
    ));
    assert!(json.contains(r#""name":"<built-in method builtins.exec>","module":null,"label":"{built-in method builtins.exec}""#));
}

/// flameprof 0.4's own sample profiles, where `../shared` has them: the script's
/// functions are labelled by its file.
#[test]
fn original_samples_are_labelled_by_their_script() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/original");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: no {}", dir.display());
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path().display().to_string();
        let text = run(&["-f", "text", &path]).ok().stdout_text();
        assert!(
            text.contains("─ main (sample.py:25)") || text.contains("─ main (sample2.py:16)"),
            "{path}: {text}"
        );
    }
}

/// A sampled profile (pyinstrument writes -1 calls): every format says the count is
/// unknown rather than 0.
#[test]
fn calls_a_sampled_profile_does_not_count_are_unknown_everywhere() {
    let mut p = crate::output_hygiene::Prof::new();
    let main = ("/home/me/app/main.py", 1, "main");
    p.row(main, (-1, -1, 1.0, 3.0), &[]);
    p.row(
        ("/home/me/app/main.py", 5, "work"),
        (-1, -1, 2.0, 2.0),
        &[(main, (-1, -1, 2.0, 2.0))],
    );
    let bytes = p.bytes();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = |format: &str| {
        crate::util::run_in(dir, &["-f", format], Some(bytes.clone()))
            .ok()
            .stdout_text()
    };
    let text = out("text");
    for name in ["main (main.py:1)", "work (main.py:5)"] {
        let line = text.lines().find(|l| l.ends_with(name)).expect(&text);
        assert_eq!(line.split_whitespace().nth(3), Some("?"), "{text}");
    }
    let json = out("json");
    let nodes = &json[json.find("\"flame\":").unwrap()..];
    assert!(
        nodes.contains(r#""name":"work","file":"/home/me/app/main.py","line":5,"total":2.0,"self":2.0,"cut":0.0,"calls":null,"#),
        "{nodes}"
    );
    // Nor is the function's own count a negative number of calls.
    assert!(json.contains(r#""listed":true,"cc":null,"nc":null,"#));
    // The SVG's table keeps -1, which its script reads as unknown.
    assert!(out("svg").contains(r#""work (main.py:5)",-1,-1,"o"]"#));
}
