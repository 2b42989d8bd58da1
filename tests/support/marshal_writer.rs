//! A small marshal writer for the property tests: writes stats dicts with the type
//! codes real writers use (py2 `( s t i I l g f`, py3 `{ ) ( u z a t i l g` with
//! FLAG_REF and `r` references), chosen by a tape of bytes the test generates. It
//! writes what CPython writes; it never needs to be fast.

/// The writer's encoding choices, read from bytes the property test generates, so
/// that a failing case shrinks to the plainest encoding as well: a zero byte (and an
/// empty tape, which reads as zeros) takes the first option and no reference or flag.
/// The tape repeats, so a short one still varies the choices through a long dict.
pub struct Tape {
    bytes: Vec<u8>,
    at: usize,
}

impl Tape {
    pub fn new(bytes: Vec<u8>) -> Tape {
        Tape { bytes, at: 0 }
    }
    fn byte(&mut self) -> u8 {
        if self.bytes.is_empty() {
            return 0;
        }
        let b = self.bytes[self.at % self.bytes.len()];
        self.at += 1;
        b
    }
    /// True for about `percent` of the byte values, never for 0.
    pub fn chance(&mut self, percent: u32) -> bool {
        u32::from(self.byte()) * 100 / 256 >= 100 - percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::from(self.byte()) % items.len()]
    }
}

/// A Python value of the kinds stats dicts hold.
#[derive(Clone, Debug)]
pub enum Py {
    Int(i128),
    /// An int beyond `i128` (written as an `l` long): `sign * 2^bits`.
    HugeInt {
        negative: bool,
        bits: u32,
    },
    Float(f64),
    /// A `str`, as the bytes Python's marshal writes (UTF-8 with surrogatepass).
    Str(Vec<u8>),
    /// A py2 `str` / py3 `bytes`.
    Bytes(Vec<u8>),
    Tuple(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

/// Marshal flavour: which codes the writer may use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Flavour {
    /// Python 2.7, marshal v2: `( s t i I l g`, no references.
    Py2,
    /// Python 3, marshal v0/v1: `( u i l f`, text floats.
    Py3V0,
    /// Python 3.4+, marshal v4: `) ( z Z a u i l g`, FLAG_REF and `r`.
    Py3V4,
}

pub struct Writer<'r> {
    pub out: Vec<u8>,
    tape: &'r mut Tape,
    flavour: Flavour,
    next_ref: i32,
    /// Already-written flagged values, by their marshal bytes, with their ref index.
    shared: Vec<(Vec<u8>, i32)>,
}

impl<'r> Writer<'r> {
    pub fn new(tape: &'r mut Tape, flavour: Flavour) -> Writer<'r> {
        Writer {
            out: Vec::new(),
            tape,
            flavour,
            next_ref: 0,
            shared: Vec::new(),
        }
    }

    fn i32(&mut self, n: i32) {
        self.out.extend_from_slice(&n.to_le_bytes());
    }

    /// Writes `v`; in v4, sometimes as a reference to an equal value written before
    /// (as CPython does for shared objects), sometimes flagged for later references.
    pub fn write(&mut self, v: &Py) {
        let v4 = self.flavour == Flavour::Py3V4;
        let shareable = matches!(v, Py::Str(_) | Py::Tuple(_) | Py::Float(_) | Py::Int(_));
        if v4 && shareable {
            // The bytes of `v` written alone, flag-free, identify it.
            let ident = {
                let mut tape = Tape::new(Vec::new());
                let mut w = Writer::new(&mut tape, Flavour::Py3V0);
                w.write(v);
                w.out
            };
            if let Some(&(_, index)) = self.shared.iter().find(|(b, _)| *b == ident)
                && self.tape.chance(80)
            {
                self.out.push(b'r');
                self.i32(index);
                return;
            }
            if self.tape.chance(50) {
                let index = self.next_ref;
                self.next_ref += 1;
                let start = self.out.len();
                self.write_plain(v);
                self.out[start] |= 0x80;
                self.shared.push((ident, index));
                return;
            }
        }
        self.write_plain(v);
    }

    fn write_plain(&mut self, v: &Py) {
        match v {
            Py::Int(n) => self.int(*n),
            Py::HugeInt { negative, bits } => {
                // 2^bits in 15-bit digits: zeros, then one digit with the top bit.
                let ndigits = bits / 15 + 1;
                self.out.push(b'l');
                let n = ndigits as i32;
                self.i32(if *negative { -n } else { n });
                for _ in 0..ndigits - 1 {
                    self.out.extend_from_slice(&0u16.to_le_bytes());
                }
                self.out
                    .extend_from_slice(&(1u16 << (bits % 15)).to_le_bytes());
            }
            Py::Float(x) => {
                if self.flavour == Flavour::Py3V0 {
                    let text = python_float_repr(*x);
                    self.out.push(b'f');
                    self.out.push(text.len() as u8);
                    self.out.extend_from_slice(text.as_bytes());
                } else {
                    self.out.push(b'g');
                    self.out.extend_from_slice(&x.to_le_bytes());
                }
            }
            Py::Str(b) => {
                let ascii = b.is_ascii();
                let code = match self.flavour {
                    Flavour::Py2 => *self.tape.pick(b"st"),
                    Flavour::Py3V0 => b'u',
                    Flavour::Py3V4 if ascii && b.len() < 256 => *self.tape.pick(b"zZu"),
                    Flavour::Py3V4 if ascii => *self.tape.pick(b"aAu"),
                    Flavour::Py3V4 => *self.tape.pick(b"ut"),
                };
                self.out.push(code);
                if matches!(code, b'z' | b'Z') {
                    self.out.push(b.len() as u8);
                } else {
                    self.i32(b.len() as i32);
                }
                self.out.extend_from_slice(b);
            }
            Py::Bytes(b) => {
                self.out.push(b's');
                self.i32(b.len() as i32);
                self.out.extend_from_slice(b);
            }
            Py::Tuple(items) => {
                if self.flavour == Flavour::Py3V4 && items.len() < 256 {
                    self.out.push(b')');
                    self.out.push(items.len() as u8);
                } else {
                    self.out.push(b'(');
                    self.i32(items.len() as i32);
                }
                for item in items {
                    self.write(item);
                }
            }
            Py::Dict(pairs) => {
                self.out.push(b'{');
                for (k, v) in pairs {
                    self.write(k);
                    self.write(v);
                }
                self.out.push(b'0');
            }
        }
    }

    fn int(&mut self, n: i128) {
        if let Ok(small) = i32::try_from(n) {
            self.out.push(b'i');
            self.i32(small);
        } else if self.flavour == Flavour::Py2
            && let Ok(mid) = i64::try_from(n)
        {
            self.out.push(b'I');
            self.out.extend_from_slice(&mid.to_le_bytes());
        } else {
            // 15-bit digits, least significant first; the sign is the count's.
            let mut m = n.unsigned_abs();
            let mut digits = Vec::new();
            while m > 0 {
                digits.push((m & 0x7FFF) as u16);
                m >>= 15;
            }
            self.out.push(b'l');
            let count = digits.len() as i32;
            self.i32(if n < 0 { -count } else { count });
            for d in digits {
                self.out.extend_from_slice(&d.to_le_bytes());
            }
        }
    }
}

/// What Python's `repr(float)` gives for the `f` text code.
fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        // Rust's shortest round-trip form parses back to the same bits.
        format!("{x:e}")
    }
}
