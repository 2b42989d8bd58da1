//! The binary end to end: file and stdin, merging, every error path, atomic `-o`,
//! broken pipes, determinism, and golden outputs for svg and log.

use std::path::Path;
use std::process::Stdio;

use crate::util::{data, external, folded_sum, golden, run, run_in};

const SMALL: &str = "pstats/real_cprofile_small_py311.prof";

fn total_tt(rel: &str) -> f64 {
    let bytes = std::fs::read(data(rel)).unwrap();
    let loaded = flameprof::__private::input::load(rel, bytes.into()).unwrap();
    loaded
        .profile
        .functions()
        .iter()
        .map(|f| f.stats.tt)
        .filter(|t| t.is_finite() && *t > 0.0)
        .sum()
}

fn path(rel: &str) -> String {
    data(rel).display().to_string()
}

#[test]
fn stdin_and_file_give_the_same_output() {
    for format in crate::util::formats() {
        let from_file = run(&["-f", format, &path(SMALL)]).ok();
        let bytes = std::fs::read(data(SMALL)).unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let from_stdin = run_in(dir, &["-f", format, "--title", "t"], Some(bytes.clone())).ok();
        let from_dash = run_in(dir, &["-f", format, "--title", "t", "-"], Some(bytes)).ok();
        let titled = run(&["-f", format, "--title", "t", &path(SMALL)]).ok();
        assert_eq!(
            from_stdin.stdout(),
            titled.stdout(),
            "{format}: stdin differs from file"
        );
        assert_eq!(
            from_dash.stdout(),
            titled.stdout(),
            "{format}: '-' differs from file"
        );
        assert!(!from_file.stdout().is_empty());
    }
}

#[test]
fn log_values_add_up_to_the_total_time_at_threshold_zero() {
    // A small profile, a real one drawn whole, and the real one whose stacks are cut
    // deepest by the output bound (its deeper frames' time moves onto their ancestors).
    // pip_list and sympy are cut the same way: another 130 MB of text to add up would
    // check nothing new.
    for rel in [SMALL, "real/pygments.prof", "real/pylint.prof"] {
        let r = run(&["-f", "log", "--threshold", "0", &path(rel)]).ok();
        let sum = folded_sum(&r.stdout_text());
        let expected = total_tt(rel) * 1e6;
        assert!(
            (sum - expected).abs() <= 1.0 + expected * 1e-9,
            "{rel}: folded values add to {sum}, expected {expected}"
        );
    }
}

#[test]
fn log_lines_have_the_flameprof_04_shape() {
    let r = run(&["-f", "log", &path(SMALL)]).ok();
    for line in r.stdout_text().lines() {
        let (stack, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<u64>().is_ok(), "{line}");
        for frame in stack.split(';') {
            let mut parts = frame.splitn(3, ':');
            let (file, lineno, name) = (parts.next(), parts.next(), parts.next());
            assert!(file.is_some() && name.is_some(), "frame {frame:?}");
            assert!(
                lineno.unwrap().parse::<i64>().is_ok(),
                "frame {frame:?} in {line}"
            );
        }
    }
}

#[test]
fn merging_inputs_adds_their_times() {
    let (a, b) = (
        "pstats/real_cprofile_small_py311.prof",
        "pstats/real_cprofile_small_py312.prof",
    );
    let r = run(&["-f", "log", "--threshold", "0", &path(a), &path(b)]).ok();
    let sum = folded_sum(&r.stdout_text());
    let expected = (total_tt(a) + total_tt(b)) * 1e6;
    assert!(
        (sum - expected).abs() < 500.0,
        "merged sum {sum}, expected {expected}"
    );
}

#[test]
fn output_is_deterministic() {
    for format in crate::util::formats() {
        let one = run(&["-f", format, &path("real/pip_list.prof")]).ok();
        let two = run(&["-f", format, &path("real/pip_list.prof")]).ok();
        assert!(
            one.stdout() == two.stdout(),
            "{format} output differs between runs"
        );
    }
}

#[test]
fn every_broken_fixture_exits_1_with_one_line_naming_the_file() {
    let dir = data("pstats");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        // Decoded leniently by design (see formats/pstats/README.md and the manifest test).
        if !name.starts_with("broken_") || name == "broken_invalid_utf8.prof" {
            continue;
        }
        let r = run(&["-f", "log", &dir.join(&name).display().to_string()]);
        let err = r.stderr();
        assert_eq!(r.code(), 1, "{}", r.describe());
        assert_eq!(err.lines().count(), 1, "{}", r.describe());
        assert!(
            err.starts_with("flameprof: cannot read '") && err.contains(&name),
            "{}",
            r.describe()
        );
        assert!(!err.contains("panicked"), "{}", r.describe());
        assert!(r.stdout().is_empty());
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} broken fixtures found");
}

#[test]
fn missing_file_and_directory_are_clear_errors() {
    let r = run(&["no/such/file.prof"]);
    assert_eq!(r.code(), 1);
    assert_eq!(
        r.stderr().trim(),
        "flameprof: cannot read 'no/such/file.prof': no such file"
    );
    let empty = tempfile::tempdir().unwrap();
    let name = empty.path().display().to_string();
    let r = run(&[&name]);
    assert_eq!(r.code(), 1, "{}", r.describe());
    assert_eq!(
        r.stderr().trim(),
        format!("flameprof: cannot read '{name}': a directory with no files in it")
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["-f", "nope", &path(SMALL)]).code(), 2);
    let r = run(&["--threshold", "200", &path(SMALL)]);
    assert_eq!(r.code(), 2, "{}", r.describe());
    assert!(r.stderr().contains("--threshold"));
}

#[test]
fn list_formats_prints_the_registry() {
    let r = run(&["--list-formats"]).ok();
    let names: Vec<String> = r
        .stdout_text()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let expected: Vec<String> = flameprof::backend::registry()
        .iter()
        .map(|b| b.name.to_string())
        .collect();
    assert_eq!(names, expected);
    for b in flameprof::backend::registry() {
        let readme = crate::util::repo(&format!("formats/{}/README.md", b.name));
        assert!(
            readme.exists(),
            "backend {} has no {}",
            b.name,
            readme.display()
        );
    }
}

#[test]
fn out_file_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.svg");
    run_in(dir.path(), &["-o", "x.svg", &path(SMALL)], None).ok();
    let good = std::fs::read(&out).unwrap();
    assert!(good.starts_with(b"<?xml"));
    // A failing run leaves the previous file as it was, and no temporary behind.
    let r = run_in(
        dir.path(),
        &[
            "-o",
            "x.svg",
            &path("pstats/broken_truncated_at_12581.prof"),
        ],
        None,
    );
    assert_eq!(r.code(), 1);
    assert_eq!(std::fs::read(&out).unwrap(), good);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("x.svg")],
        "stray files left behind"
    );
    // An unwritable target directory is a clear error.
    let r = run_in(dir.path(), &["-o", "no/such/dir/x.svg", &path(SMALL)], None);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr()
            .starts_with("flameprof: cannot write 'no/such/dir/x.svg'"),
        "{}",
        r.describe()
    );
}

#[test]
fn a_closed_pipe_downstream_exits_0_quietly() {
    let mut child = crate::util::bin()
        .args(["-f", "log", "--threshold", "0", &path("real/pylint.prof")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing: close the pipe at once, like `| head -0`.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn golden_svg_and_log() {
    let svg = run(&["-f", "svg", "--no-script", "--title", "small", &path(SMALL)]).ok();
    golden("formats/svg/example.svg", svg.stdout());
    let log = run(&["-f", "log", &path(SMALL)]).ok();
    golden("formats/log/example.folded", log.stdout());
}

#[test]
fn svg_is_well_formed_enough() {
    let r = run(&["-f", "svg", &path("real/pip_list.prof")]).ok();
    let text = r.stdout_text();
    assert!(text.starts_with("<?xml") && text.trim_end().ends_with("</svg>"));
    assert_eq!(text.matches("<svg").count(), text.matches("</svg>").count());
    assert_eq!(text.matches("<g").count(), text.matches("</g>").count());
    assert_eq!(text.matches("<![CDATA[").count(), 1);
    assert_eq!(
        text.matches("]]>").count(),
        1,
        "the data table must not close the CDATA section"
    );
    let frames = text.matches(r#" tabindex="0" aria-label=""#).count();
    assert!(
        frames > 100,
        "{frames} focusable frames with accessible names"
    );
    assert!(
        text.contains(r#" e" tabindex"#) && text.contains(r#" e g" tabindex"#),
        "no close estimates or guesses marked"
    );
}

#[test]
fn svg_is_fluid_unless_width_is_given() {
    let fluid = run(&["--no-script", &path(SMALL)]).ok().stdout_text();
    assert!(
        fluid.contains(r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="100%""#)
    );
    let fixed = run(&[
        "--no-script",
        "--width",
        "900",
        "--row-height",
        "16",
        "--font-size",
        "10",
        &path(SMALL),
    ])
    .ok();
    let fixed = fixed.stdout_text();
    assert!(
        fixed.contains(r#"width="900" viewBox="0 0 900 "#),
        "{}",
        &fixed[..300]
    );
    assert!(fixed.contains(r#"font-size="10""#) && fixed.contains(r#"height="15" class="#));
}

#[test]
fn svg_flame_only_and_inverted_only() {
    let flame = run(&["--flame-only", &path(SMALL)]).ok().stdout_text();
    assert!(flame.contains(r#"<svg id="flame""#) && !flame.contains(r#"<svg id="inverted""#));
    let inverted = run(&["--inverted-only", &path(SMALL)]).ok().stdout_text();
    assert!(!inverted.contains(r#"<svg id="flame""#) && inverted.contains(r#"<svg id="inverted""#));
    assert_eq!(
        run(&["--flame-only", "--inverted-only", &path(SMALL)]).code(),
        2
    );
}

#[test]
fn documented_help_block_matches_the_binary() {
    let readme_path = crate::util::repo("docs/options.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let marker = "`flameprof --help` prints:\n\n```\n";
    let start = readme
        .find(marker)
        .expect("docs/options.md has the --help block")
        + marker.len();
    let end = start + readme[start..].find("\n```").expect("the block is closed");
    let help = run(&["--help"]).ok().stdout_text();
    let help = help.trim_end();
    if std::env::var_os("FLAMEPROF_BLESS").is_some_and(|v| v == "1") {
        let updated = format!("{}{}{}", &readme[..start], help, &readme[end..]);
        std::fs::write(&readme_path, updated).unwrap();
        return;
    }
    assert_eq!(
        &readme[start..end],
        help,
        "docs/options.md's --help block is stale; re-bless with FLAMEPROF_BLESS=1 cargo test"
    );
}

/// The tool the environment variable `var` names; panics when it names no file.
pub(crate) fn external_tool(var: &str) -> std::path::PathBuf {
    match std::env::var_os(var) {
        Some(p) if Path::new(&p).exists() => p.into(),
        _ => panic!("{var} is not set to an existing file (.ci/run fetches the tools)"),
    }
}

#[test]
fn flamegraph_pl_and_inferno_accept_the_folded_output() {
    if !external("flamegraph.pl (FLAMEGRAPH_PL) and inferno (INFERNO_FLAMEGRAPH)") {
        return;
    }
    let folded = run(&["-f", "log", &path("real/pip_list.prof")]).ok();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pip.folded");
    std::fs::write(&input, folded.stdout()).unwrap();
    let tools = [
        ("FLAMEGRAPH_PL", vec!["perl".to_string()]),
        ("INFERNO_FLAMEGRAPH", vec![]),
    ];
    for (var, prefix) in tools {
        let tool = external_tool(var);
        let mut argv = prefix.clone();
        argv.push(tool.display().to_string());
        let out = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .arg(&input)
            .output()
            .unwrap();
        let svg = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{var}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            svg.contains("<svg") && svg.contains("builtins.exec"),
            "{var} drew no frames"
        );
        // Both tools count the stacks they draw: every line must have been accepted.
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("Ignored"),
            "{var} ignored lines"
        );
    }
}
