//! Where flameprof's bytes go besides standard output: standard error (a full or
//! closed stderr never panics; warnings and errors show control characters escaped)
//! and `-o FILE` (mode, symlinks, read-only targets, devices and descriptors written in
//! place, temporaries that no signal or other user can leave behind or block).

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::{bin, data, entries, external};

/// A profile that gives a warning (yappi's builtins keyed by module).
fn warns() -> String {
    data("pstats/real_yappi_threads_wall_builtins.prof")
        .to_string_lossy()
        .into_owned()
}

fn small() -> String {
    data("pstats/real_cprofile_small_py311.prof")
        .to_string_lossy()
        .into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs flameprof in `dir` with `args` and standard error going to `stderr`.
fn with_stderr(args: &[&str], stderr: impl Into<Stdio>) -> Output {
    bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .output()
        .expect("run flameprof")
}

#[test]
fn a_full_stderr_exits_1_without_a_panic() {
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full");
    if full().is_err() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    // A run that succeeds but cannot report its warning: exit 1, output complete.
    let out = with_stderr(&["-f", "log", &warns()], full().unwrap());
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(out.stdout.ends_with(b"\n") && out.stdout.len() > 1000);
    // An error that cannot be reported keeps its own exit code.
    let out = with_stderr(&["/nonexistent/x.prof"], full().unwrap());
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let out = with_stderr(&["--threshold", "200", &small()], full().unwrap());
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn a_closed_pipe_on_stderr_is_as_quiet_as_on_stdout() {
    let closed = || {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        writer
    };
    let out = with_stderr(&["-f", "log", &warns()], closed());
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(out.stdout.len() > 1000);
    let out = with_stderr(&["/nonexistent/x.prof"], closed());
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

/// A stats file with one yappi-style builtin whose module name holds an OSC sequence
/// (marshal: `{('ti\x1b]0;x\x07me', 0, 'sleep'): (1, 1, 0.5, 0.5, {})}`).
fn profile_with_control_characters() -> Vec<u8> {
    fn str_(out: &mut Vec<u8>, s: &str) {
        out.push(b'u');
        out.extend((s.len() as u32).to_le_bytes());
        out.extend(s.as_bytes());
    }
    fn int(out: &mut Vec<u8>, i: u32) {
        out.push(b'i');
        out.extend(i.to_le_bytes());
    }
    fn float(out: &mut Vec<u8>, f: f64) {
        out.push(b'g');
        out.extend(f.to_le_bytes());
    }
    let mut b = vec![b'{', b'('];
    b.extend(3u32.to_le_bytes());
    str_(&mut b, "ti\x1b]0;x\x07me");
    int(&mut b, 0);
    str_(&mut b, "sleep");
    b.push(b'(');
    b.extend(5u32.to_le_bytes());
    int(&mut b, 1);
    int(&mut b, 1);
    float(&mut b, 0.5);
    float(&mut b, 0.5);
    b.extend(b"{00");
    b
}

#[test]
fn warnings_and_errors_show_control_characters_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let prof = dir.path().join("yappi.prof");
    std::fs::write(&prof, profile_with_control_characters()).unwrap();
    let out = with_stderr(&["-f", "log", prof.to_str().unwrap()], Stdio::piped());
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert!(
        err.contains("e.g. ti\\x1b]0;x\\x07me:0(sleep)"),
        "{}",
        describe(&out)
    );
    assert!(!err.contains(['\x1b', '\x07']), "{err:?}");
    // Errors name the user's file, escaped too.
    let out = with_stderr(&["no\x1b[2Jpe\n.prof"], Stdio::piped());
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "flameprof: cannot read 'no\\x1b[2Jpe\\n.prof': no such file\n"
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// What `-f log` of [`small`] writes.
fn small_log() -> Vec<u8> {
    let out = with_stderr(&["-f", "log", &small()], Stdio::null());
    assert!(out.status.success() && out.stdout.len() > 100);
    out.stdout
}

/// `flameprof -f log -o OUT small` with `umask`, as `uid` (and its gid) if given, with
/// the portable temporary (no `O_TMPFILE`) if `named`.
fn write_out(out: &Path, umask: Option<u32>, uid: Option<u32>, named: bool) -> Output {
    let mut cmd = bin();
    cmd.args(["-f", "log", "-o"])
        .arg(out)
        .arg(small())
        .stdin(Stdio::null());
    if named {
        cmd.env("FLAMEPROF_NO_O_TMPFILE", "1");
    }
    // SAFETY: between fork and exec the closure only calls umask, setgroups, setgid
    // and setuid, which are async-signal-safe, on memory of its own.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(mask) = umask {
                libc::umask(mask as libc::mode_t);
            }
            if let Some(id) = uid
                && (libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(id) != 0
                    || libc::setuid(id) != 0)
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().expect("run flameprof")
}

#[test]
fn new_files_get_the_mode_the_umask_gives() {
    let dir = tempfile::tempdir().unwrap();
    for named in [false, true] {
        for (umask, want) in [(0o077, 0o600), (0o002, 0o664), (0o022, 0o644)] {
            let out = dir.path().join(format!("new-{umask:o}-{named}.log"));
            let r = write_out(&out, Some(umask), None, named);
            assert!(r.status.success(), "{}", describe(&r));
            assert_eq!(
                mode(&out),
                want,
                "umask {umask:03o}, named temporary: {named}"
            );
        }
    }
    assert!(entries(dir.path()).iter().all(|n| n.starts_with("new-")));
}

/// `flameprof run --save-prof` writes through the same path: its file follows the
/// umask too.
#[test]
fn saved_profiles_get_the_mode_the_umask_gives() {
    if !external("python3") {
        return;
    }
    let python_works = Command::new("python3")
        .args(["-c", "import cProfile"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(python_works, "python3 with cProfile is needed");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.py"), "x = sum(range(100))\n").unwrap();
    let mut cmd = bin();
    cmd.current_dir(dir.path())
        .args(["run", "--save-prof", "s.prof", "-o", "s.svg", "s.py"])
        .stdin(Stdio::null());
    // SAFETY: umask is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o077);
            Ok(())
        });
    }
    let r = cmd.output().unwrap();
    assert!(r.status.success(), "{}", describe(&r));
    assert_eq!(mode(&dir.path().join("s.prof")), 0o600);
    assert_eq!(mode(&dir.path().join("s.svg")), 0o600);
}

#[test]
fn a_replaced_file_keeps_its_mode_without_setuid_setgid_or_sticky() {
    let dir = tempfile::tempdir().unwrap();
    for named in [false, true] {
        for (before, after) in [
            (0o6755, 0o755),
            (0o1640, 0o640),
            (0o4600, 0o600),
            (0o640, 0o640),
        ] {
            let out = dir.path().join(format!("old-{before:o}-{named}.log"));
            std::fs::write(&out, "previous\n").unwrap();
            std::fs::set_permissions(&out, std::fs::Permissions::from_mode(before)).unwrap();
            let r = write_out(&out, Some(0o022), None, named);
            assert!(r.status.success(), "{}", describe(&r));
            assert_eq!(std::fs::read(&out).unwrap(), small_log());
            assert_eq!(
                mode(&out),
                after,
                "was {before:o}, named temporary: {named}"
            );
        }
    }
}

/// A file the user could not open for writing is not replaced, even in a directory
/// the user may write. The tests run as root in CI, and root may write any file: there
/// the run is made as `nobody` (uid 65534) on a file of root's; as root, a 0444 file is
/// replaced (and stays 0444), as `>` would overwrite it.
#[test]
fn a_file_the_user_cannot_write_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = dir.path().join("theirs.log");
    std::fs::write(&out, "previous\n").unwrap();
    // SAFETY: geteuid only reads the process's credentials.
    let root = unsafe { libc::geteuid() } == 0;
    let r = if root {
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_out(&out, None, Some(65534), false)
    } else {
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o444)).unwrap();
        write_out(&out, None, None, false)
    };
    assert_eq!(r.status.code(), Some(1), "{}", describe(&r));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.starts_with(&format!("flameprof: cannot write '{}': ", out.display()))
            && err.contains("ermission denied"),
        "{err}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"previous\n");
    assert_eq!(entries(dir.path()), ["theirs.log"]);
    if root {
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o444)).unwrap();
        let r = write_out(&out, None, None, false);
        assert!(r.status.success(), "{}", describe(&r));
        assert_eq!(std::fs::read(&out).unwrap(), small_log());
        assert_eq!(mode(&out), 0o444);
    }
}

#[test]
fn a_symlink_is_followed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(b.join("sub")).unwrap();
    // a/link.log -> ../b/mid.log -> sub/real.log (relative to b, not to a).
    std::fs::write(b.join("sub/real.log"), "previous\n").unwrap();
    std::os::unix::fs::symlink("sub/real.log", b.join("mid.log")).unwrap();
    std::os::unix::fs::symlink("../b/mid.log", a.join("link.log")).unwrap();
    // A dangling link: the file it names is created.
    std::os::unix::fs::symlink(b.join("sub/new.log"), a.join("dangling.log")).unwrap();
    for named in [false, true] {
        for link in ["link.log", "dangling.log"] {
            let r = write_out(&a.join(link), None, None, named);
            assert!(r.status.success(), "{link}: {}", describe(&r));
            let kind = std::fs::symlink_metadata(a.join(link)).unwrap().file_type();
            assert!(kind.is_symlink(), "{link} was replaced by {kind:?}");
        }
        assert!(
            std::fs::symlink_metadata(b.join("mid.log"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(b.join("sub/real.log")).unwrap(), small_log());
        assert_eq!(std::fs::read(b.join("sub/new.log")).unwrap(), small_log());
        assert_eq!(entries(&a), ["dangling.log", "link.log"]);
        assert_eq!(entries(&b), ["mid.log", "sub"]);
        assert_eq!(entries(&b.join("sub")), ["new.log", "real.log"]);
        std::fs::remove_file(b.join("sub/new.log")).unwrap();
    }
    fifo_behind_a_symlink();
}

/// A FIFO behind a symlink is still written in place.
fn fifo_behind_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    if !Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: mkfifo not available");
        return;
    }
    std::os::unix::fs::symlink("pipe", dir.path().join("link")).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).expect("read fifo"))
    };
    let r = write_out(&dir.path().join("link"), None, None, false);
    assert!(r.status.success(), "{}", describe(&r));
    assert_eq!(reader.join().unwrap(), small_log());
    let kind = |name: &str| {
        std::fs::symlink_metadata(dir.path().join(name))
            .unwrap()
            .file_type()
    };
    assert!(kind("pipe").is_fifo() && kind("link").is_symlink());
    assert_eq!(entries(dir.path()), ["link", "pipe"]);
}

/// Runs `-f log -o target small` with standard output going to `stdout`.
fn to_descriptor(target: &str, stdout: impl Into<Stdio>) -> Output {
    bin()
        .args(["-f", "log", "-o", target, &small()])
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run flameprof")
}

/// `-o /dev/stdout` (a symlink to `/proc/self/fd/1`) with standard output redirected to
/// a file must write that descriptor, not rename a temporary over `/dev/stdout`: that
/// would replace the machine's `/dev/stdout` with a regular file. So the names that
/// cannot break anything are tried first, and `/dev/stdout` only once they pass; if it
/// is broken all the same, it is restored before the test fails.
#[test]
fn descriptors_are_written_in_place_at_their_offset() {
    let dev_stdout = Path::new("/dev/stdout");
    let is_link =
        || std::fs::symlink_metadata(dev_stdout).is_ok_and(|m| m.file_type().is_symlink());
    let dir = tempfile::tempdir().unwrap();
    let want = small_log();
    let mut names = vec!["/proc/self/fd/1", "/dev/fd/1"];
    if is_link() {
        names.push("/dev/stdout");
    } else {
        eprintln!("/dev/stdout is not a symlink here: not tried");
    }
    for name in names {
        if !Path::new(name).exists() {
            eprintln!("skipped: no {name}");
            continue;
        }
        // Standard output appending to a file that already holds a line, as
        // `{ echo previous; flameprof -o /dev/stdout ...; } > file` gives.
        let file = dir.path().join("stdout.txt");
        std::fs::write(&file, "previous\n").unwrap();
        let append = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        let r = to_descriptor(name, append);
        if name == "/dev/stdout" && !is_link() {
            let _ = std::fs::remove_file(dev_stdout);
            std::os::unix::fs::symlink("/proc/self/fd/1", dev_stdout).unwrap();
            panic!(
                "-o /dev/stdout replaced /dev/stdout (restored): {}",
                describe(&r)
            );
        }
        assert!(r.status.success(), "-o {name}: {}", describe(&r));
        let got = std::fs::read(&file).unwrap();
        assert_eq!(got[..9], *b"previous\n", "-o {name}");
        assert!(got[9..] == want, "-o {name}: {} bytes", got.len());
        assert_eq!(entries(dir.path()), ["stdout.txt"]);

        // A socket cannot be opened through /proc: its descriptor is written.
        let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            ours.read_to_end(&mut got).map(|_| got)
        });
        let r = to_descriptor(name, std::os::fd::OwnedFd::from(theirs));
        assert!(
            r.status.success(),
            "-o {name} to a socket: {}",
            describe(&r)
        );
        assert!(
            reader.join().unwrap().unwrap() == want,
            "-o {name} to a socket"
        );
    }
}

/// With a named temporary (no `O_TMPFILE`), SIGTERM, SIGINT or SIGHUP mid-write removes
/// it and the process still dies of the signal; the previous output is untouched.
#[test]
fn a_signal_mid_write_removes_the_named_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: reads this process's disposition of `signal` into a zeroed struct.
        let ignored = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signal, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
        };
        if ignored {
            eprintln!("skipped signal {signal}: ignored by the test process (and so inherited)");
            continue;
        }
        let mut caught = false;
        for _attempt in 0..5 {
            std::fs::write(&out, "previous\n").unwrap();
            let mut child = bin()
                .args(["-f", "log", "--threshold", "0", "-o"])
                .arg(&out)
                .arg(data("real/pylint.prof"))
                .env("FLAMEPROF_NO_O_TMPFILE", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let start = Instant::now();
            let mut writing = false;
            while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(20) {
                if entries(dir.path())
                    .iter()
                    .any(|n| n.starts_with(".flameprof-"))
                {
                    writing = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            if writing {
                // SAFETY: signals our own child, still running (not yet waited for).
                unsafe { libc::kill(child.id() as libc::pid_t, signal) };
            }
            let status = child.wait().unwrap();
            if status.success() {
                // Finished before it was seen writing: try again.
                continue;
            }
            assert_eq!(status.signal(), Some(signal), "{status:?}");
            assert_eq!(std::fs::read(&out).unwrap(), b"previous\n");
            assert_eq!(entries(dir.path()), ["out.log"], "after signal {signal}");
            caught = true;
            break;
        }
        assert!(caught, "never caught flameprof writing (signal {signal})");
    }
}
