//! `flameprof diff`: a pair of generated profiles with known changes (a function made
//! twice as slow under one caller only, one removed, one added, one called twice as
//! often in the same time), each change checked with its sign and size in the text,
//! log and json outputs; `--normalize`, `--fail-above`, mixed measures, standard input.

use std::path::Path;

use crate::output_hygiene::Prof;
use crate::util::{Run, external, run_in, run_with_env};

const MAIN: (&str, i32, &str) = ("app.py", 1, "main");
const A: (&str, i32, &str) = ("app.py", 10, "a");
const B: (&str, i32, &str) = ("app.py", 20, "b");
const WORK: (&str, i32, &str) = ("app.py", 30, "work");
const GONE: (&str, i32, &str) = ("app.py", 40, "gone");
const ADDED: (&str, i32, &str) = ("app.py", 50, "added");
const COUNTED: (&str, i32, &str) = ("app.py", 60, "counted");

/// main calls a and b, which each call work (1 s in BASE); main also calls gone
/// (0.5 s) and counted (0.2 s, 10 calls). NEW: work under a takes 2 s, under b still
/// 1 s; gone is removed; added (0.3 s) is new; counted takes 0.2 s in 20 calls.
/// Totals: BASE 3.0 s, NEW 3.8 s.
fn pair() -> (Prof, Prof) {
    let side = |work_a: f64, old: bool, counted_calls: i32| {
        let mut p = Prof::new();
        let work = work_a + 1.0;
        let others = if old { 0.5 } else { 0.3 };
        let main_ct = 0.1 + (0.1 + work_a) + 1.1 + others + 0.2;
        p.row(MAIN, (1, 1, 0.1, main_ct), &[]);
        p.row(
            A,
            (1, 1, 0.1, 0.1 + work_a),
            &[(MAIN, (1, 1, 0.1, 0.1 + work_a))],
        );
        p.row(B, (1, 1, 0.1, 1.1), &[(MAIN, (1, 1, 0.1, 1.1))]);
        p.row(
            WORK,
            (20, 20, work, work),
            &[(A, (10, 10, work_a, work_a)), (B, (10, 10, 1.0, 1.0))],
        );
        let (key, t) = if old { (GONE, 0.5) } else { (ADDED, 0.3) };
        p.row(key, (1, 1, t, t), &[(MAIN, (1, 1, t, t))]);
        let n = counted_calls;
        p.row(COUNTED, (n, n, 0.2, 0.2), &[(MAIN, (n, n, 0.2, 0.2))]);
        p
    };
    (side(1.0, true, 10), side(2.0, false, 20))
}

/// A directory holding the pair as base.prof and new.prof.
fn files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path());
    dir
}

/// Writes the pair into `dir` as base.prof and new.prof.
pub fn write_pair(dir: &Path) {
    let (base, new) = pair();
    std::fs::write(dir.join("base.prof"), base.bytes()).unwrap();
    std::fs::write(dir.join("new.prof"), new.bytes()).unwrap();
}

fn diff(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    run_in(dir, &all, None)
}

/// The lines of a text table (after its title line) up to the next blank line.
fn table<'t>(text: &'t str, title: &str) -> Vec<&'t str> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(title));
    lines
        .next()
        .unwrap_or_else(|| panic!("no table {title}:\n{text}"));
    lines.take_while(|l| !l.is_empty()).collect()
}

fn row<'t>(lines: &[&'t str], label: &str) -> &'t str {
    lines
        .iter()
        .find(|l| l.ends_with(label))
        .unwrap_or_else(|| panic!("no row {label} in {lines:#?}"))
}

#[test]
fn text_shows_each_change_with_its_sign_and_size() {
    let dir = files();
    let out = diff(dir.path(), &["base.prof", "new.prof"])
        .ok()
        .stdout_text();
    assert!(out.starts_with("Diff of base.prof → new.prof\n"), "{out}");
    assert!(
        out.contains("total: 3.000s → 3.800s  +800.00ms (+26.7%)"),
        "{out}"
    );
    let own = table(&out, "own time");
    assert!(
        row(&own, "work (app.py:30)").contains("+1.000s"),
        "{own:#?}"
    );
    assert!(
        row(&own, "work (app.py:30)").contains("20 → 20"),
        "{own:#?}"
    );
    assert!(
        row(&own, "gone (app.py:40)").contains("-500.00ms"),
        "{own:#?}"
    );
    assert!(row(&own, "gone (app.py:40)").contains("1 → -"), "{own:#?}");
    assert!(
        row(&own, "added (app.py:50)").contains("+300.00ms    (new)"),
        "{own:#?}"
    );
    let counted = row(&own, "counted (app.py:60)");
    assert!(
        counted.contains("10 → 20") && counted.contains(" 0 "),
        "{counted}"
    );
    // Largest change first.
    assert!(own[1].ends_with("work (app.py:30)"), "{own:#?}");
    // The context: work grew under a, not under b.
    let stacks = table(&out, "self time per stack");
    assert!(row(&stacks, "a (app.py:10) ← work (app.py:30)").contains("+1.000s"));
    assert!(
        !stacks
            .iter()
            .any(|l| l.ends_with("b (app.py:20) ← work (app.py:30)")),
        "{stacks:#?}"
    );
}

#[test]
fn log_is_differential_folded_stacks_of_both_sides() {
    let dir = files();
    let out = diff(dir.path(), &["-f", "log", "base.prof", "new.prof"])
        .ok()
        .stdout_text();
    let line = |stack: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(stack).and_then(|r| r.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("no stack {stack}:\n{out}"))
    };
    let main = "app.py:1:main";
    assert_eq!(
        line(&format!("{main};app.py:10:a;app.py:30:work")),
        "1000000 2000000"
    );
    assert_eq!(
        line(&format!("{main};app.py:20:b;app.py:30:work")),
        "1000000 1000000"
    );
    assert_eq!(line(&format!("{main};app.py:40:gone")), "500000 0");
    assert_eq!(line(&format!("{main};app.py:50:added")), "0 300000");
    assert_eq!(line(&format!("{main};app.py:60:counted")), "200000 200000");
    let sum = |col: usize| -> u64 {
        (out.lines())
            .map(|l| l.rsplit(' ').nth(col).unwrap().parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!((sum(1), sum(0)), (3_000_000, 3_800_000));
    // --normalize: NEW scaled to BASE's total.
    let out = diff(
        dir.path(),
        &["-f", "log", "--normalize", "base.prof", "new.prof"],
    )
    .ok()
    .stdout_text();
    let added = out.lines().find(|l| l.contains("added")).unwrap();
    assert_eq!(added, "app.py:1:main;app.py:50:added 0 236842");
}

#[test]
fn json_has_both_sides_per_function_and_per_frame() {
    let dir = files();
    let out = diff(dir.path(), &["-f", "json", "base.prof", "new.prof"])
        .ok()
        .stdout_text();
    assert!(
        out.contains(r#""totals": {"before": 3.0, "after": 3.8"#),
        "{out}"
    );
    let function = |name: &str| {
        out.lines()
            .find(|l| l.contains(&format!(r#""name": "{name}""#)))
            .unwrap_or_else(|| panic!("no function {name}"))
    };
    assert!(
        function("gone").ends_with(r#""after": null},"#),
        "{}",
        function("gone")
    );
    assert!(function("added").contains(r#""before": null, "after": {"#));
    assert!(function("counted").contains(r#""before": {"cc": 10, "nc": 10, "tt": 0.2"#));
    assert!(function("counted").contains(r#""after": {"cc": 20, "nc": 20, "tt": 0.2"#));
    assert!(function("work").contains(r#""tt": 2.0"#) && function("work").contains(r#""tt": 3.0"#));
    // The frame of work under a: 1 s before, 2 s after.
    assert!(
        out.contains(r#""before": {"total": 1.0, "self": 1.0, "calls": 10.0, "exact": true}, "after": {"total": 2.0, "self": 2.0, "calls": 10.0, "exact": true}"#),
        "{out}"
    );
}

#[test]
fn json_diff_matches_its_schema() {
    if !external("python3 with jsonschema") {
        return;
    }
    let dir = files();
    let out = diff(dir.path(), &["-f", "json", "base.prof", "new.prof"]).ok();
    let file = dir.path().join("diff.json");
    std::fs::write(&file, out.stdout()).unwrap();
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        jsonschema.Draft202012Validator.check_schema(schema)\n\
        jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))\n";
    let schema = crate::util::repo("formats/diff/schema.json");
    let r = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .arg(&file)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}

#[test]
fn normalize_compares_shares_of_each_total() {
    let dir = files();
    let out = diff(dir.path(), &["--normalize", "base.prof", "new.prof"])
        .ok()
        .stdout_text();
    assert!(
        out.contains("values are shares of each side's total"),
        "{out}"
    );
    let own = table(&out, "own time");
    // counted: 0.2/3.0 = 6.67 % before, 0.2/3.8 = 5.26 % after.
    let counted = row(&own, "counted (app.py:60)");
    assert!(
        counted.contains("6.67%") && counted.contains("5.26%") && counted.contains("-1.40pp"),
        "{counted}"
    );
}

#[test]
fn fail_above_exits_3_over_the_limit_only() {
    let dir = files();
    let over = diff(dir.path(), &["--fail-above", "10", "base.prof", "new.prof"]);
    assert_eq!(over.code(), 3, "{}", over.describe());
    let err = over.stderr();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("26.7% above")
            && err.contains("grew most: work (app.py:30) +1.000s, added (app.py:50) +300.00ms"),
        "{err}"
    );
    assert!(!over.stdout().is_empty());
    let under = diff(dir.path(), &["--fail-above", "30", "base.prof", "new.prof"]);
    assert_eq!(under.code(), 0, "{}", under.describe());
    assert!(under.stderr().is_empty());
    let faster = diff(dir.path(), &["--fail-above", "0", "new.prof", "base.prof"]);
    assert_eq!(faster.code(), 0, "{}", faster.describe());
}

#[test]
fn mixed_measures_are_refused() {
    let dir = files();
    std::fs::write(dir.path().join("stacks.folded"), "main;work 10\n").unwrap();
    let r = diff(dir.path(), &["base.prof", "stacks.folded"]);
    assert_eq!(r.code(), 1, "{}", r.describe());
    assert!(
        r.stderr().contains("stacks.folded")
            && r.stderr().contains("cannot be compared with 'base.prof'"),
        "{}",
        r.stderr()
    );
}

#[test]
fn either_side_may_be_standard_input_once() {
    let dir = files();
    let new = std::fs::read(dir.path().join("new.prof")).unwrap();
    let r = run_in(
        dir.path(),
        &["diff", "-f", "log", "base.prof", "-"],
        Some(new),
    );
    let out = r.ok().stdout_text();
    assert!(out.contains("app.py:50:added 0 300000"), "{out}");
    let twice = diff(dir.path(), &["-", "-"]);
    assert_eq!(twice.code(), 2, "{}", twice.describe());
}

#[test]
fn stats_is_a_usage_error_and_svg_is_not() {
    let dir = files();
    let r = diff(dir.path(), &["-f", "stats", "base.prof", "new.prof"]);
    assert_eq!(r.code(), 2, "{}", r.describe());
    assert!(r.stderr().contains("use -f text, -f log"), "{}", r.stderr());
    // -o FILE's extension picks the format, and the file is written.
    diff(dir.path(), &["-o", "d.folded", "base.prof", "new.prof"]).ok();
    let folded = std::fs::read_to_string(dir.path().join("d.folded")).unwrap();
    assert!(folded.contains("app.py:50:added 0 300000"));
    diff(dir.path(), &["-o", "d.svg", "base.prof", "new.prof"]).ok();
    let svg = std::fs::read_to_string(dir.path().join("d.svg")).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("views:{"), "{svg}");
    // Without -f or -o, text.
    let text = diff(dir.path(), &["base.prof", "new.prof"])
        .ok()
        .stdout_text();
    assert!(text.starts_with("Diff of base.prof"), "{text}");
}

/// The classes of the frame rect labelled `label` in a differential SVG.
fn rect_class<'s>(svg: &'s str, label: &str) -> &'s str {
    let at = svg
        .find(&format!(r#"aria-label="{label}""#))
        .unwrap_or_else(|| panic!("no frame {label}"));
    let rect = &svg[svg[..at].rfind("<rect").unwrap()..at];
    let class = &rect[rect.find(r#"class=""#).unwrap() + 7..];
    &class[..class.find('"').unwrap()]
}

#[test]
fn svg_colours_each_frame_by_its_change_and_keeps_both_sides_for_the_tooltip() {
    let dir = files();
    let whole = diff(dir.path(), &["-f", "svg", "base.prof", "new.prof"])
        .ok()
        .stdout_text();
    // The flame graph comes first, the inverted graph under it.
    let svg = &whole[..whole
        .find(r#"<svg id="inverted""#)
        .expect("an inverted view")];
    let classes = |label: &str| -> Vec<&str> { rect_class(svg, label).split(' ').collect() };
    // work is drawn twice: under a (1 s → 2 s, slower by 100 %) and under b
    // (unchanged); in pre-order, a's first.
    let work: Vec<&str> = svg
        .match_indices(r#"aria-label="work (app.py:30)""#)
        .map(|(at, _)| &svg[svg[..at].rfind("<rect").unwrap()..at])
        .collect();
    assert_eq!(work.len(), 2, "{svg}");
    assert!(work[0].contains(" r5\""), "{}", work[0]);
    assert!(work[1].contains(" z\""), "{}", work[1]);
    // a: 1.1 s → 2.1 s; main: 3.0 s → 3.8 s (+26.7 %); b and counted unchanged.
    assert!(classes("a (app.py:10)").contains(&"r5"));
    assert!(classes("main (app.py:1)").contains(&"r4"));
    assert!(classes("b (app.py:20)").contains(&"z"));
    assert!(classes("counted (app.py:60)").contains(&"z"));
    // New code is slower by all of it, with a thick outline; vanished code faster,
    // faded and dotted. Both are drawn: a frame is as wide as its larger side.
    assert!(classes("added (app.py:50)").ends_with(&["r5", "new"]));
    assert!(classes("gone (app.py:40)").ends_with(&["b5", "gone"]));
    assert!(svg.contains(".view rect.gone,.legend rect.gone{"));
    assert!(svg.contains("@media (prefers-color-scheme:dark){svg{--z:"));
    // The data the tooltip reads: both totals, and per frame each side's [total, self,
    // calls] (0 on the side where the stack is absent), in the order of the rects.
    assert!(whole.contains("diff:{before:3,after:3.8}"), "{whole}");
    let d = &whole[whole.find("\nd:[").unwrap() + 4..];
    let d = &d[..d.find("]}").unwrap()];
    // The rows: split at the commas outside brackets.
    let mut rows = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in d.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                rows.push(&d[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    rows.push(&d[start..]);
    assert_eq!(rows.len(), 8, "{d}");
    let labels = ["main", "a", "work", "b", "work", "gone", "added", "counted"];
    let row = |name: &str| rows[labels.iter().position(|l| *l == name).unwrap()];
    assert!(row("work").contains("[1,1,10],[2,2,10]"), "{}", row("work"));
    assert!(row("gone").contains("[0.5,0.5,1],0"), "{}", row("gone"));
    assert!(row("added").contains("0,[0.3,0.3,1]"), "{}", row("added"));
    assert!(
        row("counted").contains("[0.2,0.2,10],[0.2,0.2,20]"),
        "{}",
        row("counted")
    );
    assert!(whole.contains("View.prototype.describeDiff"));
}

/// The rects of view `id` in `svg`, each as (label, classes after its `cN`).
fn view_rects<'s>(svg: &'s str, id: &str) -> Vec<(&'s str, Vec<&'s str>)> {
    let body = &svg[svg
        .find(&format!(r#"<svg id="{id}""#))
        .unwrap_or_else(|| panic!("no view {id}"))..];
    let body = &body[..body.find("</svg>").unwrap()];
    body.match_indices("<rect ")
        .map(|(i, _)| {
            let tag = &body[i..i + body[i..].find("/>").unwrap()];
            let attr = |name: &str| {
                let v = &tag[tag.find(&format!(r#" {name}=""#)).unwrap() + name.len() + 3..];
                &v[..v.find('"').unwrap()]
            };
            (
                attr("aria-label"),
                attr("class").split(' ').skip(1).collect(),
            )
        })
        .collect()
}

#[test]
fn svg_has_a_differential_inverted_graph_under_the_flame_graph() {
    let dir = files();
    let svg = diff(dir.path(), &["-f", "svg", "base.prof", "new.prof"])
        .ok()
        .stdout_text();
    assert!(svg.find(r#"<svg id="flame""#) < svg.find(r#"<svg id="inverted""#));
    let rects = view_rects(&svg, "inverted");
    let class_of = |at: usize| rects[at].1.clone();
    let at = |label: &str, nth: usize| {
        (rects.iter().enumerate())
            .filter(|(_, r)| r.0 == label)
            .nth(nth)
            .unwrap_or_else(|| panic!("no {label} #{nth} in {rects:?}"))
            .0
    };
    // work's own time: 2 s → 3 s, +50 %; of it, under a 1 s → 2 s, under b unchanged.
    let work = at("work (app.py:30)", 0);
    assert_eq!(class_of(work), ["r5"], "{rects:?}");
    assert_eq!(rects[work + 1].0, "a (app.py:10)");
    assert_eq!(class_of(work + 1), ["r5"]);
    assert_eq!(rects[work + 3].0, "b (app.py:20)");
    assert_eq!(class_of(work + 3), ["z"]);
    // gone vanished, added is new, with their caller main beneath; counted unchanged.
    let gone = at("gone (app.py:40)", 0);
    assert_eq!(class_of(gone), ["b5", "gone"]);
    assert_eq!(
        (rects[gone + 1].0, class_of(gone + 1)),
        ("main (app.py:1)", vec!["b5", "gone"])
    );
    assert_eq!(class_of(at("added (app.py:50)", 0)), ["r5", "new"]);
    assert_eq!(class_of(at("counted (app.py:60)", 0)), ["z"]);
    // Roots sit on the top row of the inverted view.
    for label in ["work (app.py:30)", "gone (app.py:40)", "added (app.py:50)"] {
        let inverted = &svg[svg.find(r#"<svg id="inverted""#).unwrap()..];
        let tag = &inverted[..inverted.find(&format!(r#"aria-label="{label}""#)).unwrap()];
        let tag = &tag[tag.rfind("<rect").unwrap()..];
        assert!(tag.contains(r#" y="0" "#), "{tag}");
    }
    // The tooltip's rows of the inverted view: each side's [total, self, calls].
    let data = &svg[svg.find("\ninverted:{").expect("inverted data")..];
    let d = &data[data.find("\nd:[").unwrap() + 4..];
    let d = &d[..d.find("]}").unwrap()];
    assert!(d.contains("[[2,0,20],[3,0,20]]"), "{d}");
    assert!(d.contains("[[0.5,0,1],0]"), "{d}");
    assert!(d.contains("[0,[0.3,0,1]]"), "{d}");
}

#[test]
fn svg_flame_only_and_inverted_only_choose_the_graphs() {
    let dir = files();
    let only = |flag: &str| {
        let args = ["-f", "svg", flag, "base.prof", "new.prof"];
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        diff(dir.path(), &args).ok().stdout_text()
    };
    let flame = only("--flame-only");
    assert!(flame.contains(r#"<svg id="flame""#) && !flame.contains(r#"<svg id="inverted""#));
    assert!(!flame.contains("inverted:{"));
    let inverted = only("--inverted-only");
    assert!(!inverted.contains(r#"<svg id="flame""#));
    assert!(inverted.contains(r#"<svg id="inverted""#));
    assert_eq!(
        view_rects(&inverted, "inverted"),
        view_rects(&only(""), "inverted")
    );
}

#[test]
fn more_files_merge_into_a_side() {
    let dir = files();
    let out = diff(
        dir.path(),
        &[
            "-f",
            "log",
            "--new-also",
            "new.prof",
            "base.prof",
            "new.prof",
        ],
    )
    .ok()
    .stdout_text();
    assert!(out.contains("app.py:50:added 0 600000"), "{out}");
}

#[test]
fn colours_only_without_no_color() {
    let dir = files();
    // Not a terminal: no colours, whatever NO_COLOR says.
    let r = run_with_env(
        dir.path(),
        &["diff", "base.prof", "new.prof"],
        None,
        &[("NO_COLOR", None)],
    );
    assert!(!r.ok().stdout_text().contains('\x1b'));
}

#[test]
fn differential_folded_stacks_render_in_flamegraph_pl_and_inferno() {
    if !external("flamegraph.pl (FLAMEGRAPH_PL) and inferno (INFERNO_FLAMEGRAPH)") {
        return;
    }
    let dir = files();
    let folded = diff(dir.path(), &["-f", "log", "base.prof", "new.prof"]).ok();
    let input = dir.path().join("diff.folded");
    std::fs::write(&input, folded.stdout()).unwrap();
    for (var, prefix) in [
        ("FLAMEGRAPH_PL", vec!["perl"]),
        ("INFERNO_FLAMEGRAPH", vec![]),
    ] {
        let tool = crate::cli::external_tool(var).display().to_string();
        let mut argv: Vec<&str> = prefix.clone();
        argv.push(&tool);
        let out = std::process::Command::new(argv[0])
            .args(&argv[1..])
            .arg(&input)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{var}: {stderr}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("<svg"),
            "{var}"
        );
        assert!(!stderr.contains("Ignored"), "{var} ignored lines: {stderr}");
    }
}
