//! Many profiles, one picture: directories and quoted patterns read as the files they
//! hold, files that hold no profile skipped with one warning, and merges of many inputs
//! that equal the merge of the same files named one by one.

use std::path::Path;

use crate::util::{data, run};

/// A directory of profiles: `n` copies of two real ones, in subdirectories, with a
/// text file and a hidden file beside them.
fn fleet(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for i in 0..n {
        let worker = d.join(format!("worker{}", i % 3));
        std::fs::create_dir_all(&worker).unwrap();
        let (name, from) = if i % 2 == 0 {
            ("pip", "real/pip_list.prof")
        } else {
            ("pygments", "real/pygments.prof")
        };
        std::fs::copy(data(from), worker.join(format!("{name}-{i:03}.prof"))).unwrap();
    }
    std::fs::write(d.join("README.txt"), "profiles of the workers\n").unwrap();
    std::fs::write(d.join(".hidden.prof"), b"\xff not read").unwrap();
    dir
}

/// The profiles under `dir` in the order a directory gives them.
fn listed(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut workers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    workers.sort();
    for w in workers {
        let mut in_worker: Vec<_> = std::fs::read_dir(&w)
            .unwrap()
            .map(|e| e.unwrap().path().display().to_string())
            .collect();
        in_worker.sort();
        files.extend(in_worker);
    }
    files
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn a_directory_is_every_profile_under_it_named_in_order() {
    let dir = fleet(12);
    let files = listed(dir.path());
    assert_eq!(files.len(), 12);
    for format in ["stats", "json", "log"] {
        let mut named = vec!["-f", format, "--title", "t"];
        named.extend(files.iter().map(String::as_str));
        let one_by_one = run(&named).ok();
        let whole = run(&["-f", format, "--title", "t", &path(dir.path())]).ok();
        assert!(
            whole.stdout() == one_by_one.stdout(),
            "-f {format}: the directory differs from its files named one by one"
        );
        assert_eq!(
            whole.stderr().trim(),
            "flameprof: warning: skipped 1 file that holds no profile: '{}'"
                .replace("{}", &path(&dir.path().join("README.txt"))),
            "{}",
            whole.describe()
        );
        assert!(one_by_one.stderr().is_empty(), "{}", one_by_one.describe());
    }
}

#[test]
fn a_quoted_pattern_is_expanded_by_flameprof() {
    let dir = fleet(6);
    let files: Vec<String> = listed(dir.path())
        .into_iter()
        .filter(|f| f.contains("/worker1/"))
        .collect();
    let mut named = vec!["-f", "stats"];
    named.extend(files.iter().map(String::as_str));
    let one_by_one = run(&named).ok();
    let pattern = path(&dir.path().join("worker1").join("*.prof"));
    let expanded = run(&["-f", "stats", &pattern]).ok();
    assert!(expanded.stdout() == one_by_one.stdout());
    assert!(expanded.stderr().is_empty(), "{}", expanded.describe());
    let nothing = run(&[&path(&dir.path().join("*.pstats"))]);
    assert_eq!(nothing.code(), 1, "{}", nothing.describe());
    assert!(
        nothing
            .stderr()
            .ends_with("': no file matches this pattern\n"),
        "{}",
        nothing.describe()
    );
}

#[test]
fn many_copies_add_up_to_that_many_times_one() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40 {
        std::fs::copy(
            data("real/pip_list.prof"),
            dir.path().join(format!("{i:02}.prof")),
        )
        .unwrap();
    }
    let json =
        |args: &[&str]| -> serde_like::Totals { serde_like::totals(&run(args).ok().stdout_text()) };
    let one = json(&["-f", "json", &path(&data("real/pip_list.prof"))]);
    let all = json(&["-f", "json", &path(dir.path())]);
    assert!(
        (all.total - 40.0 * one.total).abs() <= 1e-9 * all.total,
        "{} vs 40 × {}",
        all.total,
        one.total
    );
    assert_eq!(all.functions, one.functions);
}

#[test]
fn a_damaged_profile_among_many_stops_the_merge_naming_it() {
    let dir = fleet(4);
    let bad = dir.path().join("worker0").join("zz-truncated.prof");
    let whole = std::fs::read(data("real/pip_list.prof")).unwrap();
    std::fs::write(&bad, &whole[..whole.len() / 2]).unwrap();
    let r = run(&["-f", "log", &path(dir.path())]);
    assert_eq!(r.code(), 1, "{}", r.describe());
    let err = r.stderr();
    assert_eq!(err.lines().count(), 1, "{}", r.describe());
    assert!(
        err.starts_with(&format!("flameprof: cannot read '{}': ", path(&bad))),
        "{err}"
    );
    assert!(r.stdout().is_empty());
}

#[test]
fn a_directory_of_no_profiles_or_none_at_all_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&[&path(dir.path())]);
    assert_eq!(r.code(), 1, "{}", r.describe());
    assert_eq!(
        r.stderr().trim(),
        format!(
            "flameprof: cannot read '{}': a directory with no files in it",
            path(dir.path())
        )
    );
    std::fs::write(dir.path().join("notes.txt"), "no profile here\n").unwrap();
    let r = run(&["-f", "log", &path(dir.path())]);
    assert_eq!(r.code(), 1, "{}", r.describe());
    assert!(
        r.stderr().ends_with(&format!(
            "flameprof: cannot read '{}': none of its 1 files is a profile\n",
            path(dir.path())
        )),
        "{}",
        r.describe()
    );
}

/// Totals read from `-f json` without a JSON library: the total own time and how many
/// functions the profile has.
mod serde_like {
    pub struct Totals {
        pub total: f64,
        pub functions: usize,
    }

    pub fn totals(json: &str) -> Totals {
        let number = |key: &str| -> String {
            let at = json
                .find(key)
                .unwrap_or_else(|| panic!("no {key} in the json"));
            json[at + key.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || ".eE+-".contains(*c))
                .collect()
        };
        Totals {
            total: number("\"tottime\":").parse().unwrap(),
            functions: number("\"functions\":").parse().unwrap(),
        }
    }
}
