//! [`Text`], the string type of names and files: inline when short, a slice of the
//! input buffer when long, always valid UTF-8.

use std::fmt;

use bytes::Bytes;

/// UTF-8 text: short strings (most function names) are kept inline, longer ones
/// share the input buffer (sliced, not copied). Inline texts cost no reference counting
/// to make, copy or drop, which a large profile does millions of times.
#[derive(Clone, Default)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; Text::INLINE] },
    Shared(Bytes),
}

impl Default for Repr {
    fn default() -> Repr {
        Repr::Inline {
            len: 0,
            bytes: [0; Text::INLINE],
        }
    }
}

// Inline texts make a text no larger than the `Bytes` it would otherwise be.
const _: () = assert!(std::mem::size_of::<Text>() == std::mem::size_of::<Bytes>());

impl Text {
    /// The longest text kept inline.
    pub(super) const INLINE: usize = 23;

    /// Bytes known to be valid UTF-8: copied inline if short, else shared.
    fn valid(bytes: &[u8], shared: impl FnOnce() -> Bytes) -> Text {
        if bytes.len() <= Self::INLINE {
            let mut inline = [0u8; Self::INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            Text(Repr::Inline {
                len: bytes.len() as u8,
                bytes: inline,
            })
        } else {
            Text(Repr::Shared(shared()))
        }
    }

    /// Wraps bytes that are already valid UTF-8; anything else is decoded lossily
    /// (invalid sequences and lone surrogates become U+FFFD) into a fresh buffer.
    pub fn from_utf8_lossy(bytes: Bytes) -> Text {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Text::valid(&bytes, || bytes.clone()),
            Err(_) => Text::from(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    /// [`Text::from_utf8_lossy`] of `data[range]`, slicing `data` only if the text is
    /// not kept inline.
    pub fn from_utf8_lossy_in(data: &Bytes, range: std::ops::Range<usize>) -> Text {
        let bytes = &data[range.clone()];
        match std::str::from_utf8(bytes) {
            Ok(_) => Text::valid(bytes, || data.slice(range)),
            Err(_) => Text::from(String::from_utf8_lossy(bytes).into_owned()),
        }
    }

    /// Decodes Latin-1 bytes (marshal's `a`/`A`/`z`/`Z` codes are read as Latin-1).
    #[inline]
    pub fn from_latin1(bytes: Bytes) -> Text {
        if bytes.is_ascii() {
            Text::valid(&bytes, || bytes.clone())
        } else {
            Text::from(bytes.iter().map(|&b| b as char).collect::<String>())
        }
    }

    /// [`Text::from_latin1`] of `data[range]`, slicing `data` only if the text is not
    /// kept inline.
    #[inline]
    pub fn from_latin1_in(data: &Bytes, range: std::ops::Range<usize>) -> Text {
        let bytes = &data[range.clone()];
        if bytes.is_ascii() {
            Text::valid(bytes, || data.slice(range))
        } else {
            Text::from(bytes.iter().map(|&b| b as char).collect::<String>())
        }
    }

    /// `data[range]` if it is valid UTF-8 (inline if short, else sliced), else `None`.
    pub fn from_utf8_in(data: &Bytes, range: std::ops::Range<usize>) -> Option<Text> {
        let bytes = &data[range.clone()];
        std::str::from_utf8(bytes).ok()?;
        Some(Text::valid(bytes, || data.slice(range)))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text cut to at most `max` bytes by eliding its middle (`head…tail`, on
    /// character boundaries), or `None` if it is no longer than `max` already.
    pub fn shortened(&self, max: usize) -> Option<Text> {
        shortened_str(self.as_str(), max).map(Text::from)
    }

    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Shared(b) => b,
        }
    }

    pub fn as_str(&self) -> &str {
        debug_assert!(std::str::from_utf8(self.as_bytes()).is_ok());
        // SAFETY: the field is private and every constructor above stores valid UTF-8
        // (checked, converted from Latin-1, or taken from a `str`/`String`), inline
        // texts are copies of whole valid texts, and `Bytes` is immutable. Every output
        // reads every label through here, so re-checking would validate each name once
        // per use instead of once when read (docs/performance.md).
        unsafe { std::str::from_utf8_unchecked(self.as_bytes()) }
    }
}

/// The mark that stands for the elided middle of a [`Text::shortened`] text.
pub const ELISION: &str = "…";

/// `s` cut to at most `max` bytes by eliding its middle, or `None` if it fits. The head
/// keeps about two thirds of the room (a path's directories or a qualified name's
/// outer parts say most), the tail the rest (the file or the innermost name).
pub fn shortened_str(s: &str, max: usize) -> Option<String> {
    if s.len() <= max {
        return None;
    }
    let room = max.saturating_sub(ELISION.len());
    let mut head = room * 2 / 3;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - (room - head);
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    let mut out = String::with_capacity(max);
    out.push_str(&s[..head]);
    out.push_str(ELISION);
    out.push_str(&s[tail..]);
    Some(out)
}

impl Text {
    /// The same text, kept apart from the buffer it was read from: a long text shares
    /// its input's buffer, which it keeps alive; a merge that outlives its inputs copies
    /// the few texts it keeps rather than holding every input.
    pub fn detached(&self) -> Text {
        match &self.0 {
            Repr::Inline { .. } => self.clone(),
            Repr::Shared(b) => Text(Repr::Shared(Bytes::copy_from_slice(b))),
        }
    }

    /// Whether the text is kept in a buffer (see [`Text::detached`]) rather than inline.
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Repr::Shared(_))
    }
}

// Texts compare, order and hash as their strings, however they are kept.
impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_bytes().hash(h)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::valid(s.as_bytes(), || Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        if s.len() <= Self::INLINE {
            Text::from(s.as_str())
        } else {
            Text(Repr::Shared(Bytes::from(s)))
        }
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Text {
    /// Where the text's bytes are: two texts with one slice id hold the same bytes.
    pub(super) fn slice_id(&self) -> (usize, usize) {
        let b = self.as_bytes();
        (b.as_ptr() as usize, b.len())
    }
}
