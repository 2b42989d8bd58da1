//! What the command line writes besides the rendering itself: [`AppError`] (every way a
//! run ends in failure, with its exit code), the one place errors and warnings are
//! printed on standard error, and the output sink (standard output or `-o FILE`).

use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::input::InputError;
use crate::output_file;
use crate::printable;

/// Everything that ends a run with exit code 1 (or 2 for usage).
#[derive(Debug)]
pub enum AppError {
    Input(InputError),
    Write {
        target: String,
        error: io::Error,
    },
    Usage(String),
    /// Running a program failed, or it wrote no profile: exit with `code`.
    Program {
        code: u8,
        message: String,
    },
}

impl AppError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Usage(_) => 2,
            AppError::Program { code, .. } => *code,
            _ => 1,
        }
    }

    /// A write that failed because the reader of our output left (`flameprof x | head`):
    /// not reported, as other command-line tools do.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, AppError::Write { error, .. } if error.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Input(e) => e.fmt(f),
            AppError::Write { target, error } => write!(f, "cannot write '{target}': {error}"),
            AppError::Usage(m) => f.write_str(m),
            AppError::Program { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppError::Input(e) => Some(e),
            AppError::Write { error, .. } => Some(error),
            AppError::Usage(_) | AppError::Program { .. } => None,
        }
    }
}

impl From<InputError> for AppError {
    fn from(e: InputError) -> AppError {
        AppError::Input(e)
    }
}

/// Set when a warning or error could not be written to standard error: a run that
/// otherwise succeeded then exits 1, so that the loss is not silent.
static UNREPORTED: AtomicBool = AtomicBool::new(false);

/// Whether a warning or error could not be written to standard error.
pub fn unreported() -> bool {
    UNREPORTED.load(Ordering::Relaxed)
}

pub fn warn(message: &dyn fmt::Display) {
    report("warning: ", message);
}

/// A line that is neither a warning nor an error: where the output went, when that was
/// not where it was asked for.
pub fn note(message: &dyn fmt::Display) {
    report("", message);
}

pub fn error(e: &AppError) {
    report("", e);
}

/// Writes `flameprof: {kind}{message}` as one line on standard error, with control
/// characters escaped (messages carry function and file names from the user's data).
/// Never panics: a closed pipe is ignored as it is on standard output, any other
/// failure sets [`UNREPORTED`].
fn report(kind: &str, message: &dyn fmt::Display) {
    let message = message.to_string();
    let mut line = String::with_capacity(12 + kind.len() + message.len());
    line.push_str("flameprof: ");
    line.push_str(kind);
    printable::push_escaped(&mut line, &message);
    line.push('\n');
    match io::stderr().lock().write_all(line.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            UNREPORTED.store(true, Ordering::Relaxed)
        }
        _ => {}
    }
}

/// Runs `render` into standard output, or into the file at `path` (see `output_file`:
/// atomically, through a temporary renamed over it only when everything was written).
pub fn write_output(
    path: Option<&Path>,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), AppError> {
    match path {
        None => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
            render(&mut out)
                .and_then(|_| out.flush())
                .map_err(|error| AppError::Write {
                    target: "<stdout>".into(),
                    error,
                })
        }
        Some(path) => output_file::write_file(path, render).map_err(|error| AppError::Write {
            target: path.display().to_string(),
            error,
        }),
    }
}
