//! Profiling a Python program directly: runs a script or a module under cProfile
//! through a small bootstrap (`runner/bootstrap.py`), with the program's stdin,
//! stdout and stderr passed through, and hands back its exit status and the stats.
//!
//! Knows nothing of the command line, trees or output formats.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};

/// The Python code run with `python -c`: see the file for what it does.
pub const BOOTSTRAP: &str = include_str!("runner/bootstrap.py");

/// What to run: `python script.py ARGS` or `python -m module ARGS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Script(OsString),
    Module(OsString),
}

impl Target {
    pub fn name(&self) -> &OsStr {
        match self {
            Target::Script(s) | Target::Module(s) => s,
        }
    }
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
}

/// How a profiled program ended.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    /// The stats file's bytes; `None` when the program ended before profiling began
    /// (no such script or module, a syntax error) or was killed before writing them.
    pub stats: Option<Vec<u8>>,
}

/// Why a program could not be run at all.
#[derive(Debug)]
pub enum RunError {
    /// The interpreter could not be started.
    Spawn { python: OsString, error: io::Error },
    /// The temporary directory for the stats could not be made or read.
    Temp(io::Error),
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
        }
    }
}

/// The interpreter used without `--python`: the active virtual environment's
/// (`$VIRTUAL_ENV/bin/python`) if there is one, else `python3` from `PATH`.
pub fn default_python() -> OsString {
    python_for(std::env::var_os("VIRTUAL_ENV"))
}

fn python_for(virtual_env: Option<OsString>) -> OsString {
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

/// The command line that runs `program` under the bootstrap, writing stats to `out`.
pub fn command(program: &Program, out: &OsStr) -> Command {
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
        .arg(target);
    cmd.args(&program.args);
    cmd
}

/// Runs `program` to completion with inherited stdin, stdout and stderr. Ctrl-C goes
/// to the program (which writes what it collected); flameprof itself survives it.
pub fn profile(program: &Program) -> Result<Outcome, RunError> {
    let dir = tempfile::Builder::new()
        .prefix("flameprof-run-")
        .tempdir()
        .map_err(RunError::Temp)?;
    let out = dir.path().join("profile.prof");
    // Installed before the spawn, so that no Ctrl-C can fall between the two.
    let guard = interrupt::Deferred::new();
    let mut child = command(program, out.as_os_str())
        .spawn()
        .map_err(|error| RunError::Spawn {
            python: program.python.clone(),
            error,
        })?;
    let status = child.wait().map_err(RunError::Temp)?;
    drop(guard);
    let stats = match std::fs::read(&out) {
        Ok(bytes) if !bytes.is_empty() => Some(bytes),
        Ok(_) => None,
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(RunError::Temp(e)),
    };
    dir.close().map_err(RunError::Temp)?;
    Ok(Outcome { status, stats })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_python_prefers_the_virtual_environment() {
        assert_eq!(
            python_for(None),
            OsString::from(if cfg!(windows) { "python" } else { "python3" })
        );
        assert_eq!(python_for(Some(OsString::new())), python_for(None));
        let venv = python_for(Some(OsString::from("/v")));
        assert!(PathBuf::from(&venv).starts_with("/v"), "{venv:?}");
        assert_ne!(venv, python_for(None));
    }

    #[test]
    fn command_passes_the_program_arguments_after_the_bootstrap() {
        let p = Program {
            python: "py".into(),
            target: Target::Module("pytest".into()),
            args: vec!["-x".into(), "tests/".into()],
            cpu: true,
        };
        let cmd = command(&p, OsStr::new("/t/o.prof"));
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args[0], "-c");
        assert_eq!(args[1], BOOTSTRAP);
        assert_eq!(
            &args[2..],
            ["/t/o.prof", "1", "module", "pytest", "-x", "tests/"]
        );
    }
}
