//! Faults around the pipeline: `-o` killed mid-write, a full disk, an unwritable
//! directory, a FIFO as output, a terminal as standard input, unreadable inputs.
//! The previous output must survive every failure, with no temporary left behind.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{bin, data, entries, run_in};

/// A profile that takes a while to render (`-f log --threshold 0`, debug build).
fn slow_input() -> std::path::PathBuf {
    data("real/pylint.prof")
}

#[test]
fn sigkill_mid_write_leaves_the_previous_output_and_no_temporary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.folded");
    std::fs::write(&out, b"previous\n").unwrap();
    let mut killed_while_running = 0;
    for delay_ms in [30u64, 120, 400] {
        let mut child = bin()
            .args(["-f", "log", "--threshold", "0", "-o"])
            .arg(&out)
            .arg(slow_input())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().expect("try_wait").is_none() {
            killed_while_running += 1;
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        if status.success() {
            // Finished before the kill: the new output replaced the old one whole.
            assert!(std::fs::read(&out).unwrap().len() > 1000);
            std::fs::write(&out, b"previous\n").unwrap();
        } else {
            assert_eq!(
                std::fs::read(&out).unwrap(),
                b"previous\n",
                "after {delay_ms} ms"
            );
        }
        assert_eq!(entries(dir.path()), ["out.folded"], "after {delay_ms} ms");
    }
    assert!(
        killed_while_running > 0,
        "every run finished before the kill"
    );
}

/// A tmpfs of 64 KiB, when this test runs as root and may mount; `None` otherwise.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(options: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn remount(&self, options: &str) -> bool {
        Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_the_previous_output() {
    let Some(disk) = SmallDisk::mount("size=64k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let out = disk.path().join("out.folded");
    std::fs::write(&out, b"previous\n").unwrap();
    let input = slow_input();
    let r = run_in(
        disk.path(),
        &[
            "-f",
            "log",
            "--threshold",
            "0",
            "-o",
            "out.folded",
            input.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code(), 1, "{}", r.describe());
    assert!(
        r.stderr().contains("cannot write 'out.folded'") && r.stderr().contains("space"),
        "{}",
        r.describe()
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"previous\n");
    assert_eq!(entries(disk.path()), ["out.folded"]);
}

#[test]
fn an_unwritable_directory_fails_cleanly_and_keeps_the_previous_output() {
    let Some(disk) = SmallDisk::mount("size=1m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let out = disk.path().join("out.svg");
    std::fs::write(&out, b"previous\n").unwrap();
    assert!(disk.remount("ro"), "remount read-only");
    let fixture = data("pstats/real_cprofile_small_py311.prof");
    let r = run_in(
        disk.path(),
        &["-o", "out.svg", fixture.to_str().unwrap()],
        None,
    );
    assert_eq!(r.code(), 1, "{}", r.describe());
    assert!(
        r.stderr()
            .starts_with("flameprof: cannot write 'out.svg': "),
        "{}",
        r.describe()
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"previous\n");
    assert_eq!(entries(disk.path()), ["out.svg"]);
}

#[test]
fn a_missing_output_directory_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = data("pstats/real_cprofile_small_py311.prof");
    let r = run_in(
        dir.path(),
        &["-o", "no/such/dir/out.svg", fixture.to_str().unwrap()],
        None,
    );
    assert_eq!(r.code(), 1, "{}", r.describe());
    assert!(
        r.stderr()
            .starts_with("flameprof: cannot write 'no/such/dir/out.svg': "),
        "{}",
        r.describe()
    );
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_fifo_as_output_is_written_in_place_not_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo not available");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).expect("read fifo"))
    };
    let fixture = data("pstats/real_cprofile_small_py311.prof");
    let r = run_in(
        dir.path(),
        &["-f", "log", "-o", "pipe", fixture.to_str().unwrap()],
        None,
    );
    assert_eq!(r.code(), 0, "{}", r.describe());
    let got = reader.join().expect("reader");
    assert!(String::from_utf8(got).unwrap().contains(";"));
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced by {kind:?}");
    assert_eq!(entries(dir.path()), ["pipe"]);
}

#[test]
fn a_terminal_on_stdin_gets_a_message_not_a_silent_wait() {
    // `script` runs flameprof with a pseudo-terminal as its standard input.
    let exe = env!("CARGO_BIN_EXE_flameprof");
    let out = Command::new("timeout")
        .args(["20", "script", "-qec", exe, "/dev/null"])
        .stdin(Stdio::null())
        .output();
    let Ok(out) = out else {
        eprintln!("skipped: script(1) or timeout(1) not available");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("script: ") && !text.contains("flameprof") {
        eprintln!("skipped: script(1) could not open a pty: {text}");
        return;
    }
    assert_ne!(
        out.status.code(),
        Some(124),
        "flameprof waited on the terminal"
    );
    assert!(
        text.contains("flameprof: cannot read '<stdin>': standard input is a terminal"),
        "{text:?}"
    );
}

#[test]
fn read_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("adir")).unwrap();
    for (arg, want) in [
        (
            "nope.prof",
            "flameprof: cannot read 'nope.prof': no such file",
        ),
        ("adir", "flameprof: cannot read 'adir': "),
    ] {
        let r = run_in(dir.path(), &[arg], None);
        assert_eq!(r.code(), 1, "{}", r.describe());
        assert!(r.stderr().starts_with(want), "{}", r.describe());
        assert_eq!(r.stderr().lines().count(), 1, "{}", r.describe());
    }
}

/// A data limit (`ulimit -d`) of 16 or 24 MB, a few times what pip_list needs: the
/// allocator's policy (`flameprof::heap`) must not ask for memory in steps a limit can
/// refuse, and the run gives the same output as without a limit.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_data_limit_below_the_heap_step_still_renders() {
    use std::os::unix::process::CommandExt;
    let input = data("real/pip_list.prof");
    let unlimited = bin().arg(&input).output().expect("run");
    assert!(unlimited.status.success());
    for limit_mb in [16u64, 24] {
        let mut cmd = bin();
        cmd.arg(&input);
        let bytes = limit_mb << 20;
        // SAFETY: between fork and exec the closure only calls setrlimit, which is
        // async-signal-safe, on memory of its own.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(libc::RLIMIT_DATA, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let limited = cmd.output().expect("run");
        assert!(
            limited.status.success(),
            "under a {limit_mb} MB data limit: {:?}\n{}",
            limited.status,
            String::from_utf8_lossy(&limited.stderr)
        );
        assert!(
            limited.stdout == unlimited.stdout,
            "{limit_mb} MB: output differs"
        );
    }
}
