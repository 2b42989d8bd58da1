//! Running the binary in tests: arguments, stdin fed from a thread, and failures that
//! show the command, its stdout and its stderr. Golden files with a bless variable. The
//! one switch for the tests that need tools beyond Rust.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The variable that turns on the tests needing tools beyond Rust (Chromium, Python 3
/// with pytest and jsonschema, jq, flamegraph.pl, inferno, speedscope's schema).
/// `.ci/run` sets it after installing them.
pub const EXTERNAL_TESTS: &str = "FLAMEPROF_EXTERNAL_TESTS";

/// Whether a test that needs `tools` runs. With `FLAMEPROF_EXTERNAL_TESTS=1` it does,
/// and a missing tool is the test's failure; otherwise it prints one line saying how
/// to run it, and the caller returns. So a plain `cargo test` needs only Rust.
pub fn external(tools: &str) -> bool {
    if std::env::var_os(EXTERNAL_TESTS).is_some_and(|v| v == "1") {
        return true;
    }
    let thread = std::thread::current();
    let test = thread.name().filter(|n| *n != "main").unwrap_or("a test");
    // Straight to the stream: the harness captures `eprintln!` of passing tests, and
    // this line is meant to be seen.
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test} (needs {tools}): {EXTERNAL_TESTS}=1 cargo test runs it"
    );
    false
}

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub struct Run {
    pub args: Vec<String>,
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> &[u8] {
        &self.output.stdout
    }
    pub fn stdout_text(&self) -> String {
        String::from_utf8(self.output.stdout.clone()).expect("stdout is UTF-8")
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    /// Asserts the run succeeded and returns itself.
    pub fn ok(self) -> Run {
        assert_eq!(self.code(), 0, "{}", self.describe());
        self
    }
    pub fn describe(&self) -> String {
        format!(
            "flameprof {:?}\nexit: {:?}\nstderr:\n{}\nstdout (first 500 bytes):\n{}",
            self.args,
            self.output.status,
            self.stderr(),
            String::from_utf8_lossy(&self.output.stdout[..self.output.stdout.len().min(500)])
        )
    }
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flameprof"))
}

/// Runs flameprof with `args` in `dir`, feeding `stdin` from a thread.
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    run_with_env(dir, args, stdin.as_deref(), &[("NO_COLOR", None)])
}

/// Runs flameprof with `args` in `dir` (`COLUMNS=100`), feeding `stdin` from a thread;
/// `env` sets variables, or removes them when the value is `None`.
pub fn run_with_env(
    dir: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, Option<&str>)],
) -> Run {
    let mut cmd = bin();
    cmd.args(args).current_dir(dir).env("COLUMNS", "100");
    for &(k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn flameprof");
    let feeder = stdin.map(|bytes| {
        let bytes = bytes.to_vec();
        let mut pipe = child.stdin.take().expect("stdin pipe");
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let output = child.wait_with_output().expect("wait for flameprof");
    if let Some(f) = feeder {
        f.join().expect("stdin feeder");
    }
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        output,
    }
}

pub fn run(args: &[&str]) -> Run {
    run_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, None)
}

/// Compares `actual` with the golden file at `path` (relative to the repo); creates it
/// when missing or when FLAMEPROF_BLESS=1.
pub fn golden(path: &str, actual: &[u8]) {
    let file = repo(path);
    let bless = std::env::var_os("FLAMEPROF_BLESS").is_some_and(|v| v == "1");
    if bless || !file.exists() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&file).unwrap();
    if expected != actual {
        let e = String::from_utf8_lossy(&expected);
        let a = String::from_utf8_lossy(actual);
        let line = e
            .lines()
            .zip(a.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(e.lines().count().min(a.lines().count()));
        panic!(
            "{path} is stale (first difference at line {}):\n  expected: {:?}\n  actual:   {:?}\nRe-bless with FLAMEPROF_BLESS=1 cargo test",
            line + 1,
            e.lines().nth(line),
            a.lines().nth(line)
        );
    }
}

/// Sums the values of folded-stack text.
pub fn folded_sum(text: &str) -> f64 {
    text.lines()
        .map(|l| {
            let (stack, v) = l.rsplit_once(' ').expect("folded line has a value");
            assert!(!stack.is_empty(), "empty stack in {l:?}");
            v.parse::<u64>()
                .unwrap_or_else(|_| panic!("integer value in {l:?}")) as f64
        })
        .sum()
}

/// The names in `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The name of every registered format: tests that cover "every format" iterate this,
/// so a new format is covered without editing them.
pub fn formats() -> Vec<&'static str> {
    flameprof::backend::registry()
        .iter()
        .map(|b| b.name)
        .collect()
}
