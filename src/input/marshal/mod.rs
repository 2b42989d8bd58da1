//! The marshal decoder: one Python `marshal` object from a byte buffer into an arena of
//! [`Value`]s, written from scratch after CPython's `Python/marshal.c` (what flameprof
//! accepts and how it reads odd files: `formats/pstats/README.md`).
//!
//! It reads every type code of marshal versions 0–5 and of Python 2 files. It never
//! recurses on the data (an explicit stack with a depth cap of [`MAX_DEPTH`]), never sizes
//! an allocation from a declared length larger than the bytes left, and never panics.
//! References (`r`) share: the arena holds each value once and containers hold
//! [`Handle`]s, so a few hundred bytes of nested references cost a few hundred slots.
//!
//! Decoding is lenient where the data is text: strings that are not valid UTF-8 (lone
//! surrogates written with `surrogatepass`, raw Latin-1 bytes in Python 2 names, or
//! plain garbage) become U+FFFD replacement characters instead of failing, because real
//! profiles contain such file names; their handles are listed in [`Decoded::lossy`], so
//! that the reader can say which names were affected. Integers beyond `i128` saturate.

use std::fmt;

use bytes::Bytes;

use crate::model::Text;

mod decoder;
#[cfg(test)]
mod tests;

use decoder::Decoder;
pub(super) use decoder::long_value;

/// Containers nested deeper than this are refused (real stats are at most 9 deep).
pub const MAX_DEPTH: usize = 100;

/// The bit of a type byte that asks for the object to be added to the reference table.
const FLAG_REF: u8 = 0x80;

/// Index of a value in [`Decoded::arena`].
pub type Handle = u32;

/// The fixed handles of the singletons (they never take a ref slot).
pub const NONE: Handle = 0;
pub const TRUE: Handle = 1;
pub const FALSE: Handle = 2;
pub const STOP_ITERATION: Handle = 3;
pub const ELLIPSIS: Handle = 4;

/// A decoded marshal value. Containers refer to their items by handle.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    StopIteration,
    Ellipsis,
    /// `i`, `I`, `l`; saturated to the `i128` range.
    Int(i128),
    /// `f`, `g`.
    Float(f64),
    /// `x`, `y`.
    Complex(f64, f64),
    /// `s`: Python 2 `str` / Python 3 `bytes`. Kept raw; see [`Decoded::text`].
    Bytes(Bytes),
    /// `u t a A z Z` and py2 `R`: text, decoded leniently.
    Str(Text),
    Tuple(Vec<Handle>),
    List(Vec<Handle>),
    Set(Vec<Handle>),
    FrozenSet(Vec<Handle>),
    /// Pairs in file order (duplicates are kept; the consumer decides).
    Dict(Vec<(Handle, Handle)>),
    Code(Box<Code>),
    Slice(Handle, Handle, Handle),
    /// A container whose slot is reserved while its items are read.
    Pending,
}

impl Value {
    /// The Python type name with an article (`None` alone), for messages.
    pub fn described(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Int(_) => "an int".into(),
            Value::Ellipsis => "Ellipsis".into(),
            Value::StopIteration => "StopIteration".into(),
            v => format!("a {}", v.type_name()),
        }
    }

    /// The Python type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::StopIteration => "StopIteration",
            Value::Ellipsis => "Ellipsis",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Complex(..) => "complex",
            Value::Bytes(_) => "bytes",
            Value::Str(_) => "str",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::FrozenSet(_) => "frozenset",
            Value::Dict(_) => "dict",
            Value::Code(_) => "code object",
            Value::Slice(..) => "slice",
            Value::Pending => "incomplete container",
        }
    }
}

/// What a profile needs from a code object: its name, file and first line.
#[derive(Clone, Debug, PartialEq)]
pub struct Code {
    pub name: Text,
    pub file: Text,
    pub firstlineno: i64,
}

/// A decode failure, with the byte offset where it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    pub offset: usize,
    pub message: String,
    /// The data ended before what it declares: the likeliest cause is a file cut short
    /// (a copy or download interrupted, a program killed while writing), so the message
    /// says `truncated:` first.
    pub truncated: bool,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.truncated {
            f.write_str("truncated: ")?;
        }
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

impl std::error::Error for Error {}

/// The result of decoding: the arena, the top-level value, where it ended, and
/// warnings (each one line).
#[derive(Debug)]
pub struct Decoded {
    pub arena: Vec<Value>,
    pub root: Handle,
    /// Offset just after the top-level object (bytes after it are ignored).
    pub end: usize,
    pub warnings: Vec<String>,
    /// The `Str` values (by handle, ascending) whose bytes were not valid UTF-8.
    pub lossy: Vec<Handle>,
}

impl Decoded {
    pub fn get(&self, h: Handle) -> &Value {
        self.arena.get(h as usize).unwrap_or(&Value::Pending)
    }

    /// The value as text if it is a string of either kind (`s` bytes are decoded leniently).
    pub fn text(&self, h: Handle) -> Option<Text> {
        match self.get(h) {
            Value::Str(t) => Some(t.clone()),
            Value::Bytes(b) => Some(Text::from_utf8_lossy(b.clone())),
            _ => None,
        }
    }

    /// Whether the value is a `Str` decoded with replacement characters.
    pub fn is_lossy(&self, h: Handle) -> bool {
        self.lossy.binary_search(&h).is_ok()
    }

    /// The value as an integer (`bool` counts as 0/1, as in Python).
    pub fn int(&self, h: Handle) -> Option<i128> {
        match self.get(h) {
            Value::Int(n) => Some(*n),
            Value::Bool(b) => Some(*b as i128),
            _ => None,
        }
    }

    /// The value as a float (ints and bools convert).
    pub fn number(&self, h: Handle) -> Option<f64> {
        match self.get(h) {
            Value::Float(x) => Some(*x),
            Value::Int(n) => Some(*n as f64),
            Value::Bool(b) => Some(*b as u8 as f64),
            _ => None,
        }
    }

    pub fn tuple(&self, h: Handle) -> Option<&[Handle]> {
        match self.get(h) {
            Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// A short Python-like rendering for messages and placeholder labels. Bounded in
    /// size and work whatever the nesting (deeper parts show as `…`).
    pub fn repr(&self, h: Handle) -> String {
        let mut out = String::new();
        self.repr_into(h, 3, &mut out);
        if out.len() > REPR_MAX {
            let mut cut = REPR_MAX;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
        }
        out
    }

    fn repr_into(&self, h: Handle, depth: u32, out: &mut String) {
        use std::fmt::Write;
        if out.len() > REPR_MAX {
            return;
        }
        let seq = |this: &Self, open: &str, close: &str, items: &[Handle], out: &mut String| {
            if depth == 0 {
                out.push_str(open);
                out.push('…');
                out.push_str(close);
                return;
            }
            out.push_str(open);
            for (i, &item) in items.iter().take(8).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                this.repr_into(item, depth - 1, out);
            }
            if items.len() > 8 {
                out.push_str(", …");
            } else if items.len() == 1 && open == "(" {
                out.push(',');
            }
            out.push_str(close);
        };
        match self.get(h) {
            Value::None => out.push_str("None"),
            Value::Bool(true) => out.push_str("True"),
            Value::Bool(false) => out.push_str("False"),
            Value::StopIteration => out.push_str("StopIteration"),
            Value::Ellipsis => out.push_str("Ellipsis"),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(x) => {
                let _ = write!(out, "{x:?}");
            }
            Value::Complex(a, b) => {
                let _ = write!(out, "({a:?}+{b:?}j)");
            }
            // Only what can be shown is formatted: a long string shared by many keys
            // would otherwise cost its whole length for each.
            Value::Bytes(b) => {
                let b = b.slice(..b.len().min(REPR_MAX + 1));
                let _ = write!(out, "b{:?}", Text::from_utf8_lossy(b).as_str());
            }
            Value::Str(t) => {
                let _ = write!(out, "{:?}", prefix(t.as_str(), REPR_MAX + 1));
            }
            Value::Tuple(items) => seq(self, "(", ")", items, out),
            Value::List(items) => seq(self, "[", "]", items, out),
            Value::Set(items) => seq(self, "{", "}", items, out),
            Value::FrozenSet(items) => seq(self, "frozenset({", "})", items, out),
            Value::Dict(pairs) => {
                let _ = write!(out, "{{…{} items}}", pairs.len());
            }
            Value::Code(c) => out.push_str(&code_repr(&Code {
                name: Text::from(prefix(c.name.as_str(), REPR_MAX + 1)),
                file: Text::from(prefix(c.file.as_str(), REPR_MAX + 1)),
                firstlineno: c.firstlineno,
            })),
            Value::Slice(..) => out.push_str("slice(…)"),
            Value::Pending => out.push('…'),
        }
    }
}

/// The longest [`Decoded::repr`], in bytes (then `…`).
const REPR_MAX: usize = 200;

/// The longest prefix of `s` of at most `n` bytes.
fn prefix(s: &str, n: usize) -> &str {
    let mut cut = n.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

/// How a code object is shown in a key: Python's `repr` without the memory address,
/// which the file does not hold: `<code object NAME, file "FILE", line N>`.
pub fn code_repr(c: &Code) -> String {
    format!(
        "<code object {}, file \"{}\", line {}>",
        c.name, c.file, c.firstlineno
    )
}

/// Decodes the first marshal object in `data`. Bytes after it are reported in
/// [`Decoded::end`], not read.
pub fn decode(data: &Bytes) -> Result<Decoded, Error> {
    Decoder::new(data).run()
}
