//! Every fixture in `tests/data/pstats/MANIFEST.md` read through `flameprof::__private::input::load`
//! and checked against what the manifest says pstats reports (or that it must be
//! refused), plus the large real profiles in `tests/data/real/`.

use std::path::{Path, PathBuf};

use bytes::Bytes;

/// Fixtures where our documented policy differs from the manifest's "reject":
/// `broken_invalid_utf8.prof` holds a `u` string that is not UTF-8 even with
/// surrogatepass. CPython refuses it; we decode strings leniently (U+FFFD), as the
/// format notes allow, so it reads as one function.
const LENIENT_ACCEPTS: &[(&str, &str)] =
    &[("broken_invalid_utf8.prof", "1 fn, tottime 0.5, calls 1/1")];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

#[derive(Debug)]
enum Expected {
    Reject,
    Valid {
        functions: usize,
        tottime: Option<f64>,
        calls: Option<(i128, i128)>,
    },
}

#[derive(Debug)]
struct Row {
    file: String,
    expected: Expected,
}

fn parse_count(s: &str) -> i128 {
    s.trim()
        .trim_end_matches('L')
        .parse()
        .unwrap_or_else(|e| panic!("bad count {s:?}: {e}"))
}

/// Reads "N fn, tottime X, calls A/B" (tottime and calls may be missing).
fn parse_expected(text: &str) -> Expected {
    if text.contains("reject with a clear error") {
        return Expected::Reject;
    }
    let words: Vec<&str> = text.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    let mut functions = None;
    let mut tottime = None;
    let mut calls = None;
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied();
        match (*w, next) {
            ("fn", _) if i > 0 => functions = words[i - 1].parse().ok(),
            ("tottime", Some(x)) => {
                tottime = Some(if x == "nan" {
                    f64::NAN
                } else {
                    x.parse().expect("tottime")
                })
            }
            ("calls", Some(x)) => {
                let (a, b) = x.split_once('/').expect("calls A/B");
                calls = Some((parse_count(a), parse_count(b)));
            }
            _ => {}
        }
    }
    Expected::Valid {
        functions: functions.unwrap_or_else(|| panic!("no function count in {text:?}")),
        tottime,
        calls,
    }
}

fn manifest() -> Vec<Row> {
    let text = std::fs::read_to_string(data_dir().join("pstats/MANIFEST.md")).expect("manifest");
    let mut rows = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | category | `file` | bytes | exercises | expected |
        if cells.len() < 7 || !cells[2].starts_with('`') {
            continue;
        }
        let file = cells[2].trim_matches('`').to_string();
        let expected_text = LENIENT_ACCEPTS
            .iter()
            .find(|(f, _)| *f == file)
            .map_or(cells[cells.len() - 2], |(_, e)| e);
        rows.push(Row {
            file,
            expected: parse_expected(expected_text),
        });
    }
    rows
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn load(
    path: &Path,
) -> Result<flameprof::__private::input::Loaded, flameprof::__private::input::InputError> {
    let data = std::fs::read(path).expect("read fixture");
    flameprof::__private::input::load(&path.display().to_string(), Bytes::from(data))
}

#[test]
fn every_manifest_row_reads_as_expected() {
    let rows = manifest();
    assert!(rows.len() > 100, "only {} manifest rows parsed", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let path = data_dir().join("pstats").join(&row.file);
        let got = load(&path);
        match (&row.expected, got) {
            (Expected::Reject, Err(e)) => {
                if e.message.is_empty() || e.message.contains('\n') {
                    failures.push(format!(
                        "{}: message not one non-empty line: {e:?}",
                        row.file
                    ));
                }
            }
            (Expected::Reject, Ok(l)) => failures.push(format!(
                "{}: accepted ({} fn, warnings {:?}), expected a rejection",
                row.file,
                l.profile.listed_count(),
                l.warnings
            )),
            (Expected::Valid { .. }, Err(e)) => failures.push(format!("{}: {e}", row.file)),
            (
                Expected::Valid {
                    functions,
                    tottime,
                    calls,
                },
                Ok(l),
            ) => {
                let p = &l.profile;
                let (nc, cc, tt) = p.totals();
                if p.listed_count() != *functions {
                    failures.push(format!(
                        "{}: {} functions, expected {functions}",
                        row.file,
                        p.listed_count()
                    ));
                }
                if let Some(want) = tottime
                    && !close(tt, *want)
                {
                    failures.push(format!("{}: tottime {tt:?}, expected {want:?}", row.file));
                }
                if let Some(want) = calls
                    && (nc, cc) != *want
                {
                    failures.push(format!("{}: calls {nc}/{cc}, expected {want:?}", row.file));
                }
                // Real files warn only of names that are not valid UTF-8, and those
                // with such names (raw Latin-1 bytes, lone surrogates) must say so.
                let non_utf8 = row.file.contains("latin1") || row.file.contains("surrogate");
                let said = |w: &flameprof::Warning| w.message().contains("not valid UTF-8");
                if row.file.starts_with("real_")
                    && (l.warnings.iter().any(|w| !said(w))
                        || non_utf8 != l.warnings.iter().any(said))
                {
                    failures.push(format!(
                        "{}: unexpected warnings {:?}",
                        row.file, l.warnings
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fixture_is_in_the_manifest() {
    let listed: Vec<String> = manifest().into_iter().map(|r| r.file).collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(data_dir().join("pstats")).expect("fixture dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name != "MANIFEST.md" && !listed.contains(&name) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "not in MANIFEST.md: {missing:?}");
}

#[test]
fn the_lenient_utf8_decision_keeps_replacement_characters() {
    let l = load(&data_dir().join("pstats/broken_invalid_utf8.prof")).expect("lenient read");
    let f = &l.profile.functions()[0];
    assert!(f.key.name.as_str().contains('\u{FFFD}'), "{:?}", f.key);
}

#[test]
fn code_object_keys_are_named_like_pstats_shows_them() {
    let l = load(&data_dir().join("pstats/real_profile_cli_small_py311.prof")).expect("read");
    let names: Vec<String> = l
        .profile
        .functions()
        .iter()
        .filter(|f| f.key.file.as_str() == "profile")
        .map(|f| f.key.name.to_string())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("<code object <module>, file \"") && n.ends_with(", line 1>")),
        "{names:?}"
    );
}

#[test]
fn large_real_profiles_load_cleanly() {
    for name in ["pip_list", "pylint", "sympy", "pygments"] {
        let l = load(&data_dir().join(format!("real/{name}.prof"))).expect(name);
        assert!(l.warnings.is_empty(), "{name}: {:?}", l.warnings);
        let n = l.profile.listed_count();
        let min = if name == "pygments" { 100 } else { 1000 };
        assert!(n > min, "{name}: only {n} functions");
    }
}

fn message(file: &str) -> String {
    match load(&data_dir().join("pstats").join(file)) {
        Ok(_) => panic!("{file} was accepted"),
        Err(e) => e.to_string(),
    }
}

fn warnings(file: &str) -> Vec<String> {
    load(&data_dir().join("pstats").join(file))
        .expect(file)
        .warnings
        .iter()
        .map(|w| w.message().to_string())
        .collect()
}

#[test]
fn impostors_get_messages_that_say_what_they_are() {
    for (file, want) in [
        ("broken_empty_file.prof", "empty file"),
        (
            "broken_gzip_of_valid.prof",
            "gzip-compressed; decompress it first (gunzip)",
        ),
        (
            "broken_yappi_ystat_pickle.prof",
            "a Python pickle (yappi's ystat format?)",
        ),
        ("broken_pyc_file.prof", "a compiled Python file (.pyc)"),
        (
            "broken_json.prof",
            "text, not a binary stats file (it looks like JSON)",
        ),
        (
            "broken_svg.prof",
            "text, not a binary stats file (it looks like an SVG",
        ),
        (
            "broken_plain_text_report.prof",
            "it looks like a printed pstats report",
        ),
        (
            "badshape_top_level_list.prof",
            "not a stats dict: the top-level object is a list",
        ),
        (
            "badshape_top_level_none.prof",
            "not a stats dict: the top-level object is None",
        ),
        (
            "badshape_code_object.prof",
            "not a stats dict: the top-level object is a code object",
        ),
        (
            "badshape_value_not_tuple.prof",
            "value is a list, expected a 5-tuple (cc, nc, tt, ct, callers)",
        ),
        (
            "broken_nested_100k_tuples.prof",
            "nesting deeper than 100 levels at byte",
        ),
        (
            "broken_huge_len_bytes.prof",
            "truncated: the file ends inside a bytes string (2147483647 bytes declared, 10 remain) at byte 0",
        ),
    ] {
        let got = message(file);
        assert!(got.starts_with("cannot read '"), "{got}");
        assert!(got.contains(want), "{file}: {got:?} lacks {want:?}");
    }
}

#[test]
fn odd_but_readable_files_warn_once_with_counts() {
    assert_eq!(
        warnings("edge_trailing_garbage.prof"),
        ["78 trailing bytes after the stats dict ignored"]
    );
    let w = warnings("badshape_callers_bad_entries.prof");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("skipped 3 malformed entries ("), "{w:?}");
    let w = warnings("badshape_key_wrong_arity.prof");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("3 entries have a key that is not a (file, line, name) tuple"),
        "{w:?}"
    );
    assert!(warnings("edge_null_as_dict_value.prof")[0].contains("ended the dict"));
    assert!(warnings("synth_sampled_marker_py315.prof").is_empty());
    assert!(warnings("edge_duplicate_keys.prof").is_empty());
}

/// The data-check warnings each fixture must raise, from the table in
/// `formats/pstats/README.md` ("| `file` | kind, kind |"); fixtures not listed raise none.
fn expected_check_warnings() -> Vec<(String, Vec<String>)> {
    let readme = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("formats/pstats/README.md"),
    )
    .expect("formats/pstats/README.md");
    let start = readme
        .find("| fixture | warnings |")
        .expect("the warnings-per-fixture table");
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let kinds = cells[2].split(',').map(|k| k.trim().to_string()).collect();
            (cells[1].trim_matches('`').to_string(), kinds)
        })
        .collect()
}

#[test]
fn every_fixture_raises_the_data_warnings_the_format_readme_lists() {
    let table = expected_check_warnings();
    assert!(table.len() >= 10, "only {} rows parsed", table.len());
    let known = flameprof::__private::input::checks::KINDS;
    let mut failures = Vec::new();
    for (file, kinds) in &table {
        if !data_dir().join("pstats").join(file).exists() {
            failures.push(format!("{file}: listed in the README but not a fixture"));
        }
        for k in kinds {
            if !known.contains(&k.as_str()) {
                failures.push(format!("{file}: unknown warning kind {k:?}"));
            }
        }
    }
    for row in manifest() {
        let Ok(loaded) = load(&data_dir().join("pstats").join(&row.file)) else {
            continue;
        };
        let got: Vec<&str> = flameprof::__private::input::checks::check(&loaded.profile)
            .iter()
            .map(|w| {
                assert!(!w.message.contains('\n'), "{}: {:?}", row.file, w.message);
                w.kind
            })
            .collect();
        let want: Vec<&str> = table
            .iter()
            .find(|(f, _)| *f == row.file)
            .map(|(_, k)| k.iter().map(String::as_str).collect())
            .unwrap_or_default();
        if got != want {
            failures.push(format!(
                "{}: warnings {got:?}, README lists {want:?}",
                row.file
            ));
        }
    }
    // Every kind of warning is shown by at least one fixture.
    for k in known {
        if !table.iter().any(|(_, kinds)| kinds.iter().any(|x| x == k)) {
            failures.push(format!("no fixture shows the {k:?} warning"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn data_warnings_reach_stderr_once_each() {
    let file = data_dir().join("pstats/real_yappi_threads_wall_builtins.prof");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flameprof"))
        .args(["-f", "log"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].starts_with("flameprof: warning: looks like a yappi profile (14 builtins"));
    assert!(lines[1].starts_with("flameprof: warning: the stacks of 4 threads are merged"));
}
