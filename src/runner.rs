//! Profiling a Python program directly: runs a script or a module under cProfile
//! through a small bootstrap (`runner/bootstrap.py`), with the program's stdin,
//! stdout and stderr passed through, and hands back its exit status, the stats and
//! the program's call paths, recorded beside cProfile by the call-path recorder
//! (`runner/recorder.c`, built by `build.rs`) or, where it cannot be loaded, sampled.
//! Picks the interpreter when none is named (the environment flameprof was installed
//! into comes first).
//! Owns the program's life as a process: the private temporary directory, the
//! signals passed on to it, and its death with flameprof's.
//!
//! Knows nothing of the command line, trees or output formats.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// The Python code run with `python -c`: see the file for what it does.
pub const BOOTSTRAP: &str = include_str!("runner/bootstrap.py");

/// The call-path recorder built for this target (a shared library the bootstrap loads
/// with ctypes); empty when it was built without one (no C compiler, not Unix).
#[cfg(not(flameprof_no_recorder))]
pub const RECORDER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/recorder.so"));
#[cfg(flameprof_no_recorder)]
pub const RECORDER: &[u8] = &[];

/// What to run: `python script.py ARGS` or `python -m module ARGS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Script(OsString),
    Module(OsString),
}

/// A program to profile.
#[derive(Debug, Clone)]
pub struct Program {
    /// The interpreter (see [`default_python`]).
    pub python: OsString,
    pub target: Target,
    pub args: Vec<OsString>,
    /// Measure process CPU time (`time.process_time`) instead of wall-clock time.
    pub cpu: bool,
    /// Also keep the stacks of the thread running the program, into
    /// [`Outcome::stacks`]: every call path, recorded (the bootstrap's
    /// `_flameprof_recorder`), or where the recorder cannot be loaded, samples (its
    /// `_flameprof_sampler`).
    pub record_stacks: bool,
}

/// How a profiled program ended.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    /// The stats file's bytes; `None` when the program ended before profiling began
    /// (no such script or module, a syntax error) or was killed before writing them.
    pub stats: Option<Vec<u8>>,
    /// With [`Program::record_stacks`], the stacks when the program wrote them: its
    /// call paths (`formats/call-paths/`) or sampled stacks (folded text, values in
    /// microseconds).
    pub stacks: Option<Vec<u8>>,
}

/// Why a program could not be run at all.
#[derive(Debug)]
pub enum RunError {
    /// The interpreter could not be started.
    Spawn { python: OsString, error: io::Error },
    /// The temporary directory for the stats could not be made or read.
    Temp(io::Error),
    /// flameprof was sent this signal (SIGTERM, SIGHUP) while the program ran: the
    /// program got it too and has ended, the temporary directory is gone, and
    /// flameprof should end the same way ([`die_of`]).
    Signalled(i32),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Spawn { python, error } => {
                let why = match error.kind() {
                    io::ErrorKind::NotFound => "not found".to_string(),
                    io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                    _ => error.to_string(),
                };
                write!(
                    f,
                    "cannot run the Python interpreter '{}': {why} (pick one with --python PATH)",
                    python.display()
                )
            }
            RunError::Temp(e) => write!(f, "cannot make a temporary file for the stats: {e}"),
            RunError::Signalled(sig) => write!(f, "stopped by signal {sig}"),
        }
    }
}

impl std::error::Error for RunError {}

impl RunError {
    /// The exit code shells and `env` use: 127 for a missing command, 126 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Spawn { error, .. } if error.kind() == io::ErrorKind::NotFound => 127,
            RunError::Spawn { .. } => 126,
            RunError::Temp(_) => 1,
            RunError::Signalled(sig) => (128 + sig).clamp(0, 255) as u8,
        }
    }
}

/// The interpreter used without `--python`, the first that applies of:
///
/// 1. the interpreter of the environment flameprof was installed into: a `python3` or
///    `python` beside the binary (`Scripts\python.exe` on Windows), so that
///    `.venv/bin/flameprof run` from tox, make or an IDE profiles with that venv
///    without activating it. A binary with no interpreter beside it (cargo's
///    `~/.cargo/bin`, pipx's link in `~/.local/bin`) skips this step;
/// 2. the active virtual environment's, `$VIRTUAL_ENV/bin/python`;
/// 3. `python3` from `PATH` (`python` on Windows).
pub fn default_python() -> OsString {
    choose_python(
        installed_dir().as_deref(),
        std::env::var_os("VIRTUAL_ENV"),
        |p| p.is_file(),
    )
}

/// The interpreter for a binary in `bin_dir` with `VIRTUAL_ENV` = `virtual_env`;
/// `exists` says whether a file is there (follows symlinks: a venv's `python` is a
/// link to the base interpreter).
fn choose_python(
    bin_dir: Option<&Path>,
    virtual_env: Option<OsString>,
    exists: impl Fn(&Path) -> bool,
) -> OsString {
    if let Some(dir) = bin_dir {
        // The path beside the binary is returned as it is, never resolved: a venv's
        // `bin/python` run through its link is what makes the venv's site-packages
        // apply; the link's target would be the bare base interpreter.
        if let Some(python) = siblings(dir).into_iter().find(|p| exists(p)) {
            return python.into_os_string();
        }
    }
    match virtual_env {
        Some(venv) if !venv.is_empty() => {
            let dir = PathBuf::from(venv);
            let exe = if cfg!(windows) {
                dir.join("Scripts").join("python.exe")
            } else {
                dir.join("bin").join("python")
            };
            exe.into_os_string()
        }
        _ => OsString::from(if cfg!(windows) { "python" } else { "python3" }),
    }
}

/// Where an environment's interpreter sits relative to the directory its scripts
/// are installed in, in order of preference.
fn siblings(dir: &Path) -> Vec<PathBuf> {
    if cfg!(windows) {
        // A venv keeps both in `Scripts\`; a base install (python.org's, conda's)
        // keeps python.exe one level up, its scripts in `Scripts\`.
        let mut v = vec![dir.join("python.exe")];
        let is_scripts = dir
            .file_name()
            .is_some_and(|n| n.eq_ignore_ascii_case("Scripts"));
        if let (true, Some(parent)) = (is_scripts, dir.parent()) {
            v.push(parent.join("python.exe"));
        }
        v
    } else {
        // `python3` first: where both exist `python` may be Python 2 (older
        // distributions' /usr/bin), while `python3` is never anything else.
        vec![dir.join("python3"), dir.join("python")]
    }
}

/// The directory flameprof was started from, as the user named it: for a symlink on
/// `PATH`, the link's directory, not its target's. pipx, and people exposing one
/// tool, link a binary from a private environment into `~/.local/bin`; that private
/// environment's interpreter has none of the user's packages, so the link's
/// directory (no interpreter there: the next step applies) is the right answer. And
/// a link placed inside a venv on purpose means that venv.
///
/// `current_exe` resolves links on Linux (it reads `/proc/self/exe`), so the name
/// the binary was started by (`argv[0]`, looked up on `PATH` when it has no `/`) is
/// used when it is the same file, and `current_exe` otherwise (`exec -a`, a name that
/// `PATH` no longer finds).
fn installed_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let named = invoked_as().filter(|p| same_file(p, &exe));
    let path = named.unwrap_or(exe);
    let path = std::path::absolute(&path).unwrap_or(path);
    path.parent().map(Path::to_path_buf)
}

#[cfg(unix)]
fn invoked_as() -> Option<PathBuf> {
    let argv0 = PathBuf::from(std::env::args_os().next()?);
    if argv0.as_os_str().is_empty() {
        return None;
    }
    if argv0.components().count() > 1 {
        return Some(argv0);
    }
    // A bare name: the shell found it on PATH, as execvp does (empty entries are the
    // current directory).
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| {
            if d.as_os_str().is_empty() {
                PathBuf::from(".").join(&argv0)
            } else {
                d.join(&argv0)
            }
        })
        .find(|p| p.is_file())
}

/// Windows has no `argv[0]` lookup to redo (pipx copies the binary rather than
/// linking it), and `current_exe` is the path the binary was loaded from.
#[cfg(not(unix))]
fn invoked_as() -> Option<PathBuf> {
    None
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The command line that runs `program` under the bootstrap, writing stats to `out`
/// and, unless empty, the stacks to `stacks`: recorded with the recorder library at
/// `recorder`, unless empty, else sampled.
pub fn command(program: &Program, out: &OsStr, stacks: &OsStr, recorder: &OsStr) -> Command {
    let (mode, target) = match &program.target {
        Target::Script(s) => ("script", s),
        Target::Module(m) => ("module", m),
    };
    let mut cmd = Command::new(&program.python);
    cmd.arg("-c")
        .arg(BOOTSTRAP)
        .arg(out)
        .arg(if program.cpu { "1" } else { "0" })
        .arg(mode)
        .arg(stacks)
        .arg(recorder)
        .arg(target);
    cmd.args(&program.args);
    cmd
}

/// Runs `program` to completion with inherited stdin, stdout and stderr. Ctrl-C goes
/// to the program (which writes what it collected); flameprof itself survives it.
///
/// The stats go through a directory only the user can read (0700, made so
/// atomically). SIGTERM or SIGHUP sent to flameprof is passed on to the program;
/// once it has ended the directory is removed and [`RunError::Signalled`] returned.
/// On Linux the program is also killed if flameprof dies of SIGKILL, which can leave
/// only the private directory behind. That comes from the calling thread: call this
/// from a thread that outlives the program (the main thread), and for one program at
/// a time (the signal handlers are per process).
pub fn profile(program: &Program) -> Result<Outcome, RunError> {
    // Before anything exists to clean up, so that no signal finds it unhandled.
    let signals = signals::Forward::install();
    let dir = private_dir().map_err(RunError::Temp)?;
    let out = dir.path().join("profile.prof");
    let stacks = program.record_stacks.then(|| dir.path().join("stacks"));
    // FLAMEPROF_SAMPLE_STACKS: sample even where the recorder would load (for tests
    // and benchmarks of the sampler).
    let sample = std::env::var_os("FLAMEPROF_SAMPLE_STACKS").is_some_and(|v| !v.is_empty());
    let recorder = match program.record_stacks && !RECORDER.is_empty() && !sample {
        true => Some(write_recorder(dir.path()).map_err(RunError::Temp)?),
        false => None,
    };
    // Installed before the spawn, so that no Ctrl-C can fall between the two.
    let guard = interrupt::Deferred::new();
    let arg = |p: &Option<PathBuf>| {
        p.as_deref()
            .map_or(OsString::new(), |p| p.as_os_str().into())
    };
    let mut cmd = command(program, out.as_os_str(), &arg(&stacks), &arg(&recorder));
    die_with_parent(&mut cmd);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(error) => {
            drop(guard);
            return Err(match signals.finish() {
                Some(sig) => RunError::Signalled(sig),
                None => RunError::Spawn {
                    python: program.python.clone(),
                    error,
                },
            });
        }
    };
    let status = signals.wait(&mut child).map_err(RunError::Temp);
    drop(guard);
    let stats = status.and_then(|status| {
        let stats = read_written(&out)?;
        let stacks = match &stacks {
            Some(path) => read_written(path)?,
            None => None,
        };
        Ok(Outcome {
            status,
            stats,
            stacks,
        })
    });
    let closed = dir.close();
    if let Some(sig) = signals.finish() {
        return Err(RunError::Signalled(sig));
    }
    let outcome = stats?;
    closed.map_err(RunError::Temp)?;
    Ok(outcome)
}

/// The bytes the program wrote to `path`; `None` when it wrote nothing.
fn read_written(path: &Path) -> Result<Option<Vec<u8>>, RunError> {
    match std::fs::read(path) {
        Ok(bytes) if !bytes.is_empty() => Ok(Some(bytes)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RunError::Temp(e)),
    }
}

/// The recorder library, written into the private directory `dir` for the bootstrap to
/// load.
fn write_recorder(dir: &Path) -> io::Result<PathBuf> {
    // dlopen takes any name; ctypes on macOS too.
    let path = dir.join("recorder.so");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Read is all the loader needs: it maps the file, never runs it as a program.
        options.mode(0o600);
    }
    io::Write::write_all(&mut options.open(&path)?, RECORDER)?;
    Ok(path)
}

/// A new directory for the stats, readable by the user only: made with mode 0700,
/// never widened afterwards.
fn private_dir() -> io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("flameprof-run-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder.tempdir()
}

/// Linux: the program gets SIGKILL when the thread that started it ends, so that
/// flameprof killed with SIGKILL does not leave it running unobserved.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl, getppid and raise are async-signal-safe system calls, and the
    // closure allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // flameprof may have died before the prctl: then nobody would send it.
            if libc::getppid() != parent {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// Ends flameprof the way `sig` would have, had it not been caught: the parent sees
/// "killed by SIGTERM", and a shell reports 128 + the signal.
pub fn die_of(sig: i32) -> ! {
    #[cfg(unix)]
    // SAFETY: restores the default action of `sig`, unblocks it and raises it.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
    }
    std::process::exit((128 + sig).clamp(0, 255))
}

/// Our exit code for a program's status: its own code, or 128 + the signal that
/// killed it (the shell convention: 130 after Ctrl-C).
pub fn exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return (code & 0xff) as u8;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return (128 + sig).clamp(0, 255) as u8;
        }
    }
    1
}

/// While a program runs, SIGINT (Ctrl-C, sent to the whole foreground process group)
/// must stop the program but not flameprof, which renders what was collected.
/// A handler that does nothing does that: unlike ignoring the signal, a handler is
/// reset to the default in the child at exec, so Python still raises KeyboardInterrupt.
mod interrupt {
    #[cfg(unix)]
    pub struct Deferred {
        previous: Option<libc::sigaction>,
    }

    #[cfg(unix)]
    extern "C" fn ignore(_signal: libc::c_int) {}

    #[cfg(unix)]
    impl Deferred {
        pub fn new() -> Deferred {
            // SAFETY: plain sigaction calls with zero-initialised structs; the handler is
            // async-signal-safe (it does nothing).
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction == libc::SIG_IGN
                {
                    // Started with SIGINT ignored (a background job): keep it that way.
                    return Deferred { previous: None };
                }
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = ignore as extern "C" fn(libc::c_int) as libc::sighandler_t;
                new.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut new.sa_mask);
                if libc::sigaction(libc::SIGINT, &new, std::ptr::null_mut()) != 0 {
                    return Deferred { previous: None };
                }
                Deferred {
                    previous: Some(old),
                }
            }
        }
    }

    #[cfg(unix)]
    impl Drop for Deferred {
        fn drop(&mut self) {
            if let Some(old) = self.previous.take() {
                // SAFETY: restores the disposition saved in `new`.
                unsafe {
                    libc::sigaction(libc::SIGINT, &old, std::ptr::null_mut());
                }
            }
        }
    }

    #[cfg(not(unix))]
    pub struct Deferred;

    #[cfg(not(unix))]
    impl Deferred {
        pub fn new() -> Deferred {
            Deferred
        }
    }
}

/// While a program runs, SIGTERM and SIGHUP sent to flameprof are passed on to it,
/// and flameprof, instead of dying at once, waits for it and cleans up. The handler
/// only stores the signal and calls kill(2), both async-signal-safe. A signal that was
/// ignored when flameprof started (nohup) stays ignored, and the program inherits that.
mod signals {
    #[cfg(unix)]
    use std::sync::atomic::{AtomicI32, Ordering};

    #[cfg(unix)]
    const FORWARDED: [libc::c_int; 2] = [libc::SIGTERM, libc::SIGHUP];

    /// The program's pid while it may be signalled; 0 before the spawn and once it has
    /// ended (while not yet reaped, so that its pid cannot be reused meanwhile).
    #[cfg(unix)]
    static CHILD: AtomicI32 = AtomicI32::new(0);
    /// The last forwarded signal received, 0 for none.
    #[cfg(unix)]
    static RECEIVED: AtomicI32 = AtomicI32::new(0);

    #[cfg(unix)]
    extern "C" fn forward(sig: libc::c_int) {
        let saved = errno::get();
        RECEIVED.store(sig, Ordering::SeqCst);
        let pid = CHILD.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill is async-signal-safe; `pid` is our unreaped child.
            unsafe {
                libc::kill(pid, sig);
            }
        }
        errno::set(saved);
    }

    #[cfg(all(unix, any(target_os = "linux", target_os = "android")))]
    mod errno {
        pub fn get() -> libc::c_int {
            // SAFETY: the calling thread's errno.
            unsafe { *libc::__errno_location() }
        }
        pub fn set(v: libc::c_int) {
            // SAFETY: as above.
            unsafe { *libc::__errno_location() = v }
        }
    }

    #[cfg(all(
        unix,
        any(target_os = "macos", target_os = "ios", target_os = "freebsd")
    ))]
    mod errno {
        pub fn get() -> libc::c_int {
            // SAFETY: the calling thread's errno.
            unsafe { *libc::__error() }
        }
        pub fn set(v: libc::c_int) {
            // SAFETY: as above.
            unsafe { *libc::__error() = v }
        }
    }

    #[cfg(all(
        unix,
        not(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd"
        ))
    ))]
    mod errno {
        pub fn get() -> libc::c_int {
            0
        }
        pub fn set(_v: libc::c_int) {}
    }

    pub struct Forward {
        #[cfg(unix)]
        previous: Vec<(libc::c_int, libc::sigaction)>,
    }

    #[cfg(unix)]
    impl Forward {
        pub fn install() -> Forward {
            RECEIVED.store(0, Ordering::SeqCst);
            CHILD.store(0, Ordering::SeqCst);
            let mut previous = Vec::new();
            for sig in FORWARDED {
                // SAFETY: sigaction with zero-initialised structs; `forward` is
                // async-signal-safe.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                        || old.sa_sigaction == libc::SIG_IGN
                    {
                        continue;
                    }
                    let mut new: libc::sigaction = std::mem::zeroed();
                    new.sa_sigaction = forward as extern "C" fn(libc::c_int) as libc::sighandler_t;
                    new.sa_flags = libc::SA_RESTART;
                    libc::sigemptyset(&mut new.sa_mask);
                    for other in FORWARDED {
                        libc::sigaddset(&mut new.sa_mask, other);
                    }
                    if libc::sigaction(sig, &new, std::ptr::null_mut()) == 0 {
                        previous.push((sig, old));
                    }
                }
            }
            Forward { previous }
        }

        /// Waits for `child`, passing on the signals received meanwhile (including one
        /// received before it existed).
        pub fn wait(
            &self,
            child: &mut std::process::Child,
        ) -> std::io::Result<std::process::ExitStatus> {
            let pid = child.id() as libc::pid_t;
            CHILD.store(pid, Ordering::SeqCst);
            let early = RECEIVED.load(Ordering::SeqCst);
            if early != 0 {
                // SAFETY: our child, not yet reaped.
                unsafe {
                    libc::kill(pid, early);
                }
            }
            // Waits without reaping, so that the pid stays ours until CHILD is cleared.
            loop {
                // SAFETY: waitid with a zeroed siginfo_t to fill.
                let r = unsafe {
                    let mut info: libc::siginfo_t = std::mem::zeroed();
                    libc::waitid(
                        libc::P_PID,
                        pid as libc::id_t,
                        &mut info,
                        libc::WEXITED | libc::WNOWAIT,
                    )
                };
                if r == 0 {
                    break;
                }
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    break; // child.wait below reports what is wrong
                }
            }
            CHILD.store(0, Ordering::SeqCst);
            child.wait()
        }

        /// Restores the previous handlers; the signal received, if any.
        pub fn finish(self) -> Option<i32> {
            drop(self);
            match RECEIVED.swap(0, Ordering::SeqCst) {
                0 => None,
                sig => Some(sig),
            }
        }
    }

    #[cfg(unix)]
    impl Drop for Forward {
        fn drop(&mut self) {
            CHILD.store(0, Ordering::SeqCst);
            for (sig, old) in self.previous.drain(..) {
                // SAFETY: restores the disposition saved in `install`.
                unsafe {
                    libc::sigaction(sig, &old, std::ptr::null_mut());
                }
            }
        }
    }

    #[cfg(not(unix))]
    impl Forward {
        pub fn install() -> Forward {
            Forward {}
        }

        pub fn wait(
            &self,
            child: &mut std::process::Child,
        ) -> std::io::Result<std::process::ExitStatus> {
            child.wait()
        }

        pub fn finish(self) -> Option<i32> {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python_for(virtual_env: Option<&str>) -> OsString {
        choose_python(None, virtual_env.map(OsString::from), |_| true)
    }

    #[test]
    fn default_python_prefers_the_virtual_environment() {
        assert_eq!(
            python_for(None),
            OsString::from(if cfg!(windows) { "python" } else { "python3" })
        );
        assert_eq!(python_for(Some("")), python_for(None));
        let venv = python_for(Some("/v"));
        assert!(PathBuf::from(&venv).starts_with("/v"), "{venv:?}");
        assert_ne!(venv, python_for(None));
    }

    #[test]
    fn the_installed_environment_s_interpreter_comes_first() {
        let bin = Path::new("/env/bin");
        let first = siblings(bin).remove(0);
        let chosen = choose_python(Some(bin), Some("/v".into()), |p| p == first);
        assert_eq!(chosen, first.into_os_string());
        // Nothing beside the binary (~/.cargo/bin): the active venv, then PATH.
        let chosen = choose_python(Some(bin), Some("/v".into()), |p| !p.starts_with(bin));
        assert!(PathBuf::from(&chosen).starts_with("/v"), "{chosen:?}");
        let chosen = choose_python(Some(bin), None, |p| !p.starts_with(bin));
        assert_eq!(chosen, python_for(None));
    }

    #[test]
    fn a_windows_base_install_keeps_python_above_its_scripts() {
        if !cfg!(windows) {
            assert_eq!(
                siblings(Path::new("/e/bin")),
                [Path::new("/e/bin/python3"), Path::new("/e/bin/python")]
            );
            return;
        }
        let found = siblings(Path::new(r"C:\Py\Scripts"));
        assert_eq!(
            found,
            [
                Path::new(r"C:\Py\Scripts\python.exe"),
                Path::new(r"C:\Py\python.exe")
            ]
        );
    }

    #[test]
    fn command_passes_the_program_arguments_after_the_bootstrap() {
        let p = Program {
            python: "py".into(),
            target: Target::Module("pytest".into()),
            args: vec!["-x".into(), "tests/".into()],
            cpu: true,
            record_stacks: true,
        };
        let cmd = command(
            &p,
            OsStr::new("/t/o.prof"),
            OsStr::new("/t/stacks"),
            OsStr::new("/t/recorder.so"),
        );
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args[0], "-c");
        assert_eq!(args[1], BOOTSTRAP);
        assert_eq!(
            &args[2..],
            [
                "/t/o.prof",
                "1",
                "module",
                "/t/stacks",
                "/t/recorder.so",
                "pytest",
                "-x",
                "tests/"
            ]
        );
    }
}
