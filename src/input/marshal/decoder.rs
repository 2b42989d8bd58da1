//! The decoding itself: a loop over an explicit stack of containers being filled, the
//! reader of each type code, and code objects, whose field layout differs between
//! Python versions and is found by trying each in turn.

use bytes::Bytes;

use super::{
    Code, Decoded, ELLIPSIS, Error, FALSE, FLAG_REF, Handle, MAX_DEPTH, NONE, STOP_ITERATION, TRUE,
    Value,
};
use crate::model::Text;

/// How many times, in one decode, a code object may be re-read with another layout.
const LAYOUT_RETRY_BUDGET: u32 = 64;

/// What layout retries may read again, in all: this many times the input's size (and
/// 64 KiB at least). A layout that fails only after reading everything inside a code
/// object makes its nested code objects be read again once per layout of each level.
const REREAD_BUDGET_FACTOR: usize = 2;
const REREAD_BUDGET_MIN: usize = 1 << 16;

/// Items reserved up front for a container, whatever its declared count: the count
/// is checked against the bytes left, but nested containers could each declare all
/// of them.
const PREALLOC_ITEMS: usize = 4096;

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

pub(super) struct Decoder<'a> {
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
    /// Bytes read before a layout retry rewound over them, so far.
    reread: usize,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, Error> {
    Err(Error {
        offset,
        message: message.into(),
        truncated: false,
    })
}

/// The data ends before what it declares (see [`Error::truncated`]).
fn ends<T>(offset: usize, message: impl Into<String>) -> Result<T, Error> {
    Err(Error {
        offset,
        message: message.into(),
        truncated: true,
    })
}

impl<'a> Decoder<'a> {
    pub(super) fn new(data: &'a Bytes) -> Decoder<'a> {
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
            reread: 0,
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
            _ => ends(self.pos, format!("the file ends inside {what}")),
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
            return ends(
                at,
                format!("the file ends inside {what} ({n} bytes declared, {left} remain)"),
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

    pub(super) fn run(mut self) -> Result<Decoded, Error> {
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
            self.reread = self.reread.saturating_add(self.pos.saturating_sub(s.pos));
            let budget = self.data.len().saturating_mul(REREAD_BUDGET_FACTOR);
            if self.reread > budget.max(REREAD_BUDGET_MIN) {
                return Err(e);
            }
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
            return ends(at, "the file ends where an object should start");
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
            b'i' | b'I' | b'l' | b'g' | b'f' | b'y' | b'x' => {
                let v = self.number(code, at)?;
                self.scalar(v, flag)
            }
            b's' | b't' | b'u' | b'a' | b'A' | b'z' | b'Z' => self.string(code, at, flag)?,
            b'R' | b'r' => self.reference(code, at)?,
            b'(' | b')' | b'[' | b'<' | b'>' | b':' | b'{' | b'c' => {
                self.start_container(code, at, flag)?;
                return Ok(Start::Pushed);
            }
            b'?' => return err(at, "type code '?' (TYPE_UNKNOWN, written by a failed dump)"),
            // Marshal version 6 (Python 3.15) writes frozendicts; no profiler puts one
            // in a stats file, and reading it as something else would misread the rest.
            b'}' => {
                return err(
                    at,
                    "type code 0x7D ('}', a frozendict of marshal version 6, Python 3.15) \
                     is not supported in a stats file",
                );
            }
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

    /// The payload of a number: `i` `I` `l` ints, `g` `f` floats, `y` `x` complexes.
    fn number(&mut self, code: u8, at: usize) -> Result<Value, Error> {
        Ok(match code {
            b'i' => Value::Int(self.i32("an int")?.into()),
            b'I' => {
                let b = self.take(8, "an int64")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Int(i64::from_le_bytes(a).into())
            }
            b'l' => Value::Int(self.read_long(at)?),
            b'g' => Value::Float(self.f64("a float")?),
            b'f' => Value::Float(self.text_float(at)?),
            b'y' => {
                let re = self.f64("a complex")?;
                let im = self.f64("a complex")?;
                Value::Complex(re, im)
            }
            _ => {
                let re = self.text_float(at)?;
                let im = self.text_float(at)?;
                Value::Complex(re, im)
            }
        })
    }

    /// A string of any kind: `s` bytes, `t` `u` UTF-8 text (`t` also interned for
    /// Python 2's `R`), `a` `A` `z` `Z` ASCII text with a long or a short length.
    fn string(&mut self, code: u8, at: usize, flag: bool) -> Result<Handle, Error> {
        match code {
            b's' => {
                let n = self.len("a bytes string")?;
                let b = self.payload(n, at, "a bytes string")?;
                Ok(self.scalar(Value::Bytes(b), flag))
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
                Ok(h)
            }
            _ => {
                let n = if code == b'a' || code == b'A' {
                    self.len("an ASCII string")?
                } else {
                    self.u8("an ASCII string")? as usize
                };
                let b = self.payload(n, at, "an ASCII string")?;
                Ok(self.scalar(Value::Str(Text::from_latin1(b)), flag))
            }
        }
    }

    /// A reference to a value read before: `R` into Python 2's interned strings, `r`
    /// into the FLAG_REF table (never to a container still being read).
    fn reference(&mut self, code: u8, at: usize) -> Result<Handle, Error> {
        if code == b'R' {
            let n = self.i32("a py2 string reference")?;
            return match usize::try_from(n).ok().and_then(|i| self.interned.get(i)) {
                Some(&h) => Ok(h),
                None => {
                    let have = self.interned.len();
                    err(
                        at,
                        format!("invalid py2 string reference {n} (the list has {have} entries)"),
                    )
                }
            };
        }
        let n = self.i32("a reference")?;
        let h = usize::try_from(n)
            .ok()
            .and_then(|i| self.refs.get(i))
            .copied();
        match h {
            Some(h) if self.arena.get(h as usize) != Some(&Value::Pending) => Ok(h),
            Some(_) => err(
                at,
                format!("invalid reference {n} (to a container still being read)"),
            ),
            None => {
                let have = self.refs.len();
                err(
                    at,
                    format!("invalid reference {n} (the table has {have} entries)"),
                )
            }
        }
    }

    /// Reserves the slot of a container and pushes the frame its items fill: tuples,
    /// lists, sets and frozensets with a count, `:` slices of three, `{` dicts up to
    /// NULL, `c` code objects after their leading ints.
    fn start_container(&mut self, code: u8, at: usize, flag: bool) -> Result<(), Error> {
        match code {
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
                    return ends(
                        at,
                        format!(
                            "the file ends inside {what} ({n} items declared, {left} bytes remain)"
                        ),
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
            }
            b':' => {
                let slot = self.reserve(flag);
                self.stack.push(Frame::Seq {
                    kind: SeqKind::Slice,
                    slot,
                    items: Vec::with_capacity(3),
                    want: 3,
                });
            }
            b'{' => {
                let slot = self.reserve(flag);
                self.stack.push(Frame::Dict {
                    slot,
                    pairs: Vec::new(),
                    key: None,
                });
            }
            _ => {
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
            }
        }
        Ok(())
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
            return ends(
                at,
                format!(
                    "the file ends inside a long ({count} digits declared, {left} bytes remain)"
                ),
            );
        }
        let start = self.pos;
        let digits = self.take(2 * count, "a long")?;
        let value = long_value(n, digits).map_err(|(i, message)| Error {
            offset: start + 2 * i,
            message,
            truncated: false,
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
pub(in crate::input) fn long_value(n: i32, digits: &[u8]) -> Result<i128, (usize, String)> {
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

    /// Five code objects, each holding the next in a small tuple that every layout
    /// finds where it expects the bytecode (so each layout reads everything inside
    /// before the tuple is found not to fit), around a list of 200,000 Nones.
    fn nested_code_every_layout_reads(levels: usize, items: usize) -> Bytes {
        let mut inner = vec![b'['];
        inner.extend_from_slice(&(items as i32).to_le_bytes());
        inner.resize(inner.len() + items, b'N');
        for _ in 0..levels {
            let mut level = vec![b'c'];
            level.extend_from_slice(&[0; 16]);
            level.extend_from_slice(b")\x03NN)\x03NN)\x01");
            level.extend_from_slice(&inner);
            inner = level;
        }
        Bytes::from(inner)
    }

    #[test]
    fn layout_retries_read_at_most_twice_the_input_again() {
        let data = nested_code_every_layout_reads(5, 200_000);
        let mut d = Decoder::new(&data);
        assert!(d.root().is_err());
        assert!(d.retries > 2, "{} retries", d.retries);
        let bound = (data.len() * REREAD_BUDGET_FACTOR).max(REREAD_BUDGET_MIN) + data.len();
        assert!(
            d.reread <= bound,
            "{} bytes read again of {}",
            d.reread,
            data.len()
        );
    }
}
