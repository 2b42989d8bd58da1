//! A profile of calls written as the stats file cProfile writes (`marshal.dump` of its
//! stats dict: `formats/pstats/README.md`), for `flameprof run --save-prof` when the
//! stats were derived from recorded call paths rather than written by cProfile.
//!
//! Marshal version 4's subset that cProfile's files use: the dict (`{` … `0`), tuples
//! (`)` with a one-byte length), strings (`u`, UTF-8), integers (`i`, and `l` past
//! 32 bits) and floats (`g`). Rows in the profile's listing order, each row's callers
//! in the order of its edges; pstats, snakeviz and flameprof read it.

use crate::model::{Count, EdgeStats, FuncKey, Profile, Stats};

/// The stats file of `profile` (a profile of calls; edges with bare counts are written
/// with zero times).
pub fn write(profile: &Profile) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(b'{');
    for &f in profile.listing_order() {
        let function = profile.function(f);
        key(&mut out, &function.key);
        out.extend([b')', 5]);
        numbers(&mut out, &function.stats, true);
        out.push(b'{');
        for e in profile.callers_of(f) {
            key(&mut out, &profile.function(e.caller).key);
            out.extend([b')', 4]);
            let s = match e.stats {
                EdgeStats::Timed(s) => s,
                EdgeStats::Count(n) => Stats {
                    cc: n.get(),
                    nc: n.get(),
                    tt: 0.0,
                    ct: 0.0,
                },
            };
            numbers(&mut out, &s, false);
        }
        out.push(b'0');
    }
    out.push(b'0');
    out
}

/// `(file, line, name)`.
fn key(out: &mut Vec<u8>, key: &FuncKey) {
    out.extend([b')', 3]);
    string(out, key.file.as_str());
    int(out, Count::from(key.line));
    string(out, key.name.as_str());
}

/// A row's `cc, nc, tt, ct` (`function`), or a callers entry's `nc, cc, tt, ct`.
fn numbers(out: &mut Vec<u8>, s: &Stats, function: bool) {
    let (a, b) = if function { (s.cc, s.nc) } else { (s.nc, s.cc) };
    int(out, a);
    int(out, b);
    float(out, s.tt);
    float(out, s.ct);
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'u');
    out.extend((s.len() as u32).to_le_bytes());
    out.extend(s.as_bytes());
}

fn int(out: &mut Vec<u8>, n: Count) {
    if let Ok(small) = i32::try_from(n) {
        out.push(b'i');
        out.extend(small.to_le_bytes());
        return;
    }
    // A long: its size in 15-bit digits (negative for a negative number), then the
    // digits, least significant first.
    let mut magnitude = n.unsigned_abs();
    let mut digits = Vec::new();
    while magnitude > 0 {
        digits.push((magnitude & 0x7fff) as u16);
        magnitude >>= 15;
    }
    let size = digits.len() as i32;
    out.push(b'l');
    out.extend((if n < 0 { -size } else { size }).to_le_bytes());
    for d in digits {
        out.extend(d.to_le_bytes());
    }
}

fn float(out: &mut Vec<u8>, x: f64) {
    out.push(b'g');
    out.extend(x.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProfileBuilder;

    #[test]
    fn the_file_reads_back_into_the_same_profile() {
        let mut b = ProfileBuilder::new();
        let stats = |cc: Count, nc: Count, tt: f64, ct: f64| Stats { cc, nc, tt, ct };
        let main = FuncKey::new("app.py", 1, "main");
        let f = FuncKey::new("dé/app.py", 7, "f");
        let len = FuncKey::new("~", 0, "<built-in method builtins.len>");
        b.add_function(main.clone(), stats(1, 1, 0.5, 2.0));
        b.add_function(f.clone(), stats(3, 5_000_000_000, 1.0, 1.5));
        b.add_function(len.clone(), stats(-2, 7, 0.25, 0.25));
        b.add_edge(
            main.clone(),
            f.clone(),
            EdgeStats::Timed(stats(3, 5_000_000_000, 1.0, 1.5)),
        );
        b.add_edge(
            f.clone(),
            f.clone(),
            EdgeStats::Timed(stats(0, 2, 0.1, 0.0)),
        );
        b.add_edge(
            f.clone(),
            len.clone(),
            EdgeStats::Timed(stats(7, 7, 0.25, 0.25)),
        );
        let profile = b.finish();
        let bytes = write(&profile);
        let back = crate::input::load("x.prof", bytes::Bytes::from(bytes))
            .unwrap()
            .profile;
        assert_eq!(back.functions(), profile.functions());
        assert_eq!(back.edges(), profile.edges());
        assert_eq!(back.listing_order(), profile.listing_order());
    }
}
