//! The fast path of reading a stats file: a stats dict of the usual shape read straight
//! from the bytes into a [`ProfileBuilder`], with no decoded values in between.
//!
//! It accepts only what well-formed files hold: a top-level dict of `(file, line, name)`
//! keys and `(cc, nc, tt, ct, callers)` values, whose callers dicts map such keys to
//! `(nc, cc, tt, ct)` tuples or int counts, written with the codes real writers use
//! (`{ 0 ( ) i I l g s t R u a A z Z r T F`, with or without FLAG_REF). At anything else
//! — another type code or shape, anything that would give a reader warning or an error
//! (a string that is not valid UTF-8 or longer than [`MAX_TEXT_BYTES`], labels over the
//! [`label_budget`]), a reference to a value it did not keep — it gives up and returns `None`, and
//! [`super::pstats::load`] reads the file again with the general decoder
//! ([`super::marshal`]), which owns every policy and message.
//!
//! For a file it accepts, it gives what the general path gives: the same rows, the same
//! edges added in the same order, the same texts (strings are decoded by the same
//! [`Text`] constructors, references are numbered as the decoder numbers them).
//!
//! Speed comes from: nothing is allocated per value; a key tuple written once and
//! referenced with `r` (as cProfile writes every caller key) is interned once, its
//! reference resolving straight to the builder index; a key tuple made of references to
//! strings already seen is found by the strings' indexes before any hashing; strings
//! are checked and hashed once per string object, not once per use (a key's hash mixes
//! its strings' hashes, [`ProfileBuilder::intern_parts`]); the usual code of each
//! position (`i`, `g`, `r`) is read inline rather than through the general dispatch.
//!
//! Its bounds are the decoder's: no recursion (the shape is at most four deep), no
//! length trusted beyond the bytes left, tables that grow with the bytes read, and the
//! same edge budget ([`super::pstats::edge_budget`]).

use bytes::Bytes;

use super::marshal::long_value;
use super::pstats::{MAX_TEXT_BYTES, label_budget};
use crate::model::{BuilderId, Count, EdgeStats, FuncKey, ProfileBuilder, Stats, Text};

const FLAG_REF: u8 = 0x80;

/// Reads the stats dict at the start of `data`. Returns the builder and the offset just
/// after the dict, or `None` if the file needs the general decoder.
pub fn read(data: &Bytes, edge_budget: usize) -> Option<(ProfileBuilder, usize)> {
    let mut r = Reader {
        label_bytes_left: label_budget(data.len()),
        data,
        pos: 0,
        refs: Vec::new(),
        texts: Vec::new(),
        text_hashes: Vec::new(),
        longs: Vec::new(),
        interned: Vec::new(),
        builder: ProfileBuilder::new(),
        last_key: Vec::new(),
        edges_left: edge_budget,
    };
    // Room for what usual files hold (a caller entry takes 40-75 bytes, a row a few
    // hundred, a kept string ~150 bytes of file, a reference slot ~100): growing the
    // tables costs copies and page faults (a 1M-edge table outgrowing its room is 70 MB
    // copied into 140 MB). Memory that stays unused is only reserved, never touched.
    r.builder.reserve(data.len() / 128, data.len() / 40);
    r.refs.reserve(data.len() / 64);
    r.texts.reserve(data.len() / 128);
    r.text_hashes.reserve(data.len() / 128);
    r.last_key.reserve(data.len() / 128);
    r.stats_dict()?;
    Some((r.builder, r.pos))
}

/// What the reference table keeps of each flagged value: only what a later `r` to it
/// may stand for in a stats dict. Anything else is `Other`, and an `r` to it gives up.
#[derive(Clone, Copy)]
enum Slot {
    /// Index into [`Reader::texts`].
    Text(u32),
    Int(i64),
    /// Index into [`Reader::longs`] (ints beyond `i64`).
    Long(u32),
    Float(f64),
    /// A `(file, line, name)` key tuple, interned as this builder index.
    Key(u32),
    /// A container (possibly still being read), or nothing a stats dict refers to.
    Other,
}

/// One object as the fast path sees it.
enum Item {
    /// A string read once (neither flagged nor interned).
    Text(Text),
    /// A string kept in [`Reader::texts`] (flagged, interned or referenced).
    TextAt(u32),
    /// Ints and bools (`True` is 1, as in Python).
    Int(Count),
    Float(f64),
    /// A reference to a key tuple already interned.
    Key(BuilderId),
    /// A tuple's start: its item count and its reference slot, if flagged.
    Tuple(usize, Option<usize>),
    /// A dict's start.
    Dict,
    /// The NULL marker that ends a dict.
    Null,
}

struct Reader<'a> {
    data: &'a Bytes,
    pos: usize,
    /// The FLAG_REF table, numbered as the general decoder numbers it.
    refs: Vec<Slot>,
    texts: Vec<Text>,
    /// Per kept string: its [`ProfileBuilder::text_hash`], computed once.
    text_hashes: Vec<u64>,
    longs: Vec<Count>,
    /// The py2 interned-string list (`t` appends, `R` looks up): indexes into `texts`.
    interned: Vec<u32>,
    builder: ProfileBuilder,
    /// Per kept string: the last key interned with it as its name (file, line, index).
    last_key: Vec<Option<(u32, i64, u32)>>,
    /// Caller entries still allowed by the edge budget.
    edges_left: usize,
    /// Bytes of file and function names the functions interned so far may still add.
    label_bytes_left: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn i32(&mut self) -> Option<i32> {
        let b = self.take(4)?;
        Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn le8(&mut self) -> Option<[u8; 8]> {
        self.take(8)?.try_into().ok()
    }

    /// A non-negative i32 length.
    /// The length of a string, if it is not over [`MAX_TEXT_BYTES`] (longer names are
    /// the general path's to shorten and warn about; a `z` string never is).
    fn text_len(&mut self) -> Option<usize> {
        self.len().filter(|&n| n <= MAX_TEXT_BYTES)
    }

    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.i32()?).ok()
    }

    /// Where the next `n` bytes of payload are; moves past them.
    fn span(&mut self, n: usize) -> Option<std::ops::Range<usize>> {
        let start = self.pos;
        let end = start.checked_add(n)?;
        if end > self.data.len() {
            return None;
        }
        self.pos = end;
        Some(start..end)
    }

    fn keep(&mut self, flag: bool, slot: Slot) {
        if flag {
            self.refs.push(slot);
        }
    }

    fn keep_text(&mut self, flag: bool, t: Text) -> u32 {
        let i = self.texts.len() as u32;
        self.text_hashes.push(self.builder.text_hash(&t));
        self.texts.push(t);
        self.keep(flag, Slot::Text(i));
        i
    }

    fn item(&mut self) -> Option<Item> {
        let byte = self.u8()?;
        let flag = byte & FLAG_REF != 0;
        Some(match byte & !FLAG_REF {
            b'0' => Item::Null,
            // Singletons never take a slot, flagged or not.
            b'T' => Item::Int(1),
            b'F' => Item::Int(0),
            b'i' => {
                let n = self.i32()?;
                self.keep(flag, Slot::Int(n.into()));
                Item::Int(n.into())
            }
            b'I' => {
                let n = i64::from_le_bytes(self.le8()?);
                self.keep(flag, Slot::Int(n));
                Item::Int(n.into())
            }
            b'l' => {
                let n = self.i32()?;
                let count = n.unsigned_abs() as usize;
                let digits = self.take(count.checked_mul(2)?)?;
                let v = long_value(n, digits).ok()?;
                if flag {
                    let slot = match i64::try_from(v) {
                        Ok(small) => Slot::Int(small),
                        Err(_) => {
                            self.longs.push(v);
                            Slot::Long(self.longs.len() as u32 - 1)
                        }
                    };
                    self.refs.push(slot);
                }
                Item::Int(v)
            }
            b'g' => {
                let x = f64::from_le_bytes(self.le8()?);
                self.keep(flag, Slot::Float(x));
                Item::Float(x)
            }
            code @ (b'u' | b't' | b's') => {
                // `s` (py2 str, py3 bytes) is text wherever a stats dict holds a string.
                let n = self.text_len()?;
                let t = Text::from_utf8_in(self.data, self.span(n)?)?;
                if code == b't' {
                    let i = self.keep_text(flag, t);
                    self.interned.push(i);
                    Item::TextAt(i)
                } else if flag {
                    Item::TextAt(self.keep_text(flag, t))
                } else {
                    Item::Text(t)
                }
            }
            code @ (b'a' | b'A' | b'z' | b'Z') => {
                let n = if code == b'a' || code == b'A' {
                    self.text_len()?
                } else {
                    usize::from(self.u8()?)
                };
                let t = Text::from_latin1_in(self.data, self.span(n)?);
                if flag {
                    Item::TextAt(self.keep_text(flag, t))
                } else {
                    Item::Text(t)
                }
            }
            b'R' => {
                let i = usize::try_from(self.i32()?).ok()?;
                Item::TextAt(*self.interned.get(i)?)
            }
            b'r' => {
                let i = usize::try_from(self.i32()?).ok()?;
                match *self.refs.get(i)? {
                    Slot::Text(t) => Item::TextAt(t),
                    Slot::Int(n) => Item::Int(n.into()),
                    Slot::Long(l) => Item::Int(self.longs[l as usize]),
                    Slot::Float(x) => Item::Float(x),
                    Slot::Key(id) => Item::Key(id as BuilderId),
                    Slot::Other => return None,
                }
            }
            code @ (b'(' | b')') => {
                let n = if code == b')' {
                    usize::from(self.u8()?)
                } else {
                    self.len()?
                };
                let slot = flag.then_some(self.refs.len());
                self.keep(flag, Slot::Other);
                Item::Tuple(n, slot)
            }
            b'{' => {
                self.keep(flag, Slot::Other);
                Item::Dict
            }
            _ => return None,
        })
    }

    fn text(&mut self) -> Option<Item> {
        match self.item()? {
            t @ (Item::Text(_) | Item::TextAt(_)) => Some(t),
            _ => None,
        }
    }

    /// The text of an item from [`Reader::text`].
    fn owned(&self, t: Item) -> Text {
        match t {
            Item::Text(t) => t,
            Item::TextAt(i) => self.texts[i as usize].clone(),
            _ => Text::default(),
        }
    }

    /// The type byte and the 4 bytes after it, if there are that many.
    #[inline]
    fn peek5(&self) -> Option<(u8, [u8; 4])> {
        let b = self.data.get(self.pos..self.pos + 5)?;
        Some((b[0], [b[1], b[2], b[3], b[4]]))
    }

    /// The slot an unflagged `r` at the current position refers to, if it is one.
    #[inline]
    fn peek_ref(&self) -> Option<Slot> {
        match self.peek5()? {
            (b'r', i) => self.refs.get(u32::from_le_bytes(i) as usize).copied(),
            _ => None,
        }
    }

    // The readers below take the usual codes of their position inline and leave
    // everything else (flagged values, other codes) to `item`, which reads them alike.

    #[inline]
    fn int(&mut self) -> Option<Count> {
        match self.peek5() {
            Some((b'i', b)) => {
                self.pos += 5;
                return Some(i32::from_le_bytes(b).into());
            }
            Some((b'r', _)) => {
                if let Some(Slot::Int(n)) = self.peek_ref() {
                    self.pos += 5;
                    return Some(n.into());
                }
            }
            _ => {}
        }
        match self.item()? {
            Item::Int(n) => Some(n),
            _ => None,
        }
    }

    /// A float; ints and bools convert, as in the general path.
    #[inline]
    fn number(&mut self) -> Option<f64> {
        if let Some(b) = self.data.get(self.pos..self.pos + 9)
            && b[0] == b'g'
        {
            self.pos += 9;
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[1..]);
            return Some(f64::from_le_bytes(x));
        }
        match self.item()? {
            Item::Float(x) => Some(x),
            Item::Int(n) => Some(n as f64),
            _ => None,
        }
    }

    /// Interns a key whose file and name are kept strings. cProfile writes each key
    /// twice as a tuple (the row's, and the one its callers dicts share), both made of
    /// references to the same strings: the last key seen with each name string answers
    /// the second one without hashing.
    fn intern_kept(&mut self, file: u32, line: i64, name: u32) -> BuilderId {
        if self.last_key.len() < self.texts.len() {
            self.last_key.resize(self.texts.len(), None);
        }
        if let Some((f, l, id)) = self.last_key[name as usize]
            && f == file
            && l == line
        {
            return id as BuilderId;
        }
        let (f, n) = (file as usize, name as usize);
        let id = self.builder.intern_parts(
            (&self.texts[f], self.text_hashes[f]),
            line,
            (&self.texts[n], self.text_hashes[n]),
        );
        self.last_key[name as usize] = Some((file, line, id as u32));
        id
    }

    /// A string in a key: a reference to a kept one, the most common case, read inline;
    /// anything else is read by [`Reader::new_key_text`], out of line (a call that
    /// saves and restores registers only when a string is new).
    #[inline]
    fn key_text(&mut self) -> Option<Item> {
        if let Some(Slot::Text(t)) = self.peek_ref() {
            self.pos += 5;
            return Some(Item::TextAt(t));
        }
        self.new_key_text()
    }

    /// [`Reader::key_text`] past a reference: a flagged short ASCII string (`z`/`Z`, as
    /// cProfile writes every name and file name the first time) inline, else any text.
    #[inline(never)]
    fn new_key_text(&mut self) -> Option<Item> {
        match self.data.get(self.pos..self.pos + 2) {
            Some(&[code, n]) if code == b'z' | FLAG_REF || code == b'Z' | FLAG_REF => {
                let start = self.pos + 2;
                if self.data.len() >= start + usize::from(n) {
                    let t = Text::from_latin1_in(self.data, start..start + usize::from(n));
                    self.pos = start + usize::from(n);
                    return Some(Item::TextAt(self.keep_text(true, t)));
                }
            }
            _ => {}
        }
        self.text()
    }

    /// The next item, reading a small tuple (`)`) of `n` items inline.
    #[inline]
    fn item_or_small_tuple(&mut self, n: u8) -> Option<Item> {
        if let Some(&[code, count]) = self.data.get(self.pos..self.pos + 2)
            && code & !FLAG_REF == b')'
            && count == n
        {
            self.pos += 2;
            let flag = code & FLAG_REF != 0;
            let slot = flag.then_some(self.refs.len());
            self.keep(flag, Slot::Other);
            return Some(Item::Tuple(n.into(), slot));
        }
        self.item()
    }

    /// The start of a dict.
    #[inline]
    fn dict(&mut self) -> Option<()> {
        let code = self.u8()?;
        if code & !FLAG_REF != b'{' {
            return None;
        }
        self.keep(code & FLAG_REF != 0, Slot::Other);
        Some(())
    }

    /// A `(file, line, name)` key, or the NULL that ends the dict (`Ok(None)`).
    /// Inline, as most keys are a reference to a key tuple read before, or the end; a
    /// key tuple is read by [`Reader::new_key`], out of line.
    #[inline]
    fn key_or_end(&mut self) -> Option<Option<BuilderId>> {
        match self.data.get(self.pos..self.pos + 2) {
            Some(&[b'r', _]) => {
                if let Some(Slot::Key(id)) = self.peek_ref() {
                    self.pos += 5;
                    return Some(Some(id as BuilderId));
                }
            }
            Some(&[b'0' | 0xB0, _]) => {
                self.pos += 1;
                return Some(None);
            }
            _ => {}
        }
        self.new_key()
    }

    /// [`Reader::key_or_end`] past its usual cases: mostly a key tuple.
    #[inline(never)]
    fn new_key(&mut self) -> Option<Option<BuilderId>> {
        let slot = match self.item_or_small_tuple(3)? {
            Item::Null => return Some(None),
            Item::Key(id) => return Some(Some(id)),
            Item::Tuple(3, slot) => slot,
            _ => return None,
        };
        let file = self.key_text()?;
        let line = self.int()?;
        let name = self.key_text()?;
        let line = i64::try_from(line).unwrap_or(if line < 0 { i64::MIN } else { i64::MAX });
        let known = self.builder.function_count();
        let id = match (file, name) {
            (Item::TextAt(f), Item::TextAt(n)) => self.intern_kept(f, line, n),
            (file, name) => {
                let key = FuncKey {
                    file: self.owned(file),
                    line,
                    name: self.owned(name),
                };
                self.builder.intern(key)
            }
        };
        if self.builder.function_count() > known {
            let key = self.builder.key(id);
            let cost = key.file.len() + key.name.len();
            self.label_bytes_left = self.label_bytes_left.checked_sub(cost)?;
        }
        if let Some(s) = slot {
            self.refs[s] = Slot::Key(id as u32);
        }
        Some(Some(id))
    }

    /// The top-level dict: keys and `(cc, nc, tt, ct, callers)` values.
    fn stats_dict(&mut self) -> Option<()> {
        self.dict()?;
        while let Some(id) = self.key_or_end()? {
            let Item::Tuple(5, _) = self.item_or_small_tuple(5)? else {
                return None;
            };
            let stats = Stats {
                cc: self.int()?,
                nc: self.int()?,
                tt: self.number()?,
                ct: self.number()?,
            };
            if self.builder.set_function_id(id, stats) {
                // A duplicate key keeps the last value and its callers.
                self.builder.clear_callers_id(id);
            }
            self.callers(id)?;
        }
        Some(())
    }

    /// A callers dict: caller key → `(nc, cc, tt, ct)` or an int count.
    fn callers(&mut self, callee: BuilderId) -> Option<()> {
        self.dict()?;
        while let Some(caller) = self.key_or_end()? {
            let edge = match self.item_or_small_tuple(4)? {
                Item::Int(n) => EdgeStats::Count(n.into()),
                Item::Tuple(4, _) => {
                    let nc = self.int()?;
                    let cc = self.int()?;
                    EdgeStats::Timed(Stats {
                        cc,
                        nc,
                        tt: self.number()?,
                        ct: self.number()?,
                    })
                }
                _ => return None,
            };
            // Over the budget, the general path skips the dict with a warning.
            self.edges_left = self.edges_left.checked_sub(1)?;
            self.builder.add_edge_ids(caller, callee, edge);
        }
        Some(())
    }
}
