//! The backends' output buffer: bytes, integers (`itoa`) and numbers are appended to
//! one reusable `Vec<u8>` without going through `core::fmt`, and handed to the writer in
//! large chunks (the output is streamed, never held whole in memory). Numbers are
//! written byte for byte as `format!` writes them; the rare cases the fast paths do
//! not cover (ties, huge or non-finite values) go through `format!` itself.

use std::io::{self, Write};

/// Bytes gathered before they are handed to the writer.
const CHUNK: usize = 1 << 16;

/// A buffer in front of a writer. Call [`Output::end_record`] between records (it
/// passes the buffer on once it is full) and [`Output::finish`] at the end.
pub struct Output<'w> {
    buf: Vec<u8>,
    inner: &'w mut dyn Write,
}

impl<'w> Output<'w> {
    pub fn new(inner: &'w mut dyn Write) -> Output<'w> {
        Output {
            buf: Vec::with_capacity(CHUNK + 4096),
            inner,
        }
    }

    /// Passes the buffer to the writer once it holds a chunk.
    #[inline]
    pub fn end_record(&mut self) -> io::Result<()> {
        if self.buf.len() >= CHUNK {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes what is left and flushes the writer.
    pub fn finish(mut self) -> io::Result<()> {
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.inner.flush()
    }

    /// The bytes written since `start` (a length taken with [`Output::position`]).
    pub fn since(&self, start: usize) -> &[u8] {
        &self.buf[start..]
    }

    /// Bytes in the buffer: a mark for [`Output::since`] and [`Output::pad_since`].
    pub fn position(&self) -> usize {
        self.buf.len()
    }

    /// Right-aligns what was written since `start` in `width` characters, as
    /// `format!("{:>width$}")` does (characters, not bytes, are counted).
    pub fn pad_since(&mut self, start: usize, width: usize) {
        let written = &self.buf[start..];
        let chars = if written.is_ascii() {
            written.len()
        } else {
            std::str::from_utf8(written).map_or(written.len(), |s| s.chars().count())
        };
        if chars < width {
            let pad = width - chars;
            self.buf
                .splice(start..start, std::iter::repeat_n(b' ', pad));
        }
    }

    /// The buffer itself, for code that appends bytes its own way.
    pub fn raw(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    #[inline]
    pub fn str(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    #[inline]
    pub fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    /// `n` spaces.
    pub fn spaces(&mut self, n: usize) {
        self.buf.extend(std::iter::repeat_n(b' ', n));
    }

    /// An unsigned integer in decimal, as `{}` writes it.
    pub fn u64(&mut self, n: u64) {
        push_u64(&mut self.buf, n);
    }

    /// A signed integer in decimal, as `{}` writes it.
    pub fn i64(&mut self, n: i64) {
        push_i64(&mut self.buf, n);
    }

    /// A (possibly huge) call count in decimal, as `{}` writes it.
    pub fn i128(&mut self, n: i128) {
        self.bytes(itoa::Buffer::new().format(n).as_bytes());
    }

    /// `x` as `format!("{x}")` writes it (shortest form that reads back exactly).
    pub fn f64(&mut self, x: f64) {
        // Whole numbers that are exact as integers print as integers ("24", "-0").
        // Below 2^53 a float is whole exactly when it survives the round trip through
        // i64 (`fract` would be a library call on baseline x86-64); NaN fails the range
        // test.
        let whole = x as i64;
        if x.abs() < 9_007_199_254_740_992.0 && whole as f64 == x {
            if x == 0.0 && x.is_sign_negative() {
                self.buf.push(b'-');
            }
            self.i64(whole);
        } else {
            let _ = write!(self.buf, "{x}");
        }
    }

    /// `x` as `format!("{x:?}")` writes it (shortest form, exponent when very large
    /// or small, always with a decimal point or exponent).
    pub fn f64_debug(&mut self, x: f64) {
        let _ = write!(self.buf, "{x:?}");
    }

    /// `x` with `prec` decimals, as `format!("{x:.prec$}")` writes it.
    pub fn fixed(&mut self, x: f64, prec: u32) {
        if !self.try_fixed(x, prec) {
            let _ = write!(self.buf, "{x:.*}", prec as usize);
        }
    }

    /// `x` with `prec` decimals right-aligned in `width` characters, as
    /// `format!("{x:width$.prec$}")` writes it.
    pub fn fixed_padded(&mut self, x: f64, prec: u32, width: usize) {
        let start = self.buf.len();
        self.fixed(x, prec);
        self.pad_since(start, width);
    }

    /// The exact decimal rounding of `x` by integer arithmetic; false (nothing
    /// written) when `x` is not finite, too large or too small for it, or exactly
    /// halfway between two results (`core::fmt` then decides).
    fn try_fixed(&mut self, x: f64, prec: u32) -> bool {
        const POW10: [u64; 10] = [
            1,
            10,
            100,
            1_000,
            10_000,
            100_000,
            1_000_000,
            10_000_000,
            100_000_000,
            1_000_000_000,
        ];
        if !x.is_finite() || prec as usize >= POW10.len() {
            return false;
        }
        let bits = x.to_bits();
        let negative = bits >> 63 == 1;
        let exp_bits = ((bits >> 52) & 0x7ff) as i32;
        let frac = bits & ((1u64 << 52) - 1);
        // x = mantissa × 2^exp exactly.
        let (mantissa, exp) = if exp_bits == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), exp_bits - 1075)
        };
        let scale = POW10[prec as usize];
        // The result in units of 10^-prec, rounded to nearest.
        let units: u128 = if exp >= 0 {
            if exp > 40 {
                return false;
            }
            (u128::from(mantissa) << exp) * u128::from(scale)
        } else {
            let shift = -exp as u32;
            if shift >= 120 {
                return false;
            }
            let scaled = u128::from(mantissa) * u128::from(scale);
            let whole = scaled >> shift;
            let rest = scaled & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            match rest.cmp(&half) {
                std::cmp::Ordering::Less => whole,
                std::cmp::Ordering::Greater => whole + 1,
                std::cmp::Ordering::Equal => return false,
            }
        };
        if negative {
            self.buf.push(b'-');
        }
        let int = units / u128::from(scale);
        let decimals = (units % u128::from(scale)) as u64;
        self.bytes(itoa::Buffer::new().format(int).as_bytes());
        if prec > 0 {
            self.buf.push(b'.');
            let mut digits = [b'0'; 9];
            let mut d = decimals;
            for slot in digits[..prec as usize].iter_mut().rev() {
                *slot = b'0' + (d % 10) as u8;
                d /= 10;
            }
            self.buf.extend_from_slice(&digits[..prec as usize]);
        }
        true
    }
}

/// `x.round() as u64`, exactly (halves away from zero, NaN and negatives 0, overflow
/// saturating), without the library call that `f64::round` is on baseline x86-64.
#[inline]
pub fn round_u64(x: f64) -> u64 {
    // Below 2^63 the signed conversions give the same values and are one instruction
    // each way (the unsigned ones are branchy sequences on baseline x86-64).
    if (0.0..9_223_372_036_854_775_808.0).contains(&x) {
        let whole = x as i64;
        return if x - whole as f64 >= 0.5 {
            whole as u64 + 1
        } else {
            whole as u64
        };
    }
    let whole = x as u64; // truncates; saturates; NaN gives 0
    // Below 2^53 `whole` is exact as a float and `x - whole` is exact; above, `x` is a
    // whole number and the difference is 0.
    if x - whole as f64 >= 0.5 {
        whole.saturating_add(1)
    } else {
        whole
    }
}

/// Appends `n` in decimal, as `{}` writes it.
#[inline]
pub fn push_u64(buf: &mut Vec<u8>, n: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `n` in decimal, as `{}` writes it.
pub fn push_i64(buf: &mut Vec<u8>, n: i64) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

impl Write for Output<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What `f` writes through an [`Output`], as a string (for the backends' tests).
#[cfg(test)]
pub(crate) fn written(f: impl FnOnce(&mut Output<'_>)) -> String {
    let mut sink = Vec::new();
    let mut out = Output::new(&mut sink);
    f(&mut out);
    out.finish().unwrap();
    String::from_utf8(sink).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::backend::output::written as with;

    #[test]
    fn rounding_to_u64_is_what_round_and_cast_give() {
        let mut xs = samples();
        xs.extend([
            0.49999999999999994,
            4503599627370495.5,
            9007199254740993.0,
            9.2e18,
            9_223_372_036_854_775_808.0,
            -0.4,
            -0.6,
            1.8e19,
            2e19,
        ]);
        xs.extend((0..2000).map(|i| f64::from(i) * 0.25 + 0.125));
        for x in xs {
            assert_eq!(round_u64(x), x.round() as u64, "{x:e}");
        }
    }

    /// A deterministic spread of doubles: every exponent, random mantissas, signs.
    fn samples() -> Vec<f64> {
        let mut v = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.0625,
            0.125,
            0.0005,
            0.0015,
            1e-7,
            1e300,
            -1e300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            99.2,
            0.8,
            24.0,
            123456789.0,
            9_007_199_254_740_993.0,
        ];
        let mut next = crate::rng::xorshift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let state = next();
            let x = f64::from_bits(state);
            v.push(x);
            // Everyday magnitudes too: seconds, percentages, pixel offsets.
            let y = (state >> 11) as f64 / (1u64 << 53) as f64;
            v.push(y * 1000.0);
            v.push(-y * 0.01);
            v.push((y * 1e6).round() / 16.0);
        }
        v
    }

    #[test]
    fn fixed_matches_core_fmt() {
        for x in samples() {
            for prec in [0u32, 1, 2, 3, 6] {
                let p = prec as usize;
                assert_eq!(with(|o| o.fixed(x, prec)), format!("{x:.p$}"), "{x:e} .{p}");
            }
            assert_eq!(with(|o| o.fixed_padded(x, 3, 8)), format!("{x:8.3}"));
        }
    }

    #[test]
    fn display_and_integers_match_core_fmt() {
        for x in samples() {
            assert_eq!(with(|o| o.f64(x)), format!("{x}"), "{x:e}");
        }
        for n in [
            0i64,
            1,
            -1,
            9,
            10,
            99,
            100,
            101,
            999,
            i64::MAX,
            i64::MIN,
            1234567,
        ] {
            assert_eq!(with(|o| o.i64(n)), n.to_string());
        }
        // Every length, and both sides of each power of ten and of two.
        let mut powers: Vec<u64> = (0..20).map(|k| 10u64.pow(k)).collect();
        powers.extend(powers.clone().iter().map(|p| p - 1));
        powers.extend((1..64).flat_map(|k| [1u64 << k, (1u64 << k) - 1]));
        powers.extend([u64::MAX, 123_456_789_012_345_678]);
        for n in powers {
            assert_eq!(with(|o| o.u64(n)), n.to_string());
        }
        for n in [i128::MAX, i128::MIN, 0, -5, 1 << 70] {
            assert_eq!(with(|o| o.i128(n)), n.to_string());
        }
    }

    #[test]
    fn padding_counts_characters() {
        assert_eq!(
            with(|o| {
                let start = o.position();
                o.str("1.2µs");
                o.pad_since(start, 9);
            }),
            format!("{:>9}", "1.2µs")
        );
    }

    #[test]
    fn large_output_is_passed_on_in_chunks() {
        let mut sink = Vec::new();
        let mut out = Output::new(&mut sink);
        for i in 0..100_000u64 {
            out.u64(i);
            out.byte(b'\n');
            out.end_record().unwrap();
        }
        out.finish().unwrap();
        assert_eq!(sink.iter().filter(|&&b| b == b'\n').count(), 100_000);
    }
}
