//! The warnings of a run: what reading skipped or replaced, what the data checks found
//! odd, what a format had to change or cut. A warning never stops the run; each one
//! displays as the one line the command line prints after `flameprof: warning: `.

use std::fmt;

/// Where a [`Warning`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WarningKind {
    /// Reading skipped, replaced or shortened part of the file (malformed entries,
    /// names that are not valid UTF-8, trailing bytes).
    Read,
    /// Valid data that would give a misleading picture. The name is a stable kind,
    /// like `no-root` or `zero-total` (the list is `formats/pstats/README.md`).
    Data(&'static str),
    /// The profile holds no functions: the output is empty.
    Empty,
    /// A format wrote something other than what the data says (a value clamped,
    /// stacks dropped).
    Output,
    /// A tree stopped at its size bound: some frames were not expanded.
    Truncated,
}

/// One warning: its kind and the line that says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    kind: WarningKind,
    /// The input named, for a [`WarningKind::Read`] warning.
    file: Option<String>,
    message: String,
}

impl Warning {
    pub fn new(kind: WarningKind, message: impl Into<String>) -> Warning {
        Warning {
            kind,
            file: None,
            message: message.into(),
        }
    }

    /// A warning about reading `file`; displays as `{file}: {message}`.
    pub fn read(file: impl Into<String>, message: impl Into<String>) -> Warning {
        Warning {
            kind: WarningKind::Read,
            file: Some(file.into()),
            message: message.into(),
        }
    }

    pub fn kind(&self) -> WarningKind {
        self.kind
    }

    /// The input the warning is about, if it is about reading one.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// What happened, without the file name.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        f.write_str(&self.message)
    }
}
