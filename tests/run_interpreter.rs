//! Which interpreter `flameprof run` picks without `--python`, seen from a copy of the
//! binary installed into a real virtual environment: that environment's, without
//! activating it, ahead of a `python3` on `PATH`; and not the one behind a symlink
//! that exposes the binary elsewhere (pipx's way). Needs `python3` with `venv`.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::external;

/// A `python3` that is never the right answer: first on `PATH` in every run below.
const FAKE: &str = "#!/bin/sh\necho 'the python3 on PATH ran' >&2\nexit 1\n";
const MARKER: &str = "the python3 on PATH ran";

struct Setup {
    dir: tempfile::TempDir,
    venv: PathBuf,
    fake_bin: PathBuf,
}

/// A venv (no pip: not needed, and much faster) holding a copy of the binary as
/// `bin/flameprof`, a directory with the fake `python3`, and `where.py`.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .output()
        .expect("run python3 -m venv");
    assert!(made.status.success(), "python3 -m venv: {made:?}");
    std::fs::copy(env!("CARGO_BIN_EXE_flameprof"), venv.join("bin/flameprof")).unwrap();
    let fake_bin = dir.path().join("fake");
    std::fs::create_dir(&fake_bin).unwrap();
    let fake = fake_bin.join("python3");
    std::fs::write(&fake, FAKE).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.path().join("where.py"),
        "import sys\nprint(sys.prefix)\n",
    )
    .unwrap();
    Setup {
        dir,
        venv,
        fake_bin,
    }
}

impl Setup {
    /// Runs `program run -o out.svg where.py` with `path_dirs` before the inherited
    /// `PATH` and no `VIRTUAL_ENV`.
    fn run(&self, program: &Path, path_dirs: &[&Path]) -> Output {
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let dirs = path_dirs
            .iter()
            .map(|d| d.to_path_buf())
            .chain(std::env::split_paths(&inherited));
        let path = std::env::join_paths(dirs).unwrap();
        Command::new(program)
            .args(["run", "-o", "out.svg", "where.py"])
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env_remove("VIRTUAL_ENV")
            .output()
            .expect("run flameprof")
    }

    /// Asserts `out` profiled with the venv's interpreter and drew the SVG.
    fn assert_venv(&self, out: &Output, how: &str) {
        let text = describe(out);
        assert!(out.status.success(), "{how}: {text}");
        let prefix = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(
            std::fs::canonicalize(&prefix).ok(),
            std::fs::canonicalize(&self.venv).ok(),
            "{how}: profiled with sys.prefix {prefix}, not the venv's\n{text}"
        );
        let svg = std::fs::read_to_string(self.dir.path().join("out.svg")).unwrap();
        assert!(svg.contains("where.py"), "{how}: the SVG shows the script");
    }
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn run_uses_the_environment_the_binary_is_installed_in() {
    if !external("python3 with venv") {
        return;
    }
    let s = setup();
    let fp = s.venv.join("bin/flameprof");
    // By its path, as tox, make or an IDE run it: the venv is not active.
    let out = s.run(&fp, &[&s.fake_bin]);
    s.assert_venv(&out, "venv/bin/flameprof");
    // Found on PATH by its bare name.
    let out = s.run(Path::new("flameprof"), &[&s.venv.join("bin"), &s.fake_bin]);
    s.assert_venv(&out, "flameprof from PATH");
}

#[test]
fn a_symlink_to_the_binary_uses_the_link_s_directory() {
    if !external("python3 with venv") {
        return;
    }
    let s = setup();
    // pipx's layout: the binary in a private venv, a link to it in a bin directory
    // with no interpreter. The private venv is not the user's environment.
    let links = s.dir.path().join("links");
    std::fs::create_dir(&links).unwrap();
    std::os::unix::fs::symlink(s.venv.join("bin/flameprof"), links.join("flameprof")).unwrap();
    for (program, how) in [
        (links.join("flameprof"), "the link by its path"),
        (PathBuf::from("flameprof"), "the link from PATH"),
    ] {
        let out = s.run(&program, &[&links, &s.fake_bin]);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(MARKER),
            "{how}: the python3 on PATH is used, not the venv behind the link\n{}",
            describe(&out)
        );
    }
    // And a link placed inside a venv means that venv, wherever the binary lives.
    let other = s.dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::rename(s.venv.join("bin/flameprof"), other.join("flameprof")).unwrap();
    std::os::unix::fs::symlink(other.join("flameprof"), s.venv.join("bin/flameprof")).unwrap();
    let out = s.run(&s.venv.join("bin/flameprof"), &[&s.fake_bin]);
    s.assert_venv(&out, "a link in the venv");
}
