//! Reading profiles: bytes from files or stdin, the marshal decoder, and turning a
//! stats dict into the core [`Profile`](crate::model::Profile).
//!
//! Knows nothing of trees, output formats or the command line.

pub mod checks;
pub mod direct;
pub mod marshal;
pub mod pstats;

use std::fmt;
use std::io::{IsTerminal, Read};
use std::path::Path;

use bytes::Bytes;

use crate::model::Profile;

/// Why an input could not be read. Displays as one line naming the file.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    /// The file as the user named it (`<stdin>` for standard input).
    pub file: String,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read '{}': {}", self.file, self.message)
    }
}

impl std::error::Error for InputError {}

/// A profile read from one input, with the warnings its reading produced
/// (each warning is one line, already counted, e.g. "skipped 3 malformed entries").
#[derive(Debug)]
pub struct Loaded {
    pub profile: Profile,
    pub warnings: Vec<String>,
}

/// The name used for standard input in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// Reads a whole input: a file, or standard input when `path` is `None` or `-`.
pub fn read_bytes(path: Option<&Path>) -> Result<(String, Bytes), InputError> {
    match path {
        Some(p) if p.as_os_str() != "-" => {
            let name = p.display().to_string();
            std::fs::read(p)
                .map(|v| (name.clone(), Bytes::from(v)))
                .map_err(|e| InputError {
                    file: name,
                    message: io_message(&e),
                })
        }
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(InputError {
                    file: STDIN_NAME.into(),
                    message: "standard input is a terminal; give a stats file \
                              (python -m cProfile -o x.prof script.py) or pipe one in"
                        .into(),
                });
            }
            let mut buf = Vec::new();
            stdin
                .lock()
                .read_to_end(&mut buf)
                .map(|_| (STDIN_NAME.to_string(), Bytes::from(buf)))
                .map_err(|e| InputError {
                    file: STDIN_NAME.into(),
                    message: io_message(&e),
                })
        }
    }
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            // Drop the " (os error N)" suffix: the text before it is the message.
            s.split(" (os error").next().unwrap_or(&s).to_string()
        }
    }
}

/// Decodes one stats file already in memory.
pub fn load(file: &str, data: Bytes) -> Result<Loaded, InputError> {
    pstats::load(data).map_err(|message| InputError {
        file: file.to_string(),
        message,
    })
}
