//! `-f stats` against CPython's own pstats: every fixture pstats can read, in every
//! view, for the sort keys below. Needs `python3`: runs with FLAMEPROF_EXTERNAL_TESTS=1.

use std::collections::BTreeMap;
use std::process::Command;

use flameprof::__private::model::Profile;
use flameprof::__private::stats::{SortKey, StatsView, write_report};

use crate::util::{data, external, repo, run};

/// Reads a fixture in-process (a binary run per output would take minutes in debug);
/// one run of the binary below checks that the CLI prints the same.
fn load(path: &str) -> Profile {
    let bytes = std::fs::read(path).unwrap();
    flameprof::__private::input::load(path, bytes.into())
        .unwrap_or_else(|e| panic!("{e}"))
        .profile
}

/// Every key pstats accepts, on a few representative fixtures.
const ALL_KEYS: &str = "calls,cumulative,cumtime,file,filename,module,ncalls,pcalls,line,name,nfl,stdname,time,tottime";
const ALL_KEYS_ON: &[&str] = &[
    "real_cprofile_small_py311.prof",
    "real_profile_cli_small_py311.prof",
    "real_cprofile_mutual_recursion_py311.prof",
    "synth_zero_negative_inconsistent.prof",
];
/// The main keys on every fixture (a debug binary run per output: keep the count sane).
const MAIN_KEYS: &str = "cumulative,tottime,calls,name,stdname";

/// Fixtures whose pstats output flameprof cannot reproduce, and why.
/// They are still rendered (no panic), only not compared.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "real_py27_marshal_v0.prof",
        "py2 's' strings: Python 3's marshal makes them bytes, pstats prints b'...'; flameprof decodes them",
    ),
    (
        "real_cprofile_surrogate_filename_py311.prof",
        "lone surrogates: flameprof decodes them lossily (U+FFFD per byte), names differ in text and width",
    ),
    (
        "synth_surrogates_in_names.prof",
        "lone surrogates, as above",
    ),
    (
        "synth_nan_inf_times.prof",
        "NaN: pstats' comparisons are inconsistent on NaN; flameprof sorts NaN below every number",
    ),
    ("synth_nan_inf_times_v0_text.prof", "NaN, as above"),
];

/// `python3`; panics when it is missing or has no `pstats`.
fn python() -> String {
    let ok = Command::new("python3")
        .arg("-c")
        .arg("import pstats")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "python3 with pstats is needed (CI installs it)");
    "python3".to_string()
}

fn fixtures(dir: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(data(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "prof"))
        // pstats refuses these (some only after trying to allocate gigabytes); the
        // reader's own tests cover them.
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with("broken_") && !name.starts_with("badshape_")
        })
        .map(|p| p.display().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn stats_output_matches_python_pstats() {
    if !external("python3") {
        return;
    }
    let py = python();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().display().to_string();
    let script = repo("tests/pstats_reference.py").display().to_string();
    let mut all = fixtures("pstats");
    all.extend(fixtures("real"));
    let few: Vec<String> = all
        .iter()
        .filter(|f| ALL_KEYS_ON.iter().any(|n| f.ends_with(n)))
        .cloned()
        .collect();
    assert_eq!(few.len(), ALL_KEYS_ON.len());
    let jobs = [(few, ALL_KEYS, "name"), (all, MAIN_KEYS, "cumulative")];

    let mut compared = 0;
    let mut cli_checked = false;
    let mut loaded: BTreeMap<String, Profile> = BTreeMap::new();
    let mut failures: BTreeMap<String, String> = BTreeMap::new();
    for (i, (files, keys, view_keys)) in jobs.into_iter().enumerate() {
        let dir = format!("{out}/{i}");
        std::fs::create_dir_all(&dir).unwrap();
        let r = Command::new(&py)
            .arg(&script)
            .arg(&dir)
            .arg(keys)
            .arg(view_keys)
            .args(&files)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        for line in String::from_utf8(r.stdout).unwrap().lines() {
            let parts: Vec<&str> = line.split('\t').collect();
            if parts[0] == "SKIP" {
                continue;
            }
            let (file, key, view, path) = (parts[0], parts[1], parts[2], parts[3]);
            let name = file.rsplit('/').next().unwrap();
            if view == "callers" && name == "real_cprofile_small_py311.prof" && !cli_checked {
                // The binary prints what write_report writes.
                let want = std::fs::read(path).unwrap();
                let r = run(&["-f", "stats", "--sort", key, "--callers", file]).ok();
                assert!(
                    r.stdout() == want.as_slice(),
                    "the CLI differs from pstats:\n{}",
                    r.describe()
                );
                cli_checked = true;
            }
            let view = match view {
                "callers" => StatsView::Callers,
                "callees" => StatsView::Callees,
                _ => StatsView::Table,
            };
            let profile = loaded.entry(file.to_string()).or_insert_with(|| load(file));
            let mut bytes = Vec::new();
            write_report(profile, SortKey::parse(key).unwrap(), view, &mut bytes).unwrap();
            let ours = String::from_utf8_lossy(&bytes).into_owned();
            if KNOWN_DIFFERENCES.iter().any(|(f, _)| *f == name) {
                continue;
            }
            let want = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
            compared += 1;
            if ours != want {
                let at = want
                    .lines()
                    .zip(ours.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                failures
                    .entry(format!("{name} --sort {key} {view:?}"))
                    .or_insert(format!(
                        "line {}:\n    pstats:    {:?}\n    flameprof: {:?}",
                        at + 1,
                        want.lines().nth(at),
                        ours.lines().nth(at)
                    ));
            }
        }
    }
    assert!(cli_checked, "the CLI run was not checked");
    assert!(compared > 250, "only {compared} outputs compared");
    assert!(
        failures.is_empty(),
        "{} of {compared} outputs differ from pstats:\n{}",
        failures.len(),
        failures
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
