//! `-f stats` against CPython's own pstats, byte for byte: every fixture pstats can
//! read (those of `../shared/fixtures` too, where present), for every sort key and no
//! sort, in every view. Needs `python3`: runs with FLAMEPROF_EXTERNAL_TESTS=1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use flameprof::__private::model::Profile;
use flameprof::__private::stats::{SortKey, StatsView, write_report};

use crate::util::{data, external, repo, run};

/// Reads a fixture in-process (a binary run per output would take minutes in debug);
/// one run of the binary below checks that the CLI prints the same.
/// `a+b+c` is the three files merged, as the CLI merges its inputs.
fn load(path: &str) -> Profile {
    let each = path.split('+').map(|path| {
        let bytes = std::fs::read(path).unwrap();
        flameprof::__private::input::load(path, bytes.into())
            .unwrap_or_else(|e| panic!("{e}"))
            .profile
    });
    Profile::merge(each.collect())
}

/// Merges compared as `python -m pstats a b c` makes them (`Stats(a)`, `.add(b)`,
/// `.add(c)`): one program's profiles from three Pythons (the same functions met in
/// other orders), two real programs, and `profile`-module files (bare call counts).
const MERGES: &[&str] = &[
    "pstats/real_cprofile_small_py311.prof+pstats/real_cprofile_small_py313.prof+pstats/real_cprofile_small_py36.prof",
    "real/pip_list.prof+real/pygments.prof",
    "pstats/real_profile_run_string_py311.prof+pstats/real_profile_negative_bias_py311.prof",
];

/// Every key `sort_stats` accepts (`file` is pstats' own abbreviation of `filename`),
/// and `none`: no sort at all, the stats dict's order.
const KEYS: &str = "none,calls,cumulative,cumtime,file,filename,module,ncalls,pcalls,line,name,nfl,stdname,time,tottime";

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
    (
        "edge_all_value_types.prof",
        "a bytes file name: pstats prints b'...', flameprof the decoded name",
    ),
    (
        "real_profile_cli_small_py311.prof",
        "a code object as a name: pstats prints the address it loaded it at, new on every run",
    ),
    (
        "real_profile_cli_small_py312.prof",
        "a code object, as above",
    ),
    (
        "real_profile_cli_small_py313.prof",
        "a code object, as above",
    ),
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

/// The `.prof` files of `dir`, but those pstats refuses (some only after trying to
/// allocate gigabytes; the reader's own tests cover them).
fn fixtures(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.contains(".prof") && !name.starts_with("broken_") && !name.starts_with("badshape_")
        })
        .collect();
    out.sort();
    out
}

/// Every fixture of `tests/data`, then those of `../shared/fixtures` (the real and
/// hostile files, flameprof 0.4's samples) where that folder is present, each content
/// once.
fn all_fixtures() -> Vec<String> {
    let mut files = fixtures(&data("pstats"));
    files.extend(fixtures(&data("real")));
    let shared = repo("../shared/fixtures");
    if shared.is_dir() {
        for dir in ["pstats", "real", "original"] {
            files.extend(fixtures(&shared.join(dir)));
        }
    } else {
        eprintln!(
            "{} is absent: only tests/data is compared",
            shared.display()
        );
    }
    let mut seen = std::collections::HashSet::new();
    files
        .into_iter()
        .filter(|f| seen.insert(std::fs::read(f).unwrap()))
        .map(|f| f.display().to_string())
        .collect()
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
    let mut files = all_fixtures();
    files.extend(MERGES.iter().map(|m| {
        let each = m.split('+').map(|f| data(f).display().to_string());
        each.collect::<Vec<_>>().join("+")
    }));
    // One python process for every comparison: its start-up is most of a small one.
    let r = Command::new(&py)
        .arg(&script)
        .arg(&out)
        .arg(KEYS)
        .args(&files)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));

    let mut compared = 0;
    let mut cli_checked = false;
    let mut loaded: BTreeMap<String, Profile> = BTreeMap::new();
    let mut failures: BTreeMap<String, String> = BTreeMap::new();
    for line in String::from_utf8(r.stdout).unwrap().lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        if parts[0] == "SKIP" {
            continue;
        }
        let (file, key, view, path) = (parts[0], parts[1], parts[2], parts[3]);
        let name = file.rsplit('/').next().unwrap();
        if KNOWN_DIFFERENCES.iter().any(|(f, _)| *f == name) {
            continue;
        }
        if view == "callers" && key == "tottime" && name == "real_cprofile_small_py311.prof" {
            // The binary prints what write_report writes.
            let want = std::fs::read(path).unwrap();
            let r = run(&["-f", "stats", "--sort", key, "--callers", file]).ok();
            if r.stdout() != want.as_slice() {
                failures.insert(format!("the CLI on {name}"), r.describe());
            }
            cli_checked = true;
        }
        let view = match view {
            "callers" => StatsView::Callers,
            "callees" => StatsView::Callees,
            _ => StatsView::Table,
        };
        let profile = loaded.entry(file.to_string()).or_insert_with(|| load(file));
        compared += 1;
        let case = format!("{name} --sort {key} {view:?}");
        let Some(sort) = SortKey::parse(key) else {
            failures.insert(case, format!("flameprof refuses --sort {key}"));
            continue;
        };
        let mut bytes = Vec::new();
        write_report(profile, sort, view, &mut bytes).unwrap();
        let ours = String::from_utf8_lossy(&bytes);
        let want = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        if ours != want {
            let at = want
                .lines()
                .zip(ours.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            failures.insert(
                case,
                format!(
                    "line {}:\n    pstats:    {:?}\n    flameprof: {:?}",
                    at + 1,
                    want.lines().nth(at),
                    ours.lines().nth(at)
                ),
            );
        }
    }
    assert!(cli_checked, "the CLI run was not checked");
    assert!(compared > 2500, "only {compared} outputs compared");
    eprintln!("{compared} outputs compared with pstats");
    let mut by_file: BTreeMap<&str, usize> = BTreeMap::new();
    for case in failures.keys() {
        *by_file.entry(case.split(' ').next().unwrap()).or_default() += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} outputs differ from pstats; per file: {by_file:?}; the first 40:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
