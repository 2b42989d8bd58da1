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

/// Containers nested deeper than this are refused (real stats are at most 9 deep).
pub const MAX_DEPTH: usize = 100;

/// How many times, in one decode, a code object may be re-read with another layout.
const LAYOUT_RETRY_BUDGET: u32 = 64;

const FLAG_REF: u8 = 0x80;

/// Items reserved up front for a container, whatever its declared count: the count
/// is checked against the bytes left, but nested containers could each declare all
/// of them.
const PREALLOC_ITEMS: usize = 4096;

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
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// Code object layouts (§5), by the number of i32 fields before the objects.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    /// 2.x: 4 ints; code consts names varnames freevars cellvars filename name; lnotab.
    Py2,
    /// 3.0–3.7 (5 ints, 1 trailing object) or 3.11+ (5 ints, fields 4.. differ, 2 trailing).
    /// Told apart by field 4: a tuple (freevars) or bytes (localspluskinds).
    Py3Five,
    /// 3.8–3.10: 6 ints; same objects as 3.0–3.7.
    Py38,
}

impl Layout {
    fn ints(self) -> usize {
        match self {
            Layout::Py2 => 4,
            Layout::Py3Five => 5,
            Layout::Py38 => 6,
        }
    }
}

const LAYOUTS: [Layout; 3] = [Layout::Py3Five, Layout::Py38, Layout::Py2];

#[derive(Clone, Copy, Debug, PartialEq)]
enum SeqKind {
    Tuple,
    List,
    Set,
    FrozenSet,
    Slice,
}

#[derive(Debug)]
enum Frame {
    Seq {
        kind: SeqKind,
        slot: Handle,
        items: Vec<Handle>,
        want: usize,
    },
    Dict {
        slot: Handle,
        pairs: Vec<(Handle, Handle)>,
        key: Option<Handle>,
    },
    Code(Box<CodeFrame>),
}

/// A code object being read, and what to restore if its layout turns out wrong.
#[derive(Debug)]
struct CodeFrame {
    slot: Handle,
    start: Saved,
    /// How many layouts were tried before the current one.
    layout: usize,
    /// Index into [`LAYOUTS`] of the layout tried first (the one that worked last).
    first: usize,
    /// True once field 4 showed the 3.11+ variant of the five-int layout.
    py311: bool,
    fields: Vec<Handle>,
    firstlineno: Option<i64>,
}

/// Decoder state to roll back to when a code object layout is retried.
#[derive(Clone, Copy, Debug)]
struct Saved {
    /// Offset just after the `c` byte.
    pos: usize,
    arena: usize,
    refs: usize,
    interned: usize,
    warnings: usize,
    lossy: usize,
}

enum Start {
    /// A complete value.
    Done(Handle),
    /// The NULL marker (`0`).
    Null,
    /// A container frame was pushed.
    Pushed,
}

struct Decoder<'a> {
    data: &'a Bytes,
    pos: usize,
    arena: Vec<Value>,
    /// The FLAG_REF table: ref index → handle.
    refs: Vec<Handle>,
    /// The py2 interned-string list (`t` appends, `R` looks up).
    interned: Vec<Handle>,
    stack: Vec<Frame>,
    warnings: Vec<String>,
    lossy: Vec<Handle>,
    /// The layout index that last worked, tried first next time.
    last_layout: usize,
    retries: u32,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, Error> {
    Err(Error {
        offset,
        message: message.into(),
    })
}

impl<'a> Decoder<'a> {
    fn new(data: &'a Bytes) -> Decoder<'a> {
        Decoder {
            data,
            pos: 0,
            arena: vec![
                Value::None,
                Value::Bool(true),
                Value::Bool(false),
                Value::StopIteration,
                Value::Ellipsis,
            ],
            refs: Vec::new(),
            interned: Vec::new(),
            stack: Vec::new(),
            warnings: Vec::new(),
            lossy: Vec::new(),
            last_layout: 0,
            retries: 0,
        }
    }

    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Error> {
        let data: &'a [u8] = self.data;
        match data.get(self.pos..self.pos.saturating_add(n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            _ => err(
                self.pos,
                format!("file ends inside {what} (truncated file?)"),
            ),
        }
    }

    fn u8(&mut self, what: &str) -> Result<u8, Error> {
        Ok(self.take(1, what)?[0])
    }

    fn i32(&mut self, what: &str) -> Result<i32, Error> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f64(&mut self, what: &str) -> Result<f64, Error> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    /// A non-negative i32 length or count.
    fn len(&mut self, what: &str) -> Result<usize, Error> {
        let at = self.pos;
        let n = self.i32(what)?;
        if n < 0 {
            return err(at, format!("{what} has negative size {n}"));
        }
        Ok(n as usize)
    }

    /// `n` bytes of payload, sliced from the input; the length is checked first.
    fn payload(&mut self, n: usize, at: usize, what: &str) -> Result<Bytes, Error> {
        let left = self.remaining();
        if n > left {
            return err(
                at,
                format!("{what} declares {n} bytes but only {left} remain"),
            );
        }
        let start = self.pos;
        self.pos += n;
        Ok(self.data.slice(start..start + n))
    }

    fn push(&mut self, v: Value) -> Handle {
        let h = self.arena.len() as Handle;
        self.arena.push(v);
        h
    }

    fn scalar(&mut self, v: Value, flag: bool) -> Handle {
        let h = self.push(v);
        if flag {
            self.refs.push(h);
        }
        h
    }

    fn reserve(&mut self, flag: bool) -> Handle {
        self.scalar(Value::Pending, flag)
    }

    fn save(&self) -> Saved {
        Saved {
            pos: self.pos,
            arena: self.arena.len(),
            refs: self.refs.len(),
            interned: self.interned.len(),
            warnings: self.warnings.len(),
            lossy: self.lossy.len(),
        }
    }

    fn run(mut self) -> Result<Decoded, Error> {
        let root = self.root()?;
        Ok(Decoded {
            arena: self.arena,
            root,
            end: self.pos,
            warnings: self.warnings,
            lossy: self.lossy,
        })
    }

    /// Reads the top-level object, retrying code object layouts as needed.
    fn root(&mut self) -> Result<Handle, Error> {
        loop {
            match self.step() {
                Ok(Some(root)) => return Ok(root),
                Ok(None) => {}
                Err(e) => self.recover(e)?,
            }
        }
    }

    /// On an error inside a code object, re-reads the innermost one that has a layout
    /// left to try (within a budget); otherwise gives the error back.
    fn recover(&mut self, mut e: Error) -> Result<(), Error> {
        loop {
            if self.retries >= LAYOUT_RETRY_BUDGET {
                return Err(e);
            }
            let retryable = |f: &Frame| matches!(f, Frame::Code(c) if c.layout + 1 < LAYOUTS.len());
            let Some(i) = self.stack.iter().rposition(retryable) else {
                return Err(e);
            };
            self.retries += 1;
            self.stack.truncate(i + 1);
            let Some(Frame::Code(c)) = self.stack.last_mut() else {
                return Err(e);
            };
            c.layout += 1;
            c.py311 = false;
            c.fields.clear();
            c.firstlineno = None;
            // The code object's own slot (and ref) were taken before `start`; they stay.
            let s = c.start;
            self.pos = s.pos;
            self.arena.truncate(s.arena);
            self.refs.truncate(s.refs);
            self.interned.truncate(s.interned);
            self.warnings.truncate(s.warnings);
            self.lossy.truncate(s.lossy);
            match self.read_code_ints() {
                Ok(()) => return Ok(()),
                Err(next) => e = next,
            }
        }
    }

    /// One unit of work: read an object start and deliver finished values upwards.
    /// Returns the root once the top-level object is complete.
    fn step(&mut self) -> Result<Option<Handle>, Error> {
        let at = self.pos;
        let mut done = match self.start_object()? {
            Start::Pushed => {
                if self.stack.len() > MAX_DEPTH {
                    return err(at, format!("nesting deeper than {MAX_DEPTH} levels"));
                }
                match self.finish_if_full(at)? {
                    Some(h) => Some(h),
                    None => return Ok(None),
                }
            }
            Start::Done(h) => Some(h),
            Start::Null => None,
        };
        // Deliver upwards until a frame still wants items.
        loop {
            let Some(frame) = self.stack.last_mut() else {
                return match done {
                    Some(h) => Ok(Some(h)),
                    None => err(at, "NULL object at the top level"),
                };
            };
            match frame {
                Frame::Seq { kind, items, .. } => match done {
                    Some(h) => items.push(h),
                    None => {
                        let what = seq_name(*kind);
                        return err(at, format!("NULL object inside a {what}"));
                    }
                },
                Frame::Dict { pairs, key, slot } => match (done, key.take()) {
                    (Some(v), Some(k)) => pairs.push((k, v)),
                    (Some(k), None) => {
                        if let Some(v @ (Value::List(_) | Value::Dict(_) | Value::Set(_))) =
                            self.arena.get(k as usize)
                        {
                            let what = v.type_name();
                            return err(at, format!("a {what} used as a dict key (unhashable)"));
                        }
                        *key = Some(k);
                        return Ok(None);
                    }
                    (None, k) => {
                        if k.is_some() {
                            self.warnings.push(format!(
                                "NULL in place of a dict value at byte {at} ended the dict \
                                 (as Python 3 does); the rest of that dict is ignored"
                            ));
                        }
                        let slot = *slot;
                        let pairs = std::mem::take(pairs);
                        self.stack.pop();
                        if let Some(cell) = self.arena.get_mut(slot as usize) {
                            *cell = Value::Dict(pairs);
                        }
                        done = Some(slot);
                        continue;
                    }
                },
                Frame::Code(_) => match done {
                    Some(h) => self.code_field(h, at)?,
                    None => return err(at, "NULL object inside a code object"),
                },
            }
            match self.finish_if_full(at)? {
                Some(h) => done = Some(h),
                None => return Ok(None),
            }
        }
    }

    /// Completes the top frame if it has all its items; returns its handle then.
    fn finish_if_full(&mut self, at: usize) -> Result<Option<Handle>, Error> {
        let (slot, value) = match self.stack.last_mut() {
            Some(Frame::Seq {
                kind,
                slot,
                items,
                want,
            }) if items.len() >= *want => {
                let items = std::mem::take(items);
                let v = match kind {
                    SeqKind::Tuple => Value::Tuple(items),
                    SeqKind::List => Value::List(items),
                    SeqKind::Set => Value::Set(items),
                    SeqKind::FrozenSet => Value::FrozenSet(items),
                    SeqKind::Slice => match items[..] {
                        [a, b, c] => Value::Slice(a, b, c),
                        _ => return err(at, "slice without three items"),
                    },
                };
                (*slot, v)
            }
            Some(Frame::Code(c)) if code_complete(c) => {
                let shift = usize::from(c.py311);
                let (file_h, name_h) = (c.fields[6 - shift], c.fields[7 - shift]);
                let (slot, line) = (c.slot, c.firstlineno.unwrap_or(0));
                let layout = layout_of(c.first, c.layout);
                self.last_layout = LAYOUTS.iter().position(|&l| l == layout).unwrap_or(0);
                let v = Value::Code(Box::new(Code {
                    name: self.text_at(name_h),
                    file: self.text_at(file_h),
                    firstlineno: line,
                }));
                (slot, v)
            }
            _ => return Ok(None),
        };
        self.stack.pop();
        if let Some(cell) = self.arena.get_mut(slot as usize) {
            *cell = value;
        }
        Ok(Some(slot))
    }

    fn text_at(&self, h: Handle) -> Text {
        match self.arena.get(h as usize) {
            Some(Value::Str(t)) => t.clone(),
            Some(Value::Bytes(b)) => Text::from_utf8_lossy(b.clone()),
            _ => Text::default(),
        }
    }

    /// Reads one type byte and its payload. Scalars are finished here; containers
    /// push a frame (their slot reserved first).
    fn start_object(&mut self) -> Result<Start, Error> {
        let at = self.pos;
        if self.remaining() == 0 {
            return err(
                at,
                "file ends where an object should start (truncated file?)",
            );
        }
        let byte = self.u8("an object")?;
        let flag = byte & FLAG_REF != 0;
        let code = byte & !FLAG_REF;
        let h = match code {
            b'0' => return Ok(Start::Null),
            b'N' => NONE,
            b'T' => TRUE,
            b'F' => FALSE,
            b'S' => STOP_ITERATION,
            b'.' => ELLIPSIS,
            b'i' => {
                let n = self.i32("an int")?;
                self.scalar(Value::Int(n.into()), flag)
            }
            b'I' => {
                let b = self.take(8, "an int64")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                self.scalar(Value::Int(i64::from_le_bytes(a).into()), flag)
            }
            b'l' => {
                let n = self.read_long(at)?;
                self.scalar(Value::Int(n), flag)
            }
            b'g' => {
                let x = self.f64("a float")?;
                self.scalar(Value::Float(x), flag)
            }
            b'f' => {
                let x = self.text_float(at)?;
                self.scalar(Value::Float(x), flag)
            }
            b'y' => {
                let re = self.f64("a complex")?;
                let im = self.f64("a complex")?;
                self.scalar(Value::Complex(re, im), flag)
            }
            b'x' => {
                let re = self.text_float(at)?;
                let im = self.text_float(at)?;
                self.scalar(Value::Complex(re, im), flag)
            }
            b's' => {
                let n = self.len("a bytes string")?;
                let b = self.payload(n, at, "a bytes string")?;
                self.scalar(Value::Bytes(b), flag)
            }
            b't' | b'u' => {
                let n = self.len("a string")?;
                let b = self.payload(n, at, "a string")?;
                let lossy = std::str::from_utf8(&b).is_err();
                let h = self.scalar(Value::Str(Text::from_utf8_lossy(b)), flag);
                if lossy {
                    self.lossy.push(h);
                }
                if code == b't' {
                    self.interned.push(h);
                }
                h
            }
            b'a' | b'A' | b'z' | b'Z' => {
                let n = if code == b'a' || code == b'A' {
                    self.len("an ASCII string")?
                } else {
                    self.u8("an ASCII string")? as usize
                };
                let b = self.payload(n, at, "an ASCII string")?;
                self.scalar(Value::Str(Text::from_latin1(b)), flag)
            }
            b'R' => {
                let n = self.i32("a py2 string reference")?;
                match usize::try_from(n).ok().and_then(|i| self.interned.get(i)) {
                    Some(&h) => h,
                    None => {
                        let have = self.interned.len();
                        return err(
                            at,
                            format!(
                                "invalid py2 string reference {n} (the list has {have} entries)"
                            ),
                        );
                    }
                }
            }
            b'r' => {
                let n = self.i32("a reference")?;
                let h = usize::try_from(n)
                    .ok()
                    .and_then(|i| self.refs.get(i))
                    .copied();
                match h {
                    Some(h) if self.arena.get(h as usize) != Some(&Value::Pending) => h,
                    Some(_) => {
                        return err(
                            at,
                            format!("invalid reference {n} (to a container still being read)"),
                        );
                    }
                    None => {
                        let have = self.refs.len();
                        return err(
                            at,
                            format!("invalid reference {n} (the table has {have} entries)"),
                        );
                    }
                }
            }
            b'(' | b')' | b'[' | b'<' | b'>' => {
                let (kind, what) = match code {
                    b'(' | b')' => (SeqKind::Tuple, "a tuple"),
                    b'[' => (SeqKind::List, "a list"),
                    b'<' => (SeqKind::Set, "a set"),
                    _ => (SeqKind::FrozenSet, "a frozenset"),
                };
                let n = if code == b')' {
                    self.u8(what)? as usize
                } else {
                    self.len(what)?
                };
                // Every item takes at least one byte: refuse impossible counts before
                // allocating anything.
                let left = self.remaining();
                if n > left {
                    return err(
                        at,
                        format!("{what} declares {n} items but only {left} bytes remain"),
                    );
                }
                let slot = self.reserve(flag);
                self.stack.push(Frame::Seq {
                    kind,
                    slot,
                    // Capped: 100 nested containers may each declare the bytes left.
                    items: Vec::with_capacity(n.min(PREALLOC_ITEMS)),
                    want: n,
                });
                return Ok(Start::Pushed);
            }
            b':' => {
                let slot = self.reserve(flag);
                self.stack.push(Frame::Seq {
                    kind: SeqKind::Slice,
                    slot,
                    items: Vec::with_capacity(3),
                    want: 3,
                });
                return Ok(Start::Pushed);
            }
            b'{' => {
                let slot = self.reserve(flag);
                self.stack.push(Frame::Dict {
                    slot,
                    pairs: Vec::new(),
                    key: None,
                });
                return Ok(Start::Pushed);
            }
            b'c' => {
                let slot = self.reserve(flag);
                let mut start = self.save();
                start.arena = self.arena.len();
                self.stack.push(Frame::Code(Box::new(CodeFrame {
                    slot,
                    start,
                    layout: 0,
                    first: self.last_layout,
                    py311: false,
                    fields: Vec::with_capacity(10),
                    firstlineno: None,
                })));
                self.read_code_ints()?;
                return Ok(Start::Pushed);
            }
            b'?' => return err(at, "type code '?' (TYPE_UNKNOWN, written by a failed dump)"),
            _ => {
                let shown = if byte.is_ascii_graphic() {
                    format!("0x{byte:02X} ('{}')", byte as char)
                } else {
                    format!("0x{byte:02X}")
                };
                return err(at, format!("unknown type code {shown}"));
            }
        };
        Ok(Start::Done(h))
    }
}

/// The layout for the `try_index`-th try of a code object: `first` (the one that
/// worked last), then the others in their usual order.
fn layout_of(first: usize, try_index: usize) -> Layout {
    {
        let first = first.min(LAYOUTS.len() - 1);
        if try_index == 0 {
            return LAYOUTS[first];
        }
        let mut rest = (0..LAYOUTS.len()).filter(|&i| i != first);
        rest.nth(try_index - 1).map_or(LAYOUTS[0], |i| LAYOUTS[i])
    }
}

impl Decoder<'_> {
    /// Reads the leading i32 fields of the code object on top of the stack.
    fn read_code_ints(&mut self) -> Result<(), Error> {
        let layout = match self.stack.last() {
            Some(Frame::Code(c)) => layout_of(c.first, c.layout),
            _ => return Ok(()),
        };
        for _ in 0..layout.ints() {
            self.i32("a code object")?;
        }
        Ok(())
    }

    /// Accepts the next object field of the code object on top of the stack, checking
    /// that it fits the layout being tried.
    fn code_field(&mut self, h: Handle, at: usize) -> Result<(), Error> {
        let layout = match self.stack.last() {
            Some(Frame::Code(c)) => layout_of(c.first, c.layout),
            _ => return Ok(()),
        };
        let v = self
            .arena
            .get(h as usize)
            .cloned()
            .unwrap_or(Value::Pending);
        let is_bytes = matches!(v, Value::Bytes(_));
        let is_tuple = matches!(v, Value::Tuple(_));
        let is_str = matches!(v, Value::Str(_) | Value::Bytes(_));
        let Some(Frame::Code(c)) = self.stack.last_mut() else {
            return Ok(());
        };
        let i = c.fields.len();
        let fits = match i {
            0 => is_bytes,
            1..=3 => is_tuple,
            4 if layout == Layout::Py3Five && is_bytes => {
                c.py311 = true;
                true
            }
            4 | 5 if !c.py311 => is_tuple,
            5..=7 => is_str,
            _ => true,
        };
        if !fits {
            return err(at, "code object fields do not fit any known layout");
        }
        c.fields.push(h);
        if c.fields.len() == 8 {
            let n = self.i32("a code object")?;
            if let Some(Frame::Code(c)) = self.stack.last_mut() {
                c.firstlineno = Some(n.into());
            }
        }
        Ok(())
    }

    /// A `l` long: i32 signed digit count, then 15-bit digits, least significant first.
    /// Saturates beyond `i128`.
    fn read_long(&mut self, at: usize) -> Result<i128, Error> {
        let n = self.i32("a long")?;
        let count = n.unsigned_abs() as usize;
        let left = self.remaining();
        if count.saturating_mul(2) > left {
            return err(
                at,
                format!("long declares {count} digits but only {left} bytes remain"),
            );
        }
        let start = self.pos;
        let digits = self.take(2 * count, "a long")?;
        let value = long_value(n, digits).map_err(|(i, message)| Error {
            offset: start + 2 * i,
            message,
        })?;
        Ok(value)
    }

    /// An `f` payload: u8 length, then ASCII text (`inf`, `-inf` and `nan` included).
    fn text_float(&mut self, at: usize) -> Result<f64, Error> {
        let n = self.u8("a text float")? as usize;
        let b = self.payload(n, at, "a text float")?;
        std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .map_or_else(
                || {
                    let shown = String::from_utf8_lossy(&b).into_owned();
                    err(at, format!("text float {shown:?} is not a number"))
                },
                Ok,
            )
    }
}

/// The value of a long with the signed digit count `n` and its `2 * |n|` digit bytes,
/// saturated to `i128`; or the index of the first bad digit and why it is bad.
pub(super) fn long_value(n: i32, digits: &[u8]) -> Result<i128, (usize, String)> {
    let count = digits.len() / 2;
    let mut mag: u128 = 0;
    let mut overflow = false;
    for (i, b) in digits.chunks_exact(2).enumerate() {
        let d = u16::from_le_bytes([b[0], b[1]]);
        if d >= 1 << 15 {
            return Err((i, format!("long digit {d} out of range (must be < 32768)")));
        }
        if i + 1 == count && d == 0 {
            return Err((i, "unnormalized long (top digit is zero)".into()));
        }
        let shift = 15 * i;
        if d != 0 {
            if shift >= 128 || (d as u128) > (u128::MAX >> shift) {
                overflow = true;
            } else {
                mag |= (d as u128) << shift;
            }
        }
    }
    Ok(if n >= 0 {
        if overflow || mag > i128::MAX as u128 {
            i128::MAX
        } else {
            mag as i128
        }
    } else if overflow || mag > i128::MAX as u128 {
        i128::MIN
    } else {
        -(mag as i128)
    })
}

fn code_complete(c: &CodeFrame) -> bool {
    let trailing = if c.py311 { 2 } else { 1 };
    c.firstlineno.is_some() && c.fields.len() >= 8 + trailing
}

fn seq_name(kind: SeqKind) -> &'static str {
    match kind {
        SeqKind::Tuple => "tuple",
        SeqKind::List => "list",
        SeqKind::Set => "set",
        SeqKind::FrozenSet => "frozenset",
        SeqKind::Slice => "slice",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(bytes: &[u8]) -> Decoded {
        decode(&Bytes::copy_from_slice(bytes)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn fail(bytes: &[u8]) -> Error {
        match decode(&Bytes::copy_from_slice(bytes)) {
            Ok(d) => panic!("decoded {:?}", d.get(d.root)),
            Err(e) => e,
        }
    }

    fn i32le(n: i32) -> [u8; 4] {
        n.to_le_bytes()
    }

    /// `i` with the value `n`.
    fn int(n: i32) -> Vec<u8> {
        let mut v = vec![b'i'];
        v.extend(i32le(n));
        v
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn root(bytes: &[u8]) -> Value {
        let d = dec(bytes);
        d.get(d.root).clone()
    }

    #[test]
    fn singletons() {
        assert_eq!(root(b"N"), Value::None);
        assert_eq!(root(b"T"), Value::Bool(true));
        assert_eq!(root(b"F"), Value::Bool(false));
        assert_eq!(root(b"S"), Value::StopIteration);
        assert_eq!(root(b"."), Value::Ellipsis);
        assert_eq!(root(&[b'N' | FLAG_REF]), Value::None);
    }

    #[test]
    fn flagged_singletons_and_null_take_no_slot() {
        // (None, 7, r0) with None flagged: r0 must be the int, not None.
        let bytes = cat(&[
            b")\x03",
            &[0xCE, b'i' | FLAG_REF],
            &i32le(7),
            b"r",
            &i32le(0),
        ]);
        let d = dec(&bytes);
        let items = d.tuple(d.root).expect("tuple").to_vec();
        assert_eq!(d.get(items[0]), &Value::None);
        assert_eq!(d.int(items[2]), Some(7));
        assert_eq!(items[1], items[2], "r shares the handle");
        // A flagged NULL ends a dict without taking a slot.
        let bytes = cat(&[b")\x02", &[b'{' | FLAG_REF, 0xB0], b"r", &i32le(0)]);
        let d = dec(&bytes);
        let items = d.tuple(d.root).expect("tuple").to_vec();
        assert_eq!(items[0], items[1]);
    }

    #[test]
    fn ints() {
        assert_eq!(root(&int(-5)), Value::Int(-5));
        let mut b = vec![b'I'];
        b.extend((-(1i64 << 40)).to_le_bytes());
        assert_eq!(root(&b), Value::Int(-(1 << 40)));
    }

    fn long(n: i32, digits: &[u16]) -> Vec<u8> {
        let mut v = vec![b'l'];
        v.extend(i32le(n));
        for d in digits {
            v.extend(d.to_le_bytes());
        }
        v
    }

    #[test]
    fn longs_with_15_bit_digits() {
        assert_eq!(root(&long(0, &[])), Value::Int(0));
        // 2**31 = digits [0, 0, 2]
        assert_eq!(root(&long(3, &[0, 0, 2])), Value::Int(1 << 31));
        assert_eq!(root(&long(-3, &[1, 0, 2])), Value::Int(-((1 << 31) + 1)));
        // py2 writes small longs as `l` too.
        assert_eq!(root(&long(1, &[7])), Value::Int(7));
    }

    #[test]
    fn longs_beyond_i128_saturate() {
        let big = vec![0x7FFF; 10]; // 150 bits
        assert_eq!(root(&long(10, &big)), Value::Int(i128::MAX));
        assert_eq!(root(&long(-10, &big)), Value::Int(i128::MIN));
        // 2**127 exactly: too big for i128 positive, exactly i128::MIN negative.
        let mut digits = vec![0u16; 8];
        digits.push(1 << 7); // 15 * 8 = 120; 120 + 7 = 127
        assert_eq!(root(&long(9, &digits)), Value::Int(i128::MAX));
        assert_eq!(root(&long(-9, &digits)), Value::Int(i128::MIN));
    }

    #[test]
    fn bad_longs_are_rejected() {
        assert!(fail(&long(1, &[0x8000])).message.contains("out of range"));
        assert!(fail(&long(2, &[1, 0])).message.contains("unnormalized"));
        let e = fail(&cat(&[b"l", &i32le(i32::MIN)]));
        assert!(e.message.contains("digits but only"), "{e}");
    }

    #[test]
    fn floats_binary_and_text() {
        let mut g = vec![b'g'];
        g.extend(1.5f64.to_le_bytes());
        assert_eq!(root(&g), Value::Float(1.5));
        assert_eq!(root(b"f\x040.25"), Value::Float(0.25));
        assert_eq!(root(b"f\x03inf"), Value::Float(f64::INFINITY));
        assert_eq!(root(b"f\x04-inf"), Value::Float(f64::NEG_INFINITY));
        assert!(matches!(root(b"f\x03nan"), Value::Float(x) if x.is_nan()));
        assert!(fail(b"f\x03abc").message.contains("not a number"));
        let mut y = vec![b'y'];
        y.extend(1.0f64.to_le_bytes());
        y.extend(2.0f64.to_le_bytes());
        assert_eq!(root(&y), Value::Complex(1.0, 2.0));
        assert_eq!(
            root(b"x\x011\x04-inf"),
            Value::Complex(1.0, f64::NEG_INFINITY)
        );
    }

    #[test]
    fn strings_of_every_code() {
        let text = |v: Value| match v {
            Value::Str(t) => t.as_str().to_string(),
            Value::Bytes(b) => format!("bytes:{}", String::from_utf8_lossy(&b)),
            other => panic!("{other:?}"),
        };
        assert_eq!(text(root(&cat(&[b"s", &i32le(2), b"ab"]))), "bytes:ab");
        assert_eq!(text(root(&cat(&[b"u", &i32le(3), "é!".as_bytes()]))), "é!");
        assert_eq!(text(root(&cat(&[b"t", &i32le(1), b"x"]))), "x");
        assert_eq!(text(root(&cat(&[b"a", &i32le(2), b"\xe9a"]))), "éa");
        assert_eq!(text(root(&cat(&[b"A", &i32le(1), b"q"]))), "q");
        assert_eq!(text(root(b"z\x02hi")), "hi");
        assert_eq!(text(root(b"Z\x01\xff")), "ÿ");
    }

    #[test]
    fn invalid_utf8_and_surrogates_become_replacement_characters() {
        let s = root(&cat(&[b"u", &i32le(5), b"a\xed\xb3\xa9b"]));
        let Value::Str(t) = s else { panic!("{s:?}") };
        assert!(t.as_str().starts_with('a') && t.as_str().ends_with('b'));
        assert!(t.as_str().contains('\u{FFFD}'));
        let d = dec(&cat(&[b"s", &i32le(2), b"\xff\xfe"]));
        assert_eq!(d.text(d.root).expect("text").as_str(), "\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn long_strings_share_the_input_buffer_and_short_ones_are_copied() {
        let long = b"/usr/lib/python3.12/importlib/__init__.py";
        for (text, shared) in [(&long[..], true), (&long[..3], false)] {
            let data = Bytes::from(cat(&[b"u", &i32le(text.len() as i32), text]));
            let d = decode(&data).expect("decode");
            let Value::Str(t) = d.get(d.root) else {
                panic!()
            };
            assert_eq!(t.as_str().as_bytes(), text);
            let range = data.as_ptr_range();
            assert_eq!(range.contains(&t.as_str().as_ptr()), shared, "{t:?}");
        }
    }

    #[test]
    fn py2_interned_strings_and_r_lookups() {
        let bytes = cat(&[
            b"(",
            &i32le(3),
            b"t",
            &i32le(1),
            b"a",
            b"t",
            &i32le(1),
            b"b",
            b"R",
            &i32le(0),
        ]);
        let d = dec(&bytes);
        let items = d.tuple(d.root).expect("tuple");
        assert_eq!(items[0], items[2]);
        assert!(
            fail(&cat(&[b"R", &i32le(0)]))
                .message
                .contains("py2 string reference")
        );
    }

    #[test]
    fn containers() {
        let bytes = cat(&[b"[", &i32le(2), &int(1), b"N"]);
        assert!(matches!(root(&bytes), Value::List(v) if v.len() == 2));
        assert!(matches!(root(&cat(&[b"<", &i32le(1), &int(1)])), Value::Set(v) if v.len() == 1));
        assert!(matches!(root(&cat(&[b">", &i32le(0)])), Value::FrozenSet(v) if v.is_empty()));
        assert!(matches!(root(b")\x00"), Value::Tuple(v) if v.is_empty()));
        assert!(matches!(
            root(&cat(&[b":", b"N", &int(3), b"N"])),
            Value::Slice(..)
        ));
        let d = dec(&cat(&[b"{", &int(1), &int(2), &int(3), b"N", b"0"]));
        let Value::Dict(pairs) = d.get(d.root) else {
            panic!()
        };
        assert_eq!(pairs.len(), 2);
        assert_eq!(d.int(pairs[0].1), Some(2));
    }

    #[test]
    fn null_rules() {
        // NULL as a dict value ends the dict (Python 3), with a warning.
        let d = dec(&cat(&[
            b"{",
            &int(1),
            &int(2),
            &int(3),
            b"0",
            &int(4),
            b"N0",
        ]));
        let Value::Dict(pairs) = d.get(d.root) else {
            panic!()
        };
        assert_eq!(pairs.len(), 1);
        assert_eq!(d.warnings.len(), 1);
        assert!(d.end < 20);
        assert!(fail(b")\x010").message.contains("NULL"));
        assert!(fail(b"0").message.contains("top level"));
        assert!(
            fail(&cat(&[b"{", b"[", &i32le(0), b"N0"]))
                .message
                .contains("unhashable")
        );
    }

    #[test]
    fn refs_are_numbered_in_pre_order() {
        // outer tuple (slot 0) holding inner tuple (slot 1) holding int (slot 2), then r1, r2.
        let bytes = cat(&[
            &[b')' | FLAG_REF, 3, b')' | FLAG_REF, 1, b'i' | FLAG_REF],
            &i32le(9),
            b"r",
            &i32le(1),
            b"r",
            &i32le(2),
        ]);
        let d = dec(&bytes);
        let items = d.tuple(d.root).expect("outer").to_vec();
        assert_eq!(items[0], items[1], "r1 is the inner tuple");
        assert_eq!(d.int(items[2]), Some(9));
    }

    #[test]
    fn refs_to_pending_or_missing_slots_are_rejected() {
        let e = fail(&cat(&[&[b')' | FLAG_REF, 1], b"r", &i32le(0)]));
        assert!(e.message.contains("still being read"), "{e}");
        assert!(
            fail(&cat(&[b"r", &i32le(0)]))
                .message
                .contains("invalid reference")
        );
        assert!(
            fail(&cat(&[b"r", &i32le(-1)]))
                .message
                .contains("invalid reference")
        );
    }

    #[test]
    fn a_ref_bomb_costs_nothing() {
        // t0 = (1, 1); t(k+1) = (r tk, r tk): 60 levels stand for 2**60 leaves.
        let mut bytes = Vec::new();
        let levels = 60;
        for _ in 0..levels {
            bytes.extend([b')' | FLAG_REF, 2]);
        }
        bytes.extend(int(1));
        bytes.extend(int(1));
        // Close from the innermost: slot of level k is k; each outer level's 2nd item is r(inner).
        for k in (1..levels).rev() {
            bytes.push(b'r');
            bytes.extend(i32le(k));
        }
        let d = dec(&bytes);
        assert!(d.arena.len() < 100, "{} values", d.arena.len());
    }

    #[test]
    fn nesting_is_capped_without_recursion() {
        let mut bytes = Vec::new();
        for _ in 0..100_000 {
            bytes.extend([b')', 1]);
        }
        bytes.push(b'N');
        assert!(fail(&bytes).message.contains("nesting deeper than"));
    }

    #[test]
    fn declared_lengths_are_checked_before_allocating() {
        for code in [b'(', b'[', b'<', b'>', b's', b'u', b't', b'a'] {
            let e = fail(&cat(&[&[code], &i32le(i32::MAX), b"NN"]));
            assert!(e.message.contains("declares"), "{e}");
        }
        assert!(fail(&cat(&[b"u", &i32le(-1)])).message.contains("negative"));
    }

    #[test]
    fn errors_carry_offsets() {
        let e = fail(&cat(&[b")\x02N", &[0x01]]));
        assert_eq!(e.offset, 3);
        assert!(e.to_string().ends_with("at byte 3"), "{e}");
        assert!(fail(b"?").message.contains("TYPE_UNKNOWN"));
        assert!(fail(b"i\x01\x00").message.contains("truncated"));
        assert!(fail(b"{").message.contains("truncated"));
    }

    #[test]
    fn trailing_bytes_are_left_unread() {
        let d = dec(b"Nxyz");
        assert_eq!(d.end, 1);
    }

    /// A code object in one of the four layouts, with name `f` in `a.py` at line 3.
    fn code(ints: usize, py311: bool) -> Vec<u8> {
        let mut v = vec![b'c'];
        for _ in 0..ints {
            v.extend(i32le(0));
        }
        v.extend(cat(&[b"s", &i32le(2), b"\x64\x00"])); // code
        v.extend(b")\x01N"); // consts
        v.extend(b")\x00"); // names
        if py311 {
            v.extend(b")\x00"); // localsplusnames
            v.extend(cat(&[b"s", &i32le(0)])); // localspluskinds
            v.extend(b"z\x04a.py"); // filename
            v.extend(b"z\x01f"); // name
            v.extend(b"z\x01f"); // qualname
        } else {
            v.extend(b")\x00)\x00)\x00"); // varnames freevars cellvars
            v.extend(cat(&[b"s", &i32le(4), b"a.py"])); // filename
            v.extend(cat(&[b"t", &i32le(1), b"f"])); // name
        }
        v.extend(i32le(3));
        v.extend(cat(&[b"s", &i32le(0)])); // lnotab / linetable
        if py311 {
            v.extend(cat(&[b"s", &i32le(0)])); // exceptiontable
        }
        v
    }

    #[test]
    fn code_objects_in_all_four_layouts() {
        for (ints, py311) in [(4, false), (5, false), (6, false), (5, true)] {
            let bytes = cat(&[b")\x02", &code(ints, py311), b"N"]);
            let d = dec(&bytes);
            let items = d.tuple(d.root).expect("tuple");
            let Value::Code(c) = d.get(items[0]) else {
                panic!("{:?}", d.get(items[0]))
            };
            assert_eq!(
                (c.name.as_str(), c.file.as_str(), c.firstlineno),
                ("f", "a.py", 3)
            );
            assert_eq!(d.get(items[1]), &Value::None, "layout ({ints}, {py311})");
            assert_eq!(code_repr(c), "<code object f, file \"a.py\", line 3>");
        }
    }

    #[test]
    fn a_code_object_fitting_no_layout_is_an_error() {
        let e = fail(b"c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00N");
        assert!(e.offset > 0, "{e}");
    }
}
