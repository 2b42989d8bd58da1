//! `flameprof run` as a well-behaved process: the program's exit status survives a
//! closed output pipe; SIGTERM, SIGHUP and SIGKILL of flameprof stop the program and
//! leave no readable profile behind; forked children of the program do not write the
//! profile. Uses `python3` from PATH, like `run.rs`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::run::{py, pythons};
use crate::util::bin;

/// Longest a test waits for anything: far more than any step takes on a busy machine,
/// and a failure rather than a hang when something does not happen.
const PATIENCE: Duration = Duration::from_secs(60);

/// What a finished flameprof left: its status, stdout and stderr.
struct Ended {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Ended {
    fn describe(&self) -> String {
        format!(
            "exit: {:?}\nstderr:\n{}\nstdout (first 500 bytes):\n{}",
            self.status,
            self.stderr,
            &self.stdout[..self.stdout.len().min(500)]
        )
    }
}

/// Waits for `child` at most [`PATIENCE`], reading whichever of its stdout and stderr
/// are piped; kills it and fails on timeout.
fn wait_bounded(mut child: Child) -> Ended {
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("flameprof did not end within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // A leftover grandchild holding the pipes open would block the readers: bounded too.
    let join = |h: std::thread::JoinHandle<String>, what: &str| {
        while !h.is_finished() {
            assert!(
                start.elapsed() < PATIENCE,
                "{what} stayed open after flameprof ended (a process ran on)"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        h.join().unwrap()
    };
    Ended {
        status,
        stdout: join(out, "stdout"),
        stderr: join(err, "stderr"),
    }
}

/// Polls `what` every 10 ms until it holds, failing after [`PATIENCE`].
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn python3() -> String {
    py(&pythons()[0])
}

/// The temporary directories flameprof made under `tmp` (its TMPDIR in these tests).
fn run_dirs(tmp: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("flameprof-run-"))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

#[test]
fn a_closed_output_pipe_does_not_hide_the_program_s_status() {
    let dir = tempfile::tempdir().unwrap();
    let python = python3();
    let cases = [
        ("import sys\nsys.exit(3)\n", 3),
        ("raise ValueError('boom')\n", 1),
        ("x = sum(range(1000))\n", 0),
    ];
    for (i, (source, expected)) in cases.into_iter().enumerate() {
        let script = format!("p{i}.py");
        std::fs::write(dir.path().join(&script), source).unwrap();
        for format in ["log", "svg"] {
            let mut child = bin()
                .args(["run", "--python", &python, "-f", format, &script])
                .current_dir(dir.path())
                .env_remove("VIRTUAL_ENV")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // The reader is gone before anything is written, like `| true`, or `| head
            // -c1` on an output longer than a pipe holds.
            drop(child.stdout.take());
            let end = wait_bounded(child);
            assert_eq!(
                end.status.code(),
                Some(expected),
                "-f {format}, {source:?}\n{}",
                end.describe()
            );
            assert!(
                !end.stderr.contains("flameprof:"),
                "-f {format}, {source:?}: a closed pipe is not an error\n{}",
                end.describe()
            );
        }
    }
}
