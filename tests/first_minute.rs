//! The first minute of a Python user: an SVG never poured into a terminal, the format
//! taken from `-o`'s extension, negative numbers reaching validation, a cut file called
//! truncated, a man page with examples whose references exist, and a recursion warning
//! that names the functions.

use std::io::Read;
use std::path::Path;
use std::process::{Output, Stdio};

use crate::util::{Run, bin, data, external, run_in};

const SMALL: &str = "pstats/real_cprofile_small_py311.prof";

/// A temporary directory holding the small fixture as `app.prof`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(data(SMALL), dir.path().join("app.prof")).unwrap();
    dir
}

/// Runs flameprof in `dir` with standard output a pseudo-terminal, standard error a
/// pipe and `stdin` (or nothing) on standard input. Returns what reached the terminal.
#[cfg(unix)]
fn on_terminal(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> (Vec<u8>, Run) {
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors it opened into the pointers given; the
    // name, termios and window size are optional and left null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are open and owned by nothing else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = bin();
    cmd.args(args)
        .current_dir(dir)
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env_remove("VIRTUAL_ENV")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn flameprof");
    // The command holds the slave end until dropped: the master reads EOF (EIO) only
    // once the child's copy is the last one and it has exited.
    drop(cmd);
    // Read the terminal while the child writes: a full terminal buffer would block it.
    let reader = std::thread::spawn(move || {
        let mut master = std::fs::File::from(master);
        let mut got = Vec::new();
        let mut buf = [0u8; 1 << 14];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(&bytes);
        });
    }
    let output: Output = child.wait_with_output().expect("wait for flameprof");
    let tty = reader.join().unwrap();
    let run = Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        output,
    };
    (tty, run)
}

const TERMINAL_NOTE: &str = "(standard output is a terminal; use -o FILE or a pipe)";

#[cfg(unix)]
#[test]
fn an_svg_for_a_terminal_goes_to_a_file_named_after_the_input() {
    let dir = workdir();
    let piped = run_in(dir.path(), &["app.prof"], None).ok();
    let (tty, r) = on_terminal(dir.path(), &["app.prof"], None);
    assert_eq!(r.code(), 0, "{}", r.describe());
    assert!(tty.is_empty(), "the terminal got {} bytes", tty.len());
    assert_eq!(
        r.stderr(),
        format!("flameprof: wrote app.svg {TERMINAL_NOTE}\n")
    );
    assert_eq!(
        std::fs::read(dir.path().join("app.svg")).unwrap(),
        piped.stdout(),
        "the file holds what a pipe gets"
    );

    // Next to the input, wherever it is; an input named .svg is never replaced.
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::copy(data(SMALL), dir.path().join("sub/odd.svg")).unwrap();
    let (_, r) = on_terminal(dir.path(), &["sub/odd.svg"], None);
    assert_eq!(
        r.stderr(),
        format!("flameprof: wrote sub/odd.svg.svg {TERMINAL_NOTE}\n")
    );
    assert_eq!(
        std::fs::read(dir.path().join("sub/odd.svg")).unwrap(),
        std::fs::read(data(SMALL)).unwrap()
    );

    // Standard input, or several inputs: flameprof.svg here.
    let bytes = std::fs::read(data(SMALL)).unwrap();
    let (tty, r) = on_terminal(dir.path(), &[], Some(bytes));
    assert!(tty.is_empty() && r.code() == 0, "{}", r.describe());
    assert_eq!(
        r.stderr(),
        format!("flameprof: wrote flameprof.svg {TERMINAL_NOTE}\n")
    );
    std::fs::remove_file(dir.path().join("flameprof.svg")).unwrap();
    let (_, r) = on_terminal(dir.path(), &["app.prof", "sub/odd.svg"], None);
    assert!(
        r.stderr().contains("wrote flameprof.svg"),
        "{}",
        r.describe()
    );
    assert!(dir.path().join("flameprof.svg").is_file());
}

#[cfg(unix)]
#[test]
fn a_diff_on_a_terminal_is_text_and_its_svg_goes_to_diff_svg() {
    let dir = workdir();
    let (tty, r) = on_terminal(dir.path(), &["diff", "app.prof", "app.prof"], None);
    assert_eq!(r.code(), 0, "{}", r.describe());
    assert!(String::from_utf8_lossy(&tty).starts_with("Diff of app.prof"));
    let piped = run_in(
        dir.path(),
        &["diff", "-f", "svg", "app.prof", "app.prof"],
        None,
    )
    .ok();
    let (tty, r) = on_terminal(
        dir.path(),
        &["diff", "-f", "svg", "app.prof", "app.prof"],
        None,
    );
    assert!(tty.is_empty() && r.code() == 0, "{}", r.describe());
    assert_eq!(
        r.stderr(),
        format!("flameprof: wrote diff.svg {TERMINAL_NOTE}\n")
    );
    assert_eq!(
        std::fs::read(dir.path().join("diff.svg")).unwrap(),
        piped.stdout()
    );
}

#[cfg(unix)]
#[test]
fn text_formats_and_out_still_go_where_they_went() {
    let dir = workdir();
    let (tty, r) = on_terminal(dir.path(), &["-f", "text", "app.prof"], None);
    assert_eq!(r.code(), 0, "{}", r.describe());
    assert!(String::from_utf8_lossy(&tty).contains("all (107 functions)"));
    assert!(r.stderr().is_empty(), "{}", r.describe());
    let (tty, r) = on_terminal(dir.path(), &["-o", "x.svg", "app.prof"], None);
    assert!(tty.is_empty() && r.stderr().is_empty(), "{}", r.describe());
    assert_eq!(
        crate::util::entries(dir.path()),
        ["app.prof", "x.svg"],
        "only -o's file is written"
    );
}

#[cfg(unix)]
#[test]
fn run_on_a_terminal_writes_the_svg_named_after_the_script() {
    if !external("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tools")).unwrap();
    std::fs::write(
        dir.path().join("tools/app.py"),
        "print('hello')\nsum(range(1000))\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("mymod.py"), "x = sorted(range(100))\n").unwrap();
    let (tty, r) = on_terminal(
        dir.path(),
        &["run", "--python", "python3", "tools/app.py"],
        None,
    );
    assert_eq!(r.code(), 0, "{}", r.describe());
    assert_eq!(String::from_utf8_lossy(&tty).trim_end(), "hello");
    assert_eq!(
        r.stderr(),
        format!("flameprof: wrote app.svg {TERMINAL_NOTE}\n")
    );
    assert!(
        std::fs::read(dir.path().join("app.svg"))
            .unwrap()
            .starts_with(b"<?xml")
    );
    let (_, r) = on_terminal(
        dir.path(),
        &["run", "--python", "python3", "-m", "mymod"],
        None,
    );
    assert!(r.stderr().contains("wrote mymod.svg"), "{}", r.describe());
}

#[test]
fn the_format_follows_the_extension_of_out() {
    let dir = workdir();
    for (file, format) in [
        ("x.json", "json"),
        ("x.txt", "text"),
        ("x.folded", "log"),
        ("x.collapsed", "log"),
        ("x.LOG", "log"),
        ("x.svg", "svg"),
        ("x.html", "svg"),
        ("noextension", "svg"),
    ] {
        run_in(dir.path(), &["-o", file, "app.prof"], None).ok();
        let want = run_in(dir.path(), &["-f", format, "app.prof"], None).ok();
        assert_eq!(
            std::fs::read(dir.path().join(file)).unwrap(),
            want.stdout(),
            "-o {file} is not {format}"
        );
    }
    // -f wins, with a warning when the extension names another format.
    let r = run_in(dir.path(), &["-f", "log", "-o", "y.json", "app.prof"], None).ok();
    assert_eq!(
        r.stderr(),
        "flameprof: warning: -o y.json: the extension is for -f json, but -f log was given; writing log\n"
    );
    let log = run_in(dir.path(), &["-f", "log", "app.prof"], None).ok();
    assert_eq!(
        std::fs::read(dir.path().join("y.json")).unwrap(),
        log.stdout()
    );
    // `.txt` is plain text: any text format written there is what the user asked for,
    // but an SVG is not.
    for format in ["stats", "json", "log"] {
        let r = run_in(dir.path(), &["-f", format, "-o", "z.txt", "app.prof"], None).ok();
        assert_eq!(r.stderr(), "", "-f {format} -o z.txt");
    }
    let r = run_in(dir.path(), &["-f", "svg", "-o", "z.txt", "app.prof"], None).ok();
    assert!(r.stderr().contains("warning: -o z.txt"), "{}", r.describe());
    // A name for profile stats is refused without -f: it is never what flameprof writes.
    for name in ["out.prof", "out.pstats"] {
        let r = run_in(dir.path(), &["-o", name, "app.prof"], None);
        assert_eq!(r.code(), 2, "{}", r.describe());
        assert_eq!(r.stderr().lines().count(), 1, "{}", r.describe());
        assert!(r.stderr().contains("-f stats"), "{}", r.describe());
        assert!(!dir.path().join(name).exists());
    }
    let r = run_in(
        dir.path(),
        &["-f", "stats", "-o", "out.prof", "app.prof"],
        None,
    )
    .ok();
    assert!(
        r.stderr().contains("warning: -o out.prof"),
        "{}",
        r.describe()
    );
}

#[test]
fn negative_numbers_reach_validation() {
    let dir = workdir();
    for (flag, takes) in [
        ("--threshold", "a percentage between 0 and 100"),
        ("--max-depth", "a whole number (0: no limit)"),
        ("--width", "a whole number of pixels"),
        ("--row-height", "a whole number of pixels"),
        ("--font-size", "a whole number of pixels"),
        ("--log-mult", "a positive number"),
    ] {
        for value in ["-1", "-0.5"] {
            for args in [
                vec![flag, value, "app.prof"],
                // Before the program runs: no Python is needed to see it.
                vec!["run", flag, value, "app.py"],
            ] {
                let r = run_in(dir.path(), &args, None);
                assert_eq!(r.code(), 2, "{}", r.describe());
                let want =
                    format!("flameprof: invalid value '{value}' for '{flag}': must be {takes}");
                assert!(r.stderr().starts_with(&want), "{}", r.describe());
                assert_eq!(r.stderr().lines().count(), 1, "{}", r.describe());
            }
        }
    }
    // In range, they are taken as before.
    run_in(
        dir.path(),
        &["--threshold", "0", "--max-depth", "3", "app.prof"],
        None,
    )
    .ok();
}

/// Every end of data reads `truncated:` first, wherever the file is cut.
#[test]
fn a_file_cut_anywhere_is_called_truncated() {
    let whole = std::fs::read(data(SMALL)).unwrap();
    let mut checked = 0;
    for len in (1..whole.len()).step_by(7).chain([whole.len() - 1]) {
        let cut = bytes::Bytes::copy_from_slice(&whole[..len]);
        let err = flameprof::__private::input::load("cut.prof", cut)
            .map(|_| ())
            .expect_err("a cut file is refused");
        let text = err.to_string();
        assert!(
            text.starts_with("cannot read 'cut.prof': truncated: the file ends ")
                && text.lines().count() == 1,
            "cut at {len}: {text}"
        );
        checked += 1;
    }
    assert!(checked > 1000, "{checked}");
    // Through the binary, the file the issue quoted: a real profile cut at 30000 bytes.
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read(data("real/pip_list.prof")).unwrap();
    std::fs::write(dir.path().join("t.prof"), &real[..30_000]).unwrap();
    let r = run_in(dir.path(), &["-f", "log", "t.prof"], None);
    assert_eq!(r.code(), 1, "{}", r.describe());
    assert!(
        r.stderr()
            .starts_with("flameprof: cannot read 't.prof': truncated: the file ends inside "),
        "{}",
        r.describe()
    );
}

#[test]
fn the_man_page_has_examples_and_every_page_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let man = run_in(dir.path(), &["man"], None).ok().stdout_text();
    assert!(man.contains("\n.SH EXAMPLES\n"), "{man}");
    for command in [
        "flameprof \\-f log app.prof | flamegraph.pl",
        "flameprof run ",
        "| jq ",
    ] {
        assert!(man.contains(command), "no example of {command}");
    }
    // Every page named `flameprof-NAME(1)` can be printed, and is that page.
    let mut named = 0;
    for (at, _) in man.match_indices("(1)") {
        let word = man[..at].rsplit([' ', '\n', '(']).next().unwrap();
        let Some(page) = word.strip_prefix("flameprof\\-") else {
            continue;
        };
        let text = run_in(dir.path(), &["man", page], None).ok().stdout_text();
        assert!(
            text.contains(&format!(".TH flameprof-{page} 1")) && text.contains(".SH EXAMPLES"),
            "flameprof man {page}:\n{text}"
        );
        named += 1;
    }
    assert!(named >= 3, "{named} pages named");
    assert_eq!(run_in(dir.path(), &["man", "nope"], None).code(), 2);
}

#[test]
fn the_recursion_warning_names_the_functions() {
    let r = crate::util::run(&[
        "-f",
        "log",
        &data("pstats/synth_check_phantom_recursion_py312.prof")
            .display()
            .to_string(),
    ])
    .ok();
    let line = r
        .stderr()
        .lines()
        .find(|l| l.contains("recursive calls"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no recursion warning\n{}", r.describe()));
    assert!(line.contains(": app.py:30(worker); "), "{line}");
    assert!(
        line.contains("greenlets") && line.contains("lost callers"),
        "{line}"
    );
}
