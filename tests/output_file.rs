//! Where flameprof's bytes go besides standard output: standard error (a full or
//! closed stderr never panics; warnings and errors show control characters escaped)
//! and `-o FILE` (mode, symlinks, read-only targets, devices and descriptors written in
//! place, temporaries that no signal or other user can leave behind or block).

use std::process::{Output, Stdio};

use crate::util::{bin, data};

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
