//! `flameprof run` as a well-behaved process: the program's exit status survives a
//! closed output pipe; SIGTERM, SIGHUP and SIGKILL of flameprof stop the program and
//! leave no readable profile behind; forked children of the program do not write the
//! profile. Uses `python3` from PATH, like `run.rs`, with FLAMEPROF_EXTERNAL_TESTS=1.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::run::{py, pythons};
use crate::util::{bin, external};

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
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("flameprof-run-")
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// `flameprof run ARGS` in `dir`, outside any virtual environment, its output piped.
fn spawn_run(dir: &Path, args: &[&str]) -> Child {
    run_command(dir, args).spawn().unwrap()
}

/// [`spawn_run`] with `TMPDIR` set to `tmp`.
fn spawn_run_with_tmp(dir: &Path, args: &[&str], tmp: &Path) -> Child {
    run_command(dir, args).env("TMPDIR", tmp).spawn().unwrap()
}

fn run_command(dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = bin();
    command
        .arg("run")
        .args(args)
        .current_dir(dir)
        .env_remove("VIRTUAL_ENV")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn a_closed_output_pipe_does_not_hide_the_program_s_status() {
    if !external("python3") {
        return;
    }
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
            let mut child = spawn_run(dir.path(), &["--python", &python, "-f", format, &script]);
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

/// A program whose child, forked with os.fork, ends through the bootstrap after the
/// parent wrote its profile (`return`: falls off the end of the script; `exit`:
/// sys.exit(0); `late`: after the parent has exited), or one that starts a
/// multiprocessing child with the fork start method (`mp`).
const FORKING: &str = r#"
import atexit, os, sys

def child_work():
    return sum(i * i for i in range(200000))

def parent_work():
    return sum(i for i in range(100000))

def main(how):
    if how == "mp":
        import multiprocessing
        p = multiprocessing.get_context("fork").Process(target=child_work)
        p.start()
        p.join()
        parent_work()
        return
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        child_work()
        os.read(r, 1)  # until the parent has written its profile, or exited
        if how == "exit":
            sys.exit(0)
        return
    os.close(r)
    parent_work()

    def release():
        # atexit runs after the bootstrap has written the parent's profile.
        if how != "late":
            os.write(w, b"x")
            os.waitpid(pid, 0)

    atexit.register(release)

main(sys.argv[1])
"#;

#[test]
fn forked_children_do_not_write_the_profile() {
    if !external("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("forking.py"), FORKING).unwrap();
    // The functions and their call counts, in -f stats: the same on every run, unlike
    // timings.
    let calls = |python: &str, how: &str| {
        let out = format!("{how}.txt");
        let _ = std::fs::remove_file(dir.path().join(&out));
        let args = [
            "--python",
            python,
            "-f",
            "stats",
            "-o",
            &out,
            "forking.py",
            how,
        ];
        let child = spawn_run(dir.path(), &args);
        let end = wait_bounded(child);
        let what = format!("{python} forking.py {how}");
        assert_eq!(end.status.code(), Some(0), "{what}\n{}", end.describe());
        assert!(
            end.stderr.is_empty(),
            "{what}: a child wrote on stderr\n{}",
            end.describe()
        );
        let table = std::fs::read_to_string(dir.path().join(&out)).unwrap();
        assert!(
            table.contains("(parent_work)") && !table.contains("(child_work)"),
            "{what}: not the parent's profile\n{table}\n{}",
            end.describe()
        );
        let mut calls: Vec<String> = table
            .lines()
            .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                let mut name = words.get(5..).unwrap_or_default().join(" ");
                // `{built-in method __new__ of type object at 0x7f...}`: an address.
                if let Some(at) = name.find(" at 0x") {
                    name.truncate(at);
                }
                format!("{} {name}", words[0])
            })
            .collect();
        calls.sort();
        calls
    };
    for p in pythons() {
        let python = py(&p);
        let first = calls(&python, "return");
        let second = calls(&python, "return");
        let only = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|x| !b.contains(x)).cloned().collect()
        };
        assert!(
            first == second,
            "{p:?}: the same functions and calls on every run; only in the first: {:?}; only in the second: {:?}",
            only(&first, &second),
            only(&second, &first)
        );
        for how in ["exit", "late", "mp"] {
            calls(&python, how);
        }
    }
}

/// Writes its pid to the file named by its first argument, then waits to be stopped.
#[cfg(target_os = "linux")]
const SLEEPER: &str = r#"
import os, sys, time

def wait():
    while True:
        time.sleep(0.02)

with open(sys.argv[1] + ".part", "w") as f:
    f.write(str(os.getpid()))
os.rename(sys.argv[1] + ".part", sys.argv[1])
wait()
"#;

/// Whether process `pid` has ended (a zombie waiting for its new parent counts).
#[cfg(target_os = "linux")]
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// flameprof running [`SLEEPER`], and the program's pid: whatever a failing test
/// leaves running is killed.
#[cfg(target_os = "linux")]
struct Sleeper {
    flameprof: Option<Child>,
    program: i32,
    tmp: PathBuf,
}

#[cfg(target_os = "linux")]
impl Drop for Sleeper {
    fn drop(&mut self) {
        if let Some(mut c) = self.flameprof.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if self.program > 0 && !gone(self.program) {
            // SAFETY: plain kill(2) of the test's own grandchild.
            unsafe {
                libc::kill(self.program, libc::SIGKILL);
            }
        }
    }
}

/// Starts `flameprof run` on [`SLEEPER`] with TMPDIR under `dir`, and waits until the
/// program runs; flameprof's temporary directory must then be private.
#[cfg(target_os = "linux")]
fn start_sleeper(dir: &Path) -> Sleeper {
    std::fs::write(dir.join("sleeper.py"), SLEEPER).unwrap();
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let pid_file = dir.join("pid");
    let _ = std::fs::remove_file(&pid_file);
    let python = python3();
    let pid_arg = pid_file.to_str().unwrap();
    let args = ["--python", &python, "-f", "log", "sleeper.py", pid_arg];
    let child = spawn_run_with_tmp(dir, &args, &tmp);
    let mut sleeper = Sleeper {
        flameprof: Some(child),
        program: 0,
        tmp,
    };
    eventually("the program has started", || {
        sleeper.program = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        sleeper.program > 0
    });
    let dirs = run_dirs(&sleeper.tmp);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert_private(&dirs[0], 0o700);
    sleeper
}

#[cfg(unix)]
fn assert_private(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let actual = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(actual, mode, "{}: mode {actual:o}", path.display());
}

/// Whether `sig` is ignored in this process (and so in the flameprof it starts).
#[cfg(target_os = "linux")]
fn ignored_here(sig: libc::c_int) -> bool {
    // SAFETY: sigaction reading the current disposition into a zeroed struct.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_and_sighup_stop_the_program_and_remove_the_temporary_directory() {
    if !external("python3") {
        return;
    }
    use std::os::unix::process::ExitStatusExt;
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        if ignored_here(sig) {
            // Under nohup flameprof keeps SIGHUP ignored, as documented: nothing to see.
            eprintln!("signal {sig} is ignored in this test process: not sent");
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut sleeper = start_sleeper(dir.path());
        let flameprof = sleeper.flameprof.take().unwrap();
        // SAFETY: kill(2) of the flameprof this test started.
        assert_eq!(unsafe { libc::kill(flameprof.id() as i32, sig) }, 0);
        let end = wait_bounded(flameprof);
        assert!(
            end.status.signal() == Some(sig) || end.status.code() == Some(128 + sig),
            "signal {sig}\n{}",
            end.describe()
        );
        assert!(gone(sleeper.program), "signal {sig}: the program runs on");
        assert_eq!(
            run_dirs(&sleeper.tmp),
            Vec::<PathBuf>::new(),
            "signal {sig}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn sigkill_of_flameprof_does_not_leave_the_program_running() {
    if !external("python3") {
        return;
    }
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let mut sleeper = start_sleeper(dir.path());
    let mut flameprof = sleeper.flameprof.take().unwrap();
    flameprof.kill().unwrap();
    assert_eq!(flameprof.wait().unwrap().signal(), Some(libc::SIGKILL));
    eventually("the program has ended", || gone(sleeper.program));
    // What SIGKILL leaves behind: the private directory, with no profile in it.
    for d in run_dirs(&sleeper.tmp) {
        assert_private(&d, 0o700);
        assert!(!d.join("profile.prof").exists() && !d.join("stacks").exists());
    }
}

/// The profile on its way to flameprof is the user's only; and a program that cannot
/// be started leaves no directory behind.
#[cfg(unix)]
#[test]
fn the_profile_is_kept_private() {
    if !external("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // atexit runs after the bootstrap has written the profile.
    let script = r#"
import atexit, glob, os, stat

def show():
    for d in glob.glob(os.path.join(os.environ["TMPDIR"], "flameprof-run-*")):
        for p in [d] + glob.glob(os.path.join(d, "*")):
            print("%s %o" % (os.path.basename(p).split("-")[0], stat.S_IMODE(os.stat(p).st_mode)))

atexit.register(show)
"#;
    std::fs::write(dir.path().join("show.py"), script).unwrap();
    let python = python3();
    let run = |python: &str| {
        let args = ["--python", python, "-f", "log", "-o", "x.log", "show.py"];
        let child = spawn_run_with_tmp(dir.path(), &args, &tmp);
        wait_bounded(child)
    };
    let end = run(&python);
    assert_eq!(end.status.code(), Some(0), "{}", end.describe());
    let mut lines: Vec<&str> = end.stdout.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        // The call paths recorded in cProfile's place (`stacks`) are the profile.
        ["flameprof 700", "recorder.so 600", "stacks 600"],
        "{}",
        end.describe()
    );
    assert_eq!(run_dirs(&tmp), Vec::<PathBuf>::new());

    let end = run("/no/such/python");
    assert_eq!(end.status.code(), Some(127), "{}", end.describe());
    assert_eq!(run_dirs(&tmp), Vec::<PathBuf>::new());
}
