//! Reading profiles: bytes from files or stdin, the marshal decoder, and turning a
//! stats dict, or collapsed stacks (told apart by their content, see [`collapsed`]),
//! into the core [`Profile`](crate::model::Profile).
//!
//! Knows nothing of trees, output formats or the command line.

pub mod call_paths;
pub mod checks;
pub mod collapsed;
pub mod direct;
pub mod marshal;
pub mod pstats;
pub mod sources;
pub mod stats_file;

use std::fmt;
use std::io::{self, IsTerminal, Read};
use std::path::Path;

use bytes::Bytes;

pub use collapsed::ReadOptions;

use crate::model::Profile;
use crate::warning::Warning;

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

/// A profile read from one input, with the warnings its reading produced (each one
/// line, already counted, e.g. "skipped 3 malformed entries", of kind
/// [`WarningKind::Read`](crate::WarningKind::Read)).
#[derive(Debug)]
pub struct Loaded {
    pub profile: Profile,
    pub warnings: Vec<Warning>,
}

/// The name used for standard input in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// The most bytes read from one input: handles and offsets in the model are 32-bit.
pub const MAX_INPUT_BYTES: u64 = u32::MAX as u64;

/// The most bytes read from an input that does not start as a stats dict does: enough
/// for the decoder to say what it is, never a whole device (`/dev/zero`) or disk image.
pub const NOT_STATS_READ_BYTES: u64 = 16 << 20;

/// Reads a whole input: a file, or standard input when `path` is `None` or `-`. The
/// first bytes decide how much more is read (see [`read_limited`]).
pub fn read_bytes(path: Option<&Path>) -> Result<(String, Bytes), InputError> {
    match path {
        Some(p) if p.as_os_str() != "-" => {
            let name = p.display().to_string();
            let fail = |message: String| InputError {
                file: name.clone(),
                message,
            };
            let mut file = std::fs::File::open(p).map_err(|e| fail(io_message(&e)))?;
            let size = file
                .metadata()
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            read_limited(&mut file, size)
                .map_err(|e| fail(io_message(&e)))?
                .map(|v| (name.clone(), Bytes::from(v)))
                .map_err(fail)
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
            let fail = |message: String| InputError {
                file: STDIN_NAME.into(),
                message,
            };
            read_limited(&mut stdin.lock(), None)
                .map_err(|e| fail(io_message(&e)))?
                .map(|v| (STDIN_NAME.to_string(), Bytes::from(v)))
                .map_err(fail)
        }
    }
}

/// How many bytes [`read_limited`] reads before it decides how much more to read.
const HEAD_BYTES: usize = 512;

/// Reads `r` to its end, within bounds: an input whose first byte is not a dict's type
/// code (a stats file's always is), nor whose first bytes are text (collapsed stacks),
/// is read to at most [`NOT_STATS_READ_BYTES`], enough
/// for the decoder to say what it is, and no input beyond [`MAX_INPUT_BYTES`]. `size`
/// (a regular file's length) sizes the buffer and refuses an oversized file unread.
/// The inner error is the message for an input over the bound.
pub fn read_limited(r: &mut dyn Read, size: Option<u64>) -> io::Result<Result<Vec<u8>, String>> {
    let too_big = || {
        Err(format!(
            "larger than {} bytes, the most flameprof reads",
            MAX_INPUT_BYTES
        ))
    };
    if size.is_some_and(|n| n > MAX_INPUT_BYTES) {
        return Ok(too_big());
    }
    let mut buf = Vec::with_capacity(size.map_or(1 << 16, |n| n as usize + 1));
    // The first bytes (up to HEAD_BYTES) decide: a stats dict's type code, or text
    // (collapsed stacks), is read whole.
    let mut head = [0u8; HEAD_BYTES];
    let mut n = 0;
    while n < HEAD_BYTES {
        match r.read(&mut head[n..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Ok(0) => break,
            other => n += other?,
        }
    }
    buf.extend_from_slice(&head[..n]);
    let stats_like = (n >= 1 && head[0] & 0x7F == b'{') || collapsed::is_text(&head[..n]);
    let limit = if stats_like {
        MAX_INPUT_BYTES
    } else {
        NOT_STATS_READ_BYTES
    };
    // One byte past the bound tells an input at the bound from one beyond it.
    r.take(limit + 1 - n as u64).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        if stats_like {
            return Ok(too_big());
        }
        buf.truncate(limit as usize);
    }
    Ok(Ok(buf))
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

/// Whether `data` could be a profile at all: it starts as a stats dict does, or reads
/// as collapsed stacks. A file met under a directory that could not is skipped.
pub fn could_be_profile(data: &[u8]) -> bool {
    data.first().is_some_and(|b| b & 0x7F == b'{') || collapsed::looks_collapsed(data)
}

/// Decodes one stats file (or collapsed stacks) already in memory. `file` names it in
/// the error and the warnings.
pub fn load(file: &str, data: Bytes) -> Result<Loaded, InputError> {
    load_with(file, data, &ReadOptions::default())
}

/// [`load`], with the reading options (`--no-thread-roots`).
pub fn load_with(file: &str, data: Bytes, options: &ReadOptions) -> Result<Loaded, InputError> {
    let read = if call_paths::is_call_paths(&data) {
        call_paths::load_recorded(&data)
    } else if collapsed::looks_collapsed(&data) {
        collapsed::load(&data, options)
    } else {
        pstats::load(data)
    };
    match read {
        Ok(read) => Ok(Loaded {
            profile: read.profile,
            warnings: read
                .warnings
                .into_iter()
                .map(|message| Warning::read(file, message))
                .collect(),
        }),
        Err(message) => Err(InputError {
            file: file.to_string(),
            message,
        }),
    }
}

/// Reads the call paths `flameprof run` recorded ([`call_paths::load`]: their stacks,
/// to guide a stats file), named `file` in errors and warnings.
pub fn load_call_paths(file: &str, data: &Bytes) -> Result<Loaded, InputError> {
    match call_paths::load(data) {
        Ok(read) => Ok(Loaded {
            profile: read.profile,
            warnings: (read.warnings.into_iter())
                .map(|message| Warning::read(file, message))
                .collect(),
        }),
        Err(message) => Err(InputError {
            file: file.to_string(),
            message,
        }),
    }
}

/// Reads and decodes the stats file at `path` (`-`: standard input).
pub fn load_file(path: &Path) -> Result<Loaded, InputError> {
    load_file_with(path, &ReadOptions::default())
}

/// [`load_file`], with the reading options.
pub fn load_file_with(path: &Path, options: &ReadOptions) -> Result<Loaded, InputError> {
    let (name, data) = read_bytes(Some(path))?;
    load_with(&name, data, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_that_does_not_start_as_a_dict_is_read_only_so_far() {
        let endless = io::repeat(0).take(4 * NOT_STATS_READ_BYTES);
        let got = read_limited(&mut { endless }, None).unwrap().unwrap();
        assert_eq!(got.len() as u64, NOT_STATS_READ_BYTES);
        let err = load("zeros", Bytes::from(got)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read 'zeros': not a valid marshal stats file: unknown type code 0x00 at byte 0"
        );
    }

    #[test]
    fn a_stats_file_is_read_whole_and_an_oversized_one_refused_unread() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/real/pygments.prof"
        ))
        .unwrap();
        let got = read_limited(&mut &data[..], Some(data.len() as u64)).unwrap();
        assert_eq!(got.unwrap(), data);
        let mut unread = io::repeat(b'{');
        let refused = read_limited(&mut unread, Some(MAX_INPUT_BYTES + 1)).unwrap();
        assert!(refused.unwrap_err().contains("the most flameprof reads"));
    }
}
