//! `flameprof run` (and 0.4's `-r`/`-m`), for real, against every Python 3 on the
//! machine (at least `python3`, needed with FLAMEPROF_EXTERNAL_TESTS=1): scripts,
//! modules, arguments, failing programs, stdin, `--cpu`, `--save-prof`, Ctrl-C and
//! pytest; plus, needing no Python, the subcommand/INPUT boundary, completions and the
//! man page.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{Run, bin, data, external, run_with_env};

const SMALL: &str = "pstats/real_cprofile_small_py311.prof";

const SCRIPT: &str = r#"
import sys

def work(n):
    return sum(i * i for i in range(n))

def main():
    print("argv=" + repr(sys.argv[1:]))
    print("name=" + __name__)
    work(20000)
    if sys.argv[1:2] == ["fail"]:
        raise ValueError("boom from the program")
    if sys.argv[1:2] == ["exit"]:
        sys.exit(7)

main()
"#;

const MODULE: &str = r#"
import sys

def module_work():
    return sorted(range(5000), key=lambda x: -x)

module_work()
print("module argv0=" + sys.argv[0])
print("module args=" + repr(sys.argv[1:]))
"#;

/// A Python 3 interpreter found on this machine, with its version for messages.
#[derive(Clone, Debug)]
pub struct Python {
    pub path: PathBuf,
    pub version: (u32, u32),
}

/// `python3` from PATH (required), plus every pyenv-installed Python 3, one per version.
pub fn pythons() -> Vec<Python> {
    let mut candidates = vec![PathBuf::from("python3")];
    let roots = [
        std::env::var_os("PYENV_ROOT").map(PathBuf::from),
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv")),
    ];
    for root in roots.into_iter().flatten() {
        if let Ok(entries) = std::fs::read_dir(root.join("versions")) {
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path().join("bin/python3"))
                .filter(|p| p.exists())
                .collect();
            found.sort();
            candidates.extend(found);
        }
    }
    let mut out: Vec<Python> = Vec::new();
    for path in candidates {
        let Some(version) = version_of(&path) else {
            assert!(
                path != Path::new("python3"),
                "the tests need `python3` on PATH"
            );
            continue;
        };
        if version.0 == 3 && !out.iter().any(|p| p.version == version) {
            out.push(Python { path, version });
        }
    }
    assert!(!out.is_empty(), "python3 is not a Python 3");
    out
}

fn version_of(python: &Path) -> Option<(u32, u32)> {
    let out = Command::new(python)
        .args(["-c", "import sys; print('%d %d' % sys.version_info[:2])"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut it = text.split_whitespace().map(|s| s.parse::<u32>());
    match (it.next(), it.next()) {
        (Some(Ok(a)), Some(Ok(b))) if out.status.success() => Some((a, b)),
        _ => None,
    }
}

/// A temporary directory holding the test script and module.
fn workdir() -> tempfile::TempDir {
    workdir_with(&[])
}

/// [`workdir`], with these scripts (name, text) beside its own.
fn workdir_with(scripts: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let own = [("prog.py", SCRIPT), ("mymod.py", MODULE)];
    for (name, text) in own.iter().chain(scripts) {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// Runs flameprof in `dir` with no VIRTUAL_ENV, feeding `stdin`.
fn fp(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    fp_env(dir, args, stdin, &[])
}

fn fp_env(dir: &Path, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Run {
    let mut vars: Vec<(&str, Option<&str>)> = vec![("VIRTUAL_ENV", None)];
    vars.extend(env.iter().map(|&(k, v)| (k, Some(v))));
    run_with_env(dir, args, stdin, &vars)
}

pub fn py(p: &Python) -> String {
    p.path.display().to_string()
}

/// `flameprof run --python P --threshold 0 OPTIONS SCRIPT` in `dir`, which must
/// succeed: its standard output.
fn run_drawn(dir: &Path, p: &Python, options: &[&str], script: &str) -> String {
    let python = py(p);
    let args = ["run", "--python", &python, "--threshold", "0"];
    let r = fp(dir, &[&args[..], options, &[script]].concat(), None);
    assert_eq!(r.code(), 0, "{p:?}\n{}", r.describe());
    r.stdout_text()
}

/// Sum of the folded values of the stacks that pass through a frame ending in `frame`.
fn time_through(folded: &str, frame: &str) -> u64 {
    folded
        .lines()
        .filter(|l| {
            l.rsplit_once(' ')
                .unwrap()
                .0
                .split(';')
                .any(|f| f.ends_with(frame))
        })
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum()
}

/// Splits `flameprof run -f log` stdout into the program's lines and the folded lines.
fn split_output(stdout: &str) -> (Vec<&str>, Vec<&str>) {
    let (program, folded): (Vec<&str>, Vec<&str>) = stdout
        .lines()
        .partition(|l| !l.contains(';') && !l.starts_with("~:"));
    (program, folded)
}

#[test]
fn run_script_passes_arguments_through_and_renders_after_the_program_output() {
    if !external("python3") {
        return;
    }
    let dir = workdir();
    for p in pythons() {
        let r = fp(
            dir.path(),
            &[
                "run",
                "--python",
                &py(&p),
                "-f",
                "log",
                "--threshold",
                "0",
                "prog.py",
                "a",
                "-b",
                "--c",
                "-o",
                "x",
            ],
            None,
        )
        .ok();
        let text = r.stdout_text();
        let first = text.lines().next().unwrap_or("");
        assert_eq!(
            first,
            "argv=['a', '-b', '--c', '-o', 'x']",
            "{p:?}: options after the script are the program's\n{}",
            r.describe()
        );
        assert!(text.contains("name=__main__"), "{p:?}\n{}", r.describe());
        let (program, folded) = split_output(&text);
        assert_eq!(
            program.len(),
            2,
            "{p:?}: program output first, then only folded lines\n{}",
            r.describe()
        );
        assert!(
            time_through(&folded.join("\n"), "prog.py:4:work") > 0,
            "{p:?}: work() not profiled\n{}",
            r.describe()
        );
        // The profile is the program's: no bootstrap frames.
        assert!(!text.contains("_flameprof_main"), "{p:?}\n{}", r.describe());
    }
}

#[test]
fn run_module_with_dash_m_like_python_m() {
    if !external("python3") {
        return;
    }
    let dir = workdir();
    for p in pythons() {
        let r = fp(
            dir.path(),
            &[
                "run",
                "--python",
                &py(&p),
                "-f",
                "log",
                "--threshold",
                "0",
                "-m",
                "mymod",
                "-x",
                "y",
            ],
            None,
        )
        .ok();
        let text = r.stdout_text();
        assert!(
            text.contains("module args=['-x', 'y']"),
            "{p:?}\n{}",
            r.describe()
        );
        let argv0 = text
            .lines()
            .find_map(|l| l.strip_prefix("module argv0="))
            .unwrap_or("");
        assert!(
            argv0.ends_with("mymod.py"),
            "{p:?}: sys.argv[0] is the module's file, as with python -m\n{}",
            r.describe()
        );
        assert!(
            text.contains("mymod.py:4:module_work"),
            "{p:?}\n{}",
            r.describe()
        );
    }
}

#[test]
fn flameprof_04_spellings_run_and_run_module() {
    if !external("python3") {
        return;
    }
    let dir = workdir();
    let p = &pythons()[0];
    let r = fp(
        dir.path(),
        &[
            "-f",
            "log",
            "--python",
            &py(p),
            "-r",
            "prog.py",
            "--",
            "a",
            "-b",
        ],
        None,
    )
    .ok();
    assert!(
        r.stdout_text().starts_with("argv=['a', '-b']\n"),
        "{}",
        r.describe()
    );
    assert!(
        r.stdout_text().contains("prog.py:4:work"),
        "{}",
        r.describe()
    );
    let r = fp(
        dir.path(),
        &["--run", "prog.py", "--format=log", "--python", &py(p)],
        None,
    )
    .ok();
    assert!(r.stdout_text().starts_with("argv=[]\n"), "{}", r.describe());
    let r = fp(
        dir.path(),
        &["-f", "log", "--python", &py(p), "-m", "mymod", "q"],
        None,
    )
    .ok();
    assert!(
        r.stdout_text().contains("module args=['q']"),
        "{}",
        r.describe()
    );
    let r = fp(
        dir.path(),
        &["-f", "log", "--python", &py(p), "--run-module", "mymod"],
        None,
    )
    .ok();
    assert!(
        r.stdout_text().contains("mymod.py:4:module_work"),
        "{}",
        r.describe()
    );
    let r = fp(dir.path(), &["-r"], None);
    assert_eq!(r.code(), 2, "{}", r.describe());
    assert!(
        r.stderr().contains("needs the program to run"),
        "{}",
        r.describe()
    );
}

#[test]
fn failing_program_is_still_rendered_and_its_exit_status_kept() {
    if !external("python3") {
        return;
    }
    let dir = workdir();
    for p in pythons() {
        let out = dir.path().join("fail.svg");
        let _ = std::fs::remove_file(&out);
        let r = fp(
            dir.path(),
            &[
                "run",
                "--python",
                &py(&p),
                "-o",
                "fail.svg",
                "prog.py",
                "fail",
            ],
            None,
        );
        assert_eq!(r.code(), 1, "{p:?}\n{}", r.describe());
        let err = r.stderr();
        assert!(
            err.contains("ValueError: boom from the program"),
            "{p:?}\n{}",
            r.describe()
        );
        assert!(err.contains("prog.py"), "{p:?}\n{}", r.describe());
        assert!(
            !err.contains("<string>"),
            "{p:?}: the traceback shows the bootstrap\n{}",
            r.describe()
        );
        let svg = std::fs::read_to_string(&out)
            .unwrap_or_else(|e| panic!("{p:?}: no fail.svg ({e})\n{}", r.describe()));
        assert!(
            svg.contains("work"),
            "{p:?}: the profile of the failed run is rendered"
        );

        let r = fp(
            dir.path(),
            &["run", "--python", &py(&p), "-f", "log", "prog.py", "exit"],
            None,
        );
        assert_eq!(
            r.code(),
            7,
            "{p:?}: sys.exit(7) passes through\n{}",
            r.describe()
        );
        assert!(
            r.stdout_text().contains("prog.py:4:work"),
            "{p:?}\n{}",
            r.describe()
        );
    }
}

#[test]
fn program_reads_standard_input() {
    if !external("python3") {
        return;
    }
    let dir = workdir();
    std::fs::write(
        dir.path().join("upper.py"),
        "import sys\nsys.stdout.write(sys.stdin.read().upper())\n",
    )
    .unwrap();
    for p in pythons() {
        let r = fp(
            dir.path(),
            &["run", "--python", &py(&p), "-o", "u.svg", "upper.py"],
            Some(b"hello stdin\n"),
        )
        .ok();
        assert_eq!(
            r.stdout_text(),
            "HELLO STDIN\n",
            "{p:?}: with -o, stdout is the program's alone\n{}",
            r.describe()
        );
        assert!(dir.path().join("u.svg").exists());
    }
}

#[test]
fn cpu_counts_process_time_not_sleep() {
    if !external("python3") {
        return;
    }
    let dir = workdir();
    std::fs::write(
        dir.path().join("sleepy.py"),
        "import time\n\ndef sleeper():\n    time.sleep(0.3)\n\ndef burner():\n    return sum(range(200000))\n\nsleeper()\nburner()\n",
    )
    .unwrap();
    for p in pythons() {
        let args = |cpu: bool| {
            let mut a = vec!["run", "--python", "", "-f", "log", "--threshold", "0"];
            if cpu {
                a.push("--cpu");
            }
            a.push("sleepy.py");
            a
        };
        let python = py(&p);
        let mut wall_args = args(false);
        wall_args[2] = &python;
        let wall = fp(dir.path(), &wall_args, None).ok();
        let mut cpu_args = args(true);
        cpu_args[2] = &python;
        let cpu = fp(dir.path(), &cpu_args, None).ok();
        let slept_wall = time_through(&wall.stdout_text(), "sleepy.py:3:sleeper");
        let slept_cpu = time_through(&cpu.stdout_text(), "sleepy.py:3:sleeper");
        assert!(
            slept_wall >= 250_000,
            "{p:?}: wall time of a 0.3 s sleep is {slept_wall} µs\n{}",
            wall.describe()
        );
        assert!(
            slept_cpu < 100_000,
            "{p:?}: CPU time of a 0.3 s sleep is {slept_cpu} µs\n{}",
            cpu.describe()
        );
        assert!(
            cpu.stdout_text().contains("sleepy.py:6:burner"),
            "{p:?}\n{}",
            cpu.describe()
        );
    }
}

#[test]
fn save_prof_keeps_stats_that_render_the_same_and_pstats_reads() {
    if !external("python3") {
        return;
    }
    let dir = workdir();
    for p in pythons() {
        for flag in ["--save-prof", "--pstat"] {
            let saved = dir.path().join("saved.prof");
            let _ = std::fs::remove_file(&saved);
            let r = fp(
                dir.path(),
                &[
                    "run",
                    "--python",
                    &py(&p),
                    flag,
                    "saved.prof",
                    "-f",
                    "stats",
                    "-o",
                    "run.log",
                    "prog.py",
                ],
                None,
            )
            .ok();
            assert!(saved.exists(), "{p:?} {flag}\n{}", r.describe());
            let again = fp(
                dir.path(),
                &["-f", "stats", "-o", "again.log", "saved.prof"],
                None,
            )
            .ok();
            // The stats the run drew are the ones saved (its drawing also has the
            // recorded stacks, which `--save-stacks` keeps).
            let a = std::fs::read(dir.path().join("run.log")).unwrap();
            let b = std::fs::read(dir.path().join("again.log")).unwrap();
            assert_eq!(
                a,
                b,
                "{p:?} {flag}: the saved stats render differently\n{}",
                again.describe()
            );
            let check = Command::new(&p.path)
                .args([
                    "-c",
                    "import pstats, sys; s = pstats.Stats(sys.argv[1]); assert s.total_calls > 0",
                    "saved.prof",
                ])
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(check.success(), "{p:?}: pstats cannot read the saved stats");
        }
    }
}

/// Checks, in Python, that the functions of `flameprof -f json` output (argv[2]) are all
/// keys of the stats file argv[1], and that neither holds the bootstrap's code.
const KEYS_SUBSET: &str = r#"
import json, marshal, sys
stats = marshal.load(open(sys.argv[1], "rb"))
funcs = json.load(open(sys.argv[2]))["functions"]
keys = set((f["file"], f["line"], f["name"]) for f in funcs)
assert keys, "no sampled function"
assert keys <= set(stats), sorted(keys - set(stats))
for k in list(keys) + list(stats):
    assert k[0] != "<string>" and "_flameprof" not in k[2], k
print("\n".join(sorted("%s:%d:%s" % k for k in keys)))
"#;

/// Checks, in Python, that every function of the call paths argv[2] (its `f FRAME`
/// lines, `file:line:name`) is a key of the stats file argv[1], builtins included:
/// the recorder names them as cProfile does. Prints the paths as folded stacks of
/// calls, one per line.
const PATHS_KEYS: &str = r#"
import marshal, re, sys
stats = marshal.load(open(sys.argv[1], "rb"))
functions, paths = [], [None]
for line in open(sys.argv[2], encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("f "):
        file, lineno, name = re.match(r"^(.*?):(-?\d+):(.*)$", line[2:]).groups()
        functions.append((file, int(lineno), name))
    elif line.startswith("n "):
        parent, function, calls, own = map(int, line[2:].split())
        stack = (paths[parent] or ()) + (function,)
        paths.append(stack)
        print("%s %d" % (";".join("%s:%d:%s" % functions[f] for f in stack), calls))
missing = [k for k in functions if k not in stats]
assert not missing, missing
assert any(k[0] == "~" for k in functions), "no builtin recorded"
"#;

const SAMPLED: &str = r#"
import sys, time

def spin(n):
    return sum(i * i for i in range(n))

def nap():
    time.sleep(0.05)

def main():
    print("sampled " + repr(sys.argv[1:]))
    nap()
    [].append(1)
    spin(200000)
    sys.exit(7)

main()
"#;

/// Runs SAMPLED with and without --save-stacks (and with FLAMEPROF_SAMPLE_STACKS set
/// in `env`, sampled): the program's status and output are the same, and the stacks
/// file is written only when asked for. Returns the file.
fn run_saving_stacks(dir: &Path, p: &Python, env: &[(&str, &str)]) -> String {
    for stacks in [false, true] {
        let _ = std::fs::remove_file(dir.join("s.stacks"));
        let python = py(p);
        let mut args = vec!["run", "--python", &python];
        args.extend(["--save-prof", "s.prof", "-f", "log", "-o", "run.log"]);
        if stacks {
            args.extend(["--save-stacks", "s.stacks"]);
        }
        args.extend(["sampled.py", "a b", "-x"]);
        let r = fp_env(dir, &args, None, env);
        assert_eq!(r.code(), 7, "{p:?} stacks={stacks}\n{}", r.describe());
        assert_eq!(
            r.stdout_text(),
            "sampled ['a b', '-x']\n",
            "{p:?} stacks={stacks}"
        );
        assert_eq!(dir.join("s.stacks").exists(), stacks, "{p:?}");
    }
    std::fs::read_to_string(dir.join("s.stacks")).unwrap()
}

#[test]
fn save_stacks_records_every_call_path_with_cprofile_s_keys() {
    if !external("python3") {
        return;
    }
    let dir = workdir_with(&[("sampled.py", SAMPLED), ("paths_keys.py", PATHS_KEYS)]);
    for p in pythons() {
        let recorded = run_saving_stacks(dir.path(), &p, &[]);
        assert!(
            recorded.starts_with("# flameprof call paths 1\n")
                && recorded.contains("# mode: wall\n"),
            "{p:?}\n{recorded}"
        );
        let check = Command::new(&p.path)
            .args(["paths_keys.py", "s.prof", "s.stacks"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{p:?}: {}\n{recorded}",
            String::from_utf8_lossy(&check.stderr)
        );
        // Every call, counted on its path from cProfile's root; no bootstrap frame.
        let calls = String::from_utf8_lossy(&check.stdout);
        // (The module's first line is 1 or, before 3.8, its first statement's.)
        let root = "~:0:<built-in method builtins.exec>;sampled.py:";
        for (path, n) in [
            ("sampled.py:7:nap;~:0:<built-in method time.sleep>", 1),
            ("~:0:<method 'append' of 'list' objects>", 1),
            ("sampled.py:4:spin;~:0:<built-in method builtins.sum>", 1),
        ] {
            let end = format!(":<module>;sampled.py:10:main;{path} {n}");
            assert!(
                calls
                    .lines()
                    .any(|l| l.starts_with(root) && l.ends_with(&end)),
                "{p:?}: no {path} {n}\n{calls}"
            );
        }
        assert!(
            !calls.contains("_flameprof") && !calls.contains("<string>"),
            "{p:?}\n{calls}"
        );
        // Drawn again from the saved files, the picture is the run's.
        let redrawn = fp(
            dir.path(),
            &["-f", "log", "--stacks", "s.stacks", "s.prof"],
            None,
        );
        assert_eq!(
            redrawn.stdout_text(),
            std::fs::read_to_string(dir.path().join("run.log")).unwrap(),
            "{p:?}"
        );
    }
}

#[test]
fn save_stacks_samples_the_program_where_it_is_not_recorded() {
    if !external("python3") {
        return;
    }
    let dir = workdir_with(&[("sampled.py", SAMPLED), ("keys_subset.py", KEYS_SUBSET)]);
    for p in pythons() {
        let folded = run_saving_stacks(dir.path(), &p, &[("FLAMEPROF_SAMPLE_STACKS", "1")]);
        assert!(folded.contains("# mode: wall\n"), "{p:?}\n{folded}");
        // flameprof reads it back, into keys that are all cProfile's.
        fp(
            dir.path(),
            &["-f", "json", "--keep-lines", "-o", "s.json", "s.stacks"],
            None,
        )
        .ok();
        let check = Command::new(&p.path)
            .args(["keys_subset.py", "s.prof", "s.json"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let keys = String::from_utf8_lossy(&check.stdout);
        assert!(
            check.status.success(),
            "{p:?}: {}\n{folded}",
            String::from_utf8_lossy(&check.stderr)
        );
        // The stacks start where cProfile's tree does, and the sleep (the GIL released:
        // many samples) ends at the function that called it.
        for frame in ["~:0:<built-in method builtins.exec>", "sampled.py:7:nap"] {
            assert!(keys.contains(frame), "{p:?}: no {frame}\n{keys}");
        }
        assert!(
            folded
                .lines()
                .any(|l| l.starts_with("~:0:<built-in method builtins.exec>;")
                    && l.contains(":7:nap ")),
            "{p:?}\n{folded}"
        );
    }
}

/// A callee that depends on the caller: `process` calls `parse_row` for `load` and
/// `validate_row` for `check`, the two callers' `process` costing about the same, so a
/// stats file alone cannot tell which `process` called which.
const CONTEXT: &str = r#"
import sys

def parse_row(row):
    t = 0
    for c in row:
        t += ord(c) * 3
    return t

def validate_row(row):
    n = 0
    for c in row[:12]:
        n += c == "!"
    return n

def process(rows, fn):
    return [fn(r) for r in rows]

def load(rows):
    return process(rows, parse_row)

def check(rows):
    return process(rows, validate_row)

def main(seconds):
    import time
    rows = ["row %d of the data, some text" % i for i in range(200)]
    end = time.time() + seconds
    while time.time() < end:
        load(rows)
        for _ in range(8):
            check(rows)

main(float(sys.argv[1]))
"#;

/// The share of `callee`'s own time (folded stacks ending in it) drawn under `caller`.
fn share_under(folded: &str, caller: &str, callee: &str) -> f64 {
    let (mut under, mut all) = (0u64, 0u64);
    for line in folded.lines() {
        let Some((stack, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let frames: Vec<&str> = stack.split(';').collect();
        if !frames
            .last()
            .is_some_and(|f| f.ends_with(&format!(":{callee}")))
        {
            continue;
        }
        let v: u64 = value.parse().unwrap();
        all += v;
        if frames.iter().any(|f| f.ends_with(&format!(":{caller}"))) {
            under += v;
        }
    }
    assert!(all > 0, "no {callee} in\n{folded}");
    under as f64 / all as f64
}

#[test]
fn run_draws_each_callee_under_the_caller_that_made_it() {
    if !external("python3") {
        return;
    }
    let dir = workdir_with(&[("context.py", CONTEXT)]);
    for p in pythons() {
        let python = py(&p);
        let draw = |samples: bool| {
            let mut args = vec!["run", "--python", &python, "-f", "log", "--threshold", "0"];
            if !samples {
                args.push("--no-stacks");
            }
            args.extend(["-o", "c.log", "context.py", "0.8"]);
            fp(dir.path(), &args, None).ok();
            std::fs::read_to_string(dir.path().join("c.log")).unwrap()
        };
        let guided = draw(true);
        for (caller, callee) in [("load", "parse_row"), ("check", "validate_row")] {
            let share = share_under(&guided, caller, callee);
            assert!(
                share > 0.97,
                "{p:?}: {share:.3} of {callee} under {caller}\n{guided}"
            );
        }
        // The stats alone split them between the callers of `process`.
        let alone = draw(false);
        let share = share_under(&alone, "load", "parse_row");
        assert!(
            share < 0.75,
            "{p:?}: {share:.3} of parse_row under load without samples"
        );
    }
}

/// Calls of every kind cProfile counts: recursion (direct, and mutual, where a
/// caller→callee pair recurs), generators, exceptions raised through frames, builtins
/// (functions, methods, a method called through its class, static and class methods,
/// a sort key called back from C), classes and closures.
const EVERY_CALL: &str = r#"
import sys

def fact(n):
    return 1 if n <= 1 else n * fact(n - 1)

def even(n):
    return True if n == 0 else odd(n - 1)

def odd(n):
    return False if n == 0 else even(n - 1)

def numbers(n):
    for i in range(n):
        yield i * i

def fails(n):
    if n:
        return fails(n - 1)
    raise ValueError("no")

class Box(object):
    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v

def main():
    out = []
    for i in range(30):
        out.append(fact(i % 7))
        list.append(out, even(i % 5))
        out.append(sum(numbers(i)))
        try:
            fails(i % 3)
        except ValueError:
            pass
        out.append(Box(i).get())
        out.append(sorted([3, 1, 2], key=lambda x: -x))
        out.append(str.maketrans("a", "b"))
        out.append(dict.fromkeys([i]))
        out.append(len(out))
    add = lambda a: a + len(out)
    return add(1)

main()
"#;

/// Compares, in Python, the stats file argv[2] with cProfile's argv[1] for the same
/// script (argv[3], its file name): every function of the script and every builtin
/// it calls has the same calls and primitive calls, under each of its callers in the
/// script too. Prints how many rows were compared.
const SAME_COUNTS: &str = r#"
import marshal, sys
ref = marshal.load(open(sys.argv[1], "rb"))
ours = marshal.load(open(sys.argv[2], "rb"))
script = sys.argv[3]
mine = lambda k: k[0].endswith(script)
rows = 0
for k, (cc, nc, tt, ct, callers) in ref.items():
    inner = dict((c, v) for c, v in callers.items() if mine(c))
    if not (mine(k) or (k[0] == "~" and inner)):
        continue
    assert k in ours, ("missing", k, sorted(ours))
    assert ours[k][:2] == (cc, nc), (k, ours[k][:2], (cc, nc))
    for c, v in inner.items():
        assert ours[k][4].get(c, (None, None))[:2] == v[:2], (k, c, ours[k][4].get(c), v)
    rows += 1
assert rows >= 12, rows
print(rows)
"#;

#[test]
fn run_s_stats_count_every_call_as_cprofile_does() {
    if !external("python3") {
        return;
    }
    let dir = workdir_with(&[
        ("every_call.py", EVERY_CALL),
        ("same_counts.py", SAME_COUNTS),
    ]);
    for p in pythons() {
        let python = py(&p);
        let r = fp(
            dir.path(),
            &[
                "run",
                "--python",
                &python,
                "--save-prof",
                "ours.prof",
                "-o",
                "x.log",
                "every_call.py",
            ],
            None,
        );
        assert_eq!(r.code(), 0, "{p:?}\n{}", r.describe());
        let reference = Command::new(&p.path)
            .args(["-m", "cProfile", "-o", "ref.prof", "every_call.py"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(reference.status.success(), "{p:?}");
        let check = Command::new(&p.path)
            .args(["same_counts.py", "ref.prof", "ours.prof", "every_call.py"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{p:?}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

/// A recursion whose cost grows with its depth: `work` at depth d (of `level` frames)
/// costs d units, one call per round at each depth. cProfile has one edge
/// `level → work` for all four depths.
const DEPTHS: &str = r#"
import sys

def work(n):
    t = 0
    for i in range(n):
        t += i
    return t

def level(depth, top):
    work(30000 * depth)
    if depth < top:
        level(depth + 1, top)

def main(rounds):
    for _ in range(rounds):
        level(1, 4)

main(int(sys.argv[1]))
"#;

#[test]
fn run_draws_a_depth_dependent_recursion_exactly() {
    if !external("python3") {
        return;
    }
    let dir = workdir_with(&[("depths.py", DEPTHS)]);
    for p in pythons() {
        let python = py(&p);
        let run = |format: &str| {
            // CPU time: what the machine's other work takes is not counted.
            let args = ["run", "--python", &python, "--cpu", "-f", format];
            let r = fp(
                dir.path(),
                &[&args[..], &["--threshold", "0", "depths.py", "12"]].concat(),
                None,
            );
            assert_eq!(r.code(), 0, "{p:?}\n{}", r.describe());
            r.stdout_text()
        };
        // Each depth's share of work's time: d/10, as the recorded paths say.
        let folded = run("log");
        let mut at_depth = [0u64; 5];
        for line in folded.lines() {
            let (stack, value) = line.rsplit_once(' ').unwrap();
            if stack.ends_with(":work") {
                let d = stack.matches(":level;").count();
                at_depth[d.min(4)] += value.parse::<u64>().unwrap();
            }
        }
        let all: u64 = at_depth.iter().sum();
        for (d, &time) in at_depth.iter().enumerate().skip(1) {
            let share = time as f64 / all as f64;
            assert!(
                (share - d as f64 / 10.0).abs() < 0.04,
                "{p:?}: {share:.3} of work at depth {d}\n{folded}"
            );
        }
        // And the frames are exact, their calls too: 12 at every depth, unmarked.
        let text = run("text");
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("level (") || l.contains("work ("))
            .collect();
        assert_eq!(rows.len(), 8, "{p:?}\n{text}");
        for row in rows {
            let cells: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(cells[3], "12", "{p:?}: {row}\n{text}");
            assert!(
                !row.contains('~') && !row.contains('?'),
                "{p:?}: {row}\n{text}"
            );
        }
    }
}

/// A program that runs into the recursion limit twice, once through C (the json
/// encoder calling `default` again and again) and once in plain Python, then works.
const RECURSION_ERRORS: &str = r#"
import json

class Endless(json.JSONEncoder):
    def default(self, o):
        return [o]

def deep(n):
    return deep(n + 1)

def overflow():
    for attempt in (lambda: Endless(check_circular=False).encode(5j), lambda: deep(0)):
        try:
            attempt()
        except RecursionError:
            pass

def after():
    return sum(len(str(i)) for i in range(300000))

def main():
    overflow()
    after()

main()
"#;

#[test]
fn run_keeps_recording_past_recursion_errors() {
    if !external("python3") {
        return;
    }
    let dir = workdir_with(&[("overflow.py", RECURSION_ERRORS)]);
    for p in pythons() {
        let folded = run_drawn(dir.path(), &p, &["--cpu", "-f", "log"], "overflow.py");
        // The work after the overflows is recorded, under main, and holds most of
        // the run: a recorder that stopped at either error would have none of it.
        let total: u64 = (folded.lines())
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
            .sum();
        let after = time_through(&folded, ":after");
        assert!(
            after as f64 > 0.5 * total as f64,
            "{p:?}: after {after} of {total}\n{folded}"
        );
        assert!(folded.contains(":main;"), "{p:?}\n{folded}");
        assert!(time_through(&folded, ":deep") > 0, "{p:?}\n{folded}");
        assert!(time_through(&folded, ":default") > 0, "{p:?}\n{folded}");
    }
}

/// A worker thread and the main thread call the same function, 20 and 10 times; then
/// the worker hashes, the GIL released, while main waits for it.
const THREADS: &str = r#"
import hashlib
import threading

def spin(n):
    return sum(len(str(i)) for i in range(n))

def digest():
    return hashlib.sha256(b"x" * 4000000).digest()

def worker():
    for _ in range(20):
        spin(2000)
    for _ in range(20):
        digest()

def main():
    t = threading.Thread(target=worker)
    t.start()
    for _ in range(10):
        spin(2000)
    t.join()

main()
"#;

#[test]
fn run_records_every_thread_each_on_its_own_paths() {
    if !external("python3") {
        return;
    }
    let dir = workdir_with(&[("threads.py", THREADS)]);
    for p in pythons() {
        let run = |format: &str, cpu: bool| {
            let cpu: &[&str] = if cpu { &["--cpu"] } else { &[] };
            run_drawn(
                dir.path(),
                &p,
                &[&["-f", format], cpu].concat(),
                "threads.py",
            )
        };
        // Every thread is recorded (from 3.12 as cProfile records them; before, where
        // cProfile records the main thread only, through the threads' start): the
        // worker's calls on the worker's own paths, never under main's.
        let stats = run("stats", false);
        let spin = (stats.lines())
            .find(|l| l.ends_with("(spin)"))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("{p:?}: no spin in\n{stats}"));
        assert_eq!(spin, "30", "{p:?}\n{stats}");
        let folded = run("log", false);
        let worker_spins = (folded.lines())
            .filter(|l| l.contains(":_bootstrap;") && l.contains(":worker;") && l.contains(":spin"))
            .count();
        assert!(worker_spins > 0, "{p:?}\n{folded}");
        assert!(
            !(folded.lines()).any(|l| l.contains(":main;") && l.contains(":worker")),
            "{p:?}\n{folded}"
        );
        // With --cpu each thread's calls count its own CPU time: main waiting in
        // join() while the worker hashes spends next to none (the process's CPU time
        // would give it the worker's, more than main's own spins).
        let cpu = run("log", true);
        let main_spins: u64 = (cpu.lines())
            .filter(|l| l.contains(":main;") && l.contains(":spin"))
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
            .sum();
        let join = time_through(&cpu, ":join");
        assert!(
            join * 20 < main_spins,
            "{p:?}: join {join}, main's spins {main_spins}\n{cpu}"
        );
    }
}

#[test]
fn render_options_apply_to_run() {
    if !external("python3") {
        return;
    }
    let dir = workdir();
    let p = &pythons()[0];
    let r = fp(
        dir.path(),
        &[
            "run",
            "--python",
            &py(p),
            "-o",
            "t.svg",
            "--width",
            "777",
            "--title",
            "My title",
            "prog.py",
        ],
        None,
    )
    .ok();
    let svg = std::fs::read_to_string(dir.path().join("t.svg")).unwrap();
    assert!(
        svg.contains("777") && svg.contains("My title"),
        "{}",
        r.describe()
    );
    // Default title: the program and its arguments.
    fp(
        dir.path(),
        &["run", "--python", &py(p), "-o", "d.svg", "prog.py", "arg1"],
        None,
    )
    .ok();
    let svg = std::fs::read_to_string(dir.path().join("d.svg")).unwrap();
    assert!(
        svg.contains("Flame graph of prog.py arg1"),
        "default title missing"
    );
    // Options given before the subcommand apply too.
    let all = fp(
        dir.path(),
        &[
            "-f",
            "log",
            "--threshold",
            "0",
            "run",
            "--python",
            &py(p),
            "prog.py",
        ],
        None,
    )
    .ok();
    let cut = fp(
        dir.path(),
        &[
            "-f",
            "log",
            "run",
            "--threshold",
            "50",
            "--python",
            &py(p),
            "prog.py",
        ],
        None,
    )
    .ok();
    let n = |r: &Run| split_output(&r.stdout_text()).1.len();
    assert!(
        n(&cut) < n(&all),
        "--threshold 50 kept {} of {} stacks",
        n(&cut),
        n(&all)
    );
    // Render options are validated before the program runs.
    let r = fp(
        dir.path(),
        &["run", "--python", &py(p), "--threshold", "200", "prog.py"],
        None,
    );
    assert_eq!(r.code(), 2, "{}", r.describe());
    assert!(
        !r.stdout_text().contains("argv="),
        "the program ran despite a usage error"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_program_and_renders_what_was_collected() {
    if !external("python3") {
        return;
    }
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    let dir = workdir();
    std::fs::write(
        dir.path().join("forever.py"),
        "import sys, time\n\ndef spin():\n    print('ready')\n    sys.stdout.flush()\n    while True:\n        time.sleep(0.01)\n\nspin()\n",
    )
    .unwrap();
    for p in pythons() {
        let _ = std::fs::remove_file(dir.path().join("int.log"));
        let mut child = bin()
            .args([
                "run",
                "--python",
                &py(&p),
                "-f",
                "log",
                "-o",
                "int.log",
                "forever.py",
            ])
            .current_dir(dir.path())
            .env_remove("VIRTUAL_ENV")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n", "{p:?}");
        // Like a terminal's Ctrl-C: SIGINT to the whole foreground process group.
        let pgid = format!("-{}", child.id());
        assert!(
            Command::new("kill")
                .args(["-INT", "--", &pgid])
                .status()
                .unwrap()
                .success()
        );
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        // Python 3.8+ dies of SIGINT after a KeyboardInterrupt (130); older ones exit 1.
        let expected = if p.version >= (3, 8) { 130 } else { 1 };
        assert_eq!(code, Some(expected), "{p:?}: {stderr}");
        assert!(stderr.contains("KeyboardInterrupt"), "{p:?}: {stderr}");
        let log = std::fs::read_to_string(dir.path().join("int.log")).unwrap_or_default();
        assert!(
            log.contains("forever.py:3:spin"),
            "{p:?}: nothing rendered after Ctrl-C: {stderr}\n{log}"
        );
    }
}

#[test]
fn errors_before_profiling_keep_python_s_status() {
    if !external("python3") {
        return;
    }
    let dir = workdir();
    let p = &pythons()[0];
    let r = fp(dir.path(), &["run", "--python", &py(p), "missing.py"], None);
    assert_eq!(
        r.code(),
        2,
        "python's status for a missing script\n{}",
        r.describe()
    );
    assert!(
        r.stderr().contains("can't open file") && r.stderr().contains("no profile was written"),
        "{}",
        r.describe()
    );
    let r = fp(
        dir.path(),
        &["run", "--python", &py(p), "-m", "no_such_module_xyz"],
        None,
    );
    assert_eq!(r.code(), 1, "{}", r.describe());
    assert!(
        r.stderr().contains("No module named no_such_module_xyz"),
        "{}",
        r.describe()
    );
    let r = fp(
        dir.path(),
        &["run", "--python", "/no/such/python", "prog.py"],
        None,
    );
    assert_eq!(r.code(), 127, "{}", r.describe());
    assert!(
        r.stderr().contains("'/no/such/python'") && r.stderr().contains("--python"),
        "{}",
        r.describe()
    );
}

#[cfg(unix)]
#[test]
fn default_interpreter_is_the_virtual_environment_s() {
    if !external("python3") {
        return;
    }
    let dir = workdir();
    let p = &pythons()[0];
    let real = Command::new(&p.path)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let real = String::from_utf8(real.stdout).unwrap().trim().to_string();
    let venv = dir.path().join("venv");
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    std::os::unix::fs::symlink(&real, venv.join("bin/python")).unwrap();
    let v = venv.display().to_string();
    let r = fp_env(
        dir.path(),
        &["run", "-f", "log", "prog.py"],
        None,
        &[("VIRTUAL_ENV", &v)],
    )
    .ok();
    assert!(
        r.stdout_text().contains("prog.py:4:work"),
        "{}",
        r.describe()
    );
    let r = fp_env(
        dir.path(),
        &["run", "prog.py"],
        None,
        &[("VIRTUAL_ENV", "/no/venv")],
    );
    assert_eq!(r.code(), 127, "{}", r.describe());
    assert!(
        r.stderr().contains("/no/venv/bin/python"),
        "{}",
        r.describe()
    );
}

#[test]
fn pytest_runs_through_run_m() {
    if !external("python3 with pytest") {
        return;
    }
    let dir = workdir();
    let tests = dir.path().join("suite");
    std::fs::create_dir_all(&tests).unwrap();
    std::fs::write(tests.join("test_small.py"), "def add(a, b):\n    return sum(range(a * 1000000)) + b\n\ndef test_add():\n    assert add(3, 2) > 3\n").unwrap();
    std::fs::write(
        tests.join("test_bad.py"),
        "def test_bad():\n    assert sum(range(3000000)) == 2\n",
    )
    .unwrap();
    // `python3` must have pytest (.ci/requirements.txt); other Pythons are tried too
    // when they have it.
    let all = pythons();
    assert!(
        has_module(&all[0], "pytest"),
        "pytest is not installed for {:?} (.ci/requirements.txt)",
        all[0]
    );
    let with_pytest: Vec<Python> = all
        .into_iter()
        .filter(|p| has_module(p, "pytest"))
        .collect();
    // `flameprof run -m pytest -q TARGET`, folded stacks to pytest.log.
    let pytest = |p: &Python, target: &str| {
        let python = py(p);
        let args = ["run", "--python", &python, "-f", "log", "-o", "pytest.log"];
        let pytest_args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", target];
        fp(dir.path(), &[&args[..], &pytest_args[..]].concat(), None)
    };
    for p in with_pytest {
        let r = pytest(&p, "suite/test_small.py").ok();
        assert!(
            r.stdout_text().contains("1 passed"),
            "{p:?}\n{}",
            r.describe()
        );
        let log = std::fs::read_to_string(dir.path().join("pytest.log")).unwrap();
        assert!(
            log.contains("test_small.py:4:test_add"),
            "{p:?}: the test function is in the profile"
        );
        let r = pytest(&p, "suite");
        assert_eq!(
            r.code(),
            1,
            "{p:?}: a failing suite's status passes through\n{}",
            r.describe()
        );
        assert!(
            std::fs::read_to_string(dir.path().join("pytest.log"))
                .unwrap()
                .contains("test_bad")
        );
    }
}

fn has_module(p: &Python, module: &str) -> bool {
    Command::new(&p.path)
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn subcommand_names_do_not_shadow_input_files() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["run", "man", "completions"] {
        std::fs::copy(data(SMALL), dir.path().join(name)).unwrap();
    }
    std::fs::copy(data(SMALL), dir.path().join("x.prof")).unwrap();
    let plain = fp(dir.path(), &["-f", "log", "x.prof"], None).ok();
    for name in ["run", "man", "completions"] {
        let dotted = fp(dir.path(), &["-f", "log", &format!("./{name}")], None).ok();
        assert_eq!(dotted.stdout(), plain.stdout(), "./{name} is a file");
        // After an INPUT, a subcommand name is another INPUT.
        let second = fp(dir.path(), &["-f", "log", "x.prof", name], None).ok();
        assert!(!second.stdout().is_empty(), "{}", second.describe());
    }
    let r = fp(dir.path(), &["-f", "log", "--cpu", "x.prof"], None);
    assert_eq!(
        r.code(),
        2,
        "--cpu without a program is a usage error\n{}",
        r.describe()
    );
    let r = fp(dir.path(), &["run"], None);
    assert_eq!(r.code(), 2, "run without a target\n{}", r.describe());
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = fp(dir.path(), &["completions", shell], None).ok();
        let text = r.stdout_text();
        for word in ["flameprof", "run", "threshold", "save-prof", "python"] {
            assert!(text.contains(word), "{shell} completions lack {word}");
        }
    }
    let r = fp(dir.path(), &["completions", "tcsh"], None);
    assert_eq!(r.code(), 2, "{}", r.describe());
    let man = fp(dir.path(), &["man"], None).ok().stdout_text();
    assert!(
        man.starts_with(".ie") || man.contains(".TH flameprof 1"),
        "{man}"
    );
    for word in ["\\-\\-threshold", "run", "completions"] {
        assert!(man.contains(word), "man page lacks {word}");
    }
    fp(dir.path(), &["man", "-o", "flameprof.1"], None).ok();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("flameprof.1")).unwrap(),
        man
    );
}
