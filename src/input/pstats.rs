//! The stats dict → [`Profile`](crate::model::Profile): recognising files that are not
//! stats at all, checking the shape of each entry, and the policies for odd entries
//! (see `formats/pstats/README.md`).
//!
//! Policies, chosen so that what we report agrees with what pstats itself reports
//! (`len(stats)`, Σtt, Σnc/Σcc) for every fixture in `tests/data/pstats/MANIFEST.md`:
//! - A malformed **value** (not a 5-tuple of two ints, two numbers and callers) rejects
//!   the file: the numbers pstats would print from it are meaningless.
//! - A malformed **key** (not a `(file, line, name)` 3-tuple of string, int, string)
//!   keeps its row under a placeholder label `<malformed key>:0(REPR)`, so that counts
//!   and totals match `len(stats)`; one warning counts them.
//! - CPython 3.15's sampling profiler marks its files with `("__sampled__",) -> True`:
//!   the marker is not a function, and the profile is read as counting samples
//!   ([`Measure::Samples`]); any other value of that key leaves the file a calls one.
//! - Malformed **callers** entries (or a callers value that is not a dict) are skipped;
//!   one warning counts them.
//! - Counts are read as pstats reads them (`cc` first, then `nc`), yappi files included:
//!   yappi swaps the two, and pstats shows them swapped; so do we.
//! - A duplicate key keeps the last value and its callers, as a Python dict does.
//! - **Names** are bounded, since marshal lets one string be shared by any number of
//!   keys (`marshal.dumps` writes a string used twice once, then refers to it): a file
//!   or function name over [`MAX_TEXT_BYTES`] is shortened (its middle elided), once per
//!   string, and once the names of the functions read add up to the [`label_budget`],
//!   later functions' names are cut to [`SHORT_TEXT_BYTES`]. Each gives one warning;
//!   real profiles are far from both (names under 100 bytes, labels about half the
//!   file's size). Names that are not valid UTF-8 are read with U+FFFD and warned about.

use std::collections::HashMap;

use bytes::Bytes;

use super::direct;
use super::marshal::{self, Code, Decoded, Handle, Value};
use crate::model::{
    BuilderId, Count, EdgeStats, FuncKey, Measure, Profile, ProfileBuilder, Stats, Text,
};

/// File and function names longer than this (in UTF-8 bytes) are shortened.
pub const MAX_TEXT_BYTES: usize = 512;

/// What names are cut to once the label budget is spent.
pub const SHORT_TEXT_BYTES: usize = 64;

/// How many bytes of file and function names (summed over distinct functions) a file
/// of `len` bytes may give before later names are cut to [`SHORT_TEXT_BYTES`]: four
/// times the file, and 1 MiB at least. Every output writes each function's label at
/// least once, so this bounds what any format can be made to write per input byte.
pub fn label_budget(len: usize) -> usize {
    len.saturating_mul(4).saturating_add(1 << 20)
}

/// The file name given to rows whose key is not a `(file, line, name)` tuple.
pub const MALFORMED_KEY_FILE: &str = "<malformed key>";

/// A decoded profile and what reading it skipped or changed, one line each (the
/// caller names the file: see [`super::load`]).
#[derive(Debug)]
pub struct ReadProfile {
    pub profile: Profile,
    pub warnings: Vec<String>,
}

/// Decodes a whole stats file.
pub fn load(data: Bytes) -> Result<ReadProfile, String> {
    if let Some(problem) = sniff(&data) {
        return Err(problem);
    }
    // Usual files take the fast path; anything it does not expect is read again by the
    // general decoder below, which gives every message and warning.
    if let Some((builder, end)) = direct::read(&data, edge_budget(data.len())) {
        let mut warnings = Vec::new();
        push_trailing(&mut warnings, data.len().saturating_sub(end));
        return Ok(ReadProfile {
            profile: builder.finish(),
            warnings,
        });
    }
    load_general(&data)
}

/// Decodes a whole stats file with the general decoder (what [`load`] falls back to).
fn load_general(data: &Bytes) -> Result<ReadProfile, String> {
    let decoded = match marshal::decode(data) {
        Ok(d) => d,
        Err(e) => {
            return Err(match text_kind(data) {
                Some(kind) => text_message(kind),
                None if e.truncated => e.to_string(),
                None => format!("not a valid marshal stats file: {e}"),
            });
        }
    };
    let Value::Dict(pairs) = decoded.get(decoded.root) else {
        if let Some(kind) = text_kind(data) {
            return Err(text_message(kind));
        }
        let what = match decoded.get(decoded.root) {
            Value::Code(_) => "a code object (the contents of a .pyc?)".to_string(),
            v => v.described(),
        };
        return Err(format!("not a stats dict: the top-level object is {what}"));
    };
    let mut warnings = decoded.warnings.clone();
    let mut labels = Labels::new(label_budget(data.len()));
    let (builder, sampled) = build(
        &decoded,
        pairs,
        edge_budget(data.len()),
        &mut labels,
        &mut warnings,
    )?;
    labels.warn(&mut warnings);
    let trailing = data.len().saturating_sub(decoded.end);
    // The decoded arena is dead once the rows are read: free it before `finish`
    // allocates the sorted tables (lowers the peak on large files).
    drop(decoded);
    let mut profile = builder.finish();
    if sampled {
        profile = profile.with_measure(Measure::Samples { seconds: true });
    }
    push_trailing(&mut warnings, trailing);
    Ok(ReadProfile { profile, warnings })
}

fn push_trailing(warnings: &mut Vec<String>, trailing: usize) {
    if trailing > 0 {
        warnings.push(format!(
            "{trailing} trailing bytes after the stats dict ignored"
        ));
    }
}

/// Recognises files that are certainly not marshal stats from their first bytes.
fn sniff(data: &[u8]) -> Option<String> {
    match data {
        [] => Some("empty file".into()),
        [0x1F, 0x8B, ..] => Some("gzip-compressed; decompress it first (gunzip)".into()),
        [0x80, 2..=5, ..] => Some(
            "a Python pickle (yappi's ystat format?), not a marshal stats file; \
             save with type='pstat'"
                .into(),
        ),
        [first, _, b'\r', b'\n', ..] if *first != b'{' && *first != 0xFB => Some(
            "a compiled Python file (.pyc), not a stats file; \
             write one with python -m cProfile -o out.prof script.py"
                .into(),
        ),
        _ => None,
    }
}

/// What a file looks like if its start is printable text (real stats files never are).
fn text_kind(data: &[u8]) -> Option<&'static str> {
    let head = &data[..data.len().min(512)];
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // A multi-byte character cut at the end of the window is still text.
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    if text.len() < 4
        || text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return None;
    }
    let t = text.trim_start();
    Some(
        if t.starts_with("<svg") || t.starts_with("<?xml") || t.contains("<svg") {
            "an SVG/XML document"
        } else if t.starts_with('{') || t.starts_with('[') {
            "JSON"
        } else if text.contains("function calls") || text.contains("ncalls") {
            "a printed pstats report"
        } else if t.starts_with('<') {
            "HTML/XML"
        } else {
            "plain text"
        },
    )
}

fn text_message(kind: &str) -> String {
    format!("text, not a binary stats file (it looks like {kind})")
}

/// Reasons for skipped caller entries, counted for the one warning.
#[derive(Default)]
struct Skipped {
    callers_not_dict: usize,
    bad_caller_key: usize,
    bad_caller_value: usize,
}

/// How many caller entries a file of `len` bytes may contribute. A caller entry that
/// is written out takes at least 10 bytes (a 5-byte reference for its key and one for
/// its value), so a real file never reaches this; only callers dicts shared by
/// reference between rows (which no profiler writes) could multiply the edges far
/// beyond the input's size.
pub fn edge_budget(len: usize) -> usize {
    len / 8 + 64
}

fn build(
    d: &Decoded,
    pairs: &[(Handle, Handle)],
    edge_budget: usize,
    labels: &mut Labels,
    warnings: &mut Vec<String>,
) -> Result<(ProfileBuilder, bool), String> {
    let mut b = ProfileBuilder::new();
    let mut sampled = false;
    // Builder index of each key handle already read: cProfile writes every caller key
    // as a marshal reference to the row key, so each key is parsed and hashed once.
    let mut ids = KeyIds::new(d.arena.len());
    let mut skipped = Skipped::default();
    let mut malformed_keys = 0usize;
    let (mut edges_read, mut over_budget) = (0usize, 0usize);
    for (index, &(kh, vh)) in pairs.iter().enumerate() {
        if is_sampled_marker(d, kh) {
            // pstats pops the key whatever its value; only `True` says "samples".
            sampled = matches!(d.get(vh), Value::Bool(true));
            continue;
        }
        let entry = index + 1;
        let (stats, callers) =
            row_value(d, vh).map_err(|why| format!("entry {entry} ({}): {why}", d.repr(kh)))?;
        let id = match ids.get(d, kh, labels, &mut b) {
            Some(id) => id,
            None => {
                malformed_keys += 1;
                b.intern(FuncKey::new(MALFORMED_KEY_FILE, 0, d.repr(kh)))
            }
        };
        let duplicate = b.set_function_id(id, stats);
        if duplicate {
            b.clear_callers_id(id);
        }
        let Value::Dict(callers) = d.get(callers) else {
            skipped.callers_not_dict += 1;
            continue;
        };
        if callers.len() > edge_budget - edges_read {
            over_budget += callers.len();
            continue;
        }
        edges_read += callers.len();
        for &(ck, cv) in callers {
            // A caller is only interned when its edge is kept.
            let edge = edge_value(d, cv);
            if !ids.is_valid(d, ck, labels) {
                skipped.bad_caller_key += 1;
                continue;
            }
            let Some(edge) = edge else {
                skipped.bad_caller_value += 1;
                continue;
            };
            let caller = ids.get(d, ck, labels, &mut b).expect("checked valid");
            b.add_edge_ids(caller, id, edge);
        }
    }
    if over_budget > 0 {
        warnings.push(format!(
            "{over_budget} caller entries ignored: callers dicts shared by reference \
             between rows would make more edges than the file has bytes for \
             (no profiler writes this)"
        ));
    }
    if malformed_keys > 0 {
        warnings.push(format!(
            "{malformed_keys} entries have a key that is not a (file, line, name) tuple; \
             kept under '{MALFORMED_KEY_FILE}' labels so the totals match pstats"
        ));
    }
    let total = skipped.callers_not_dict + skipped.bad_caller_key + skipped.bad_caller_value;
    if total > 0 {
        let mut parts = Vec::new();
        for (n, what) in [
            (skipped.callers_not_dict, "callers not a dict"),
            (
                skipped.bad_caller_key,
                "caller key not a (file, line, name) tuple",
            ),
            (
                skipped.bad_caller_value,
                "caller value not a 4-tuple or an int",
            ),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        warnings.push(format!(
            "skipped {total} malformed entries ({})",
            parts.join(", ")
        ));
    }
    Ok((b, sampled))
}

/// Key handle → builder index, for well-formed `(file, line, name)` keys.
struct KeyIds(Vec<u32>);

impl KeyIds {
    const UNSEEN: u32 = u32::MAX;
    const MALFORMED: u32 = u32::MAX - 1;

    fn new(handles: usize) -> KeyIds {
        KeyIds(vec![Self::UNSEEN; handles])
    }

    /// Whether the key at `kh` is a valid `(file, line, name)` key (nothing interned).
    fn is_valid(&mut self, d: &Decoded, kh: Handle, labels: &mut Labels) -> bool {
        match self.0.get(kh as usize).copied() {
            Some(Self::MALFORMED) => false,
            Some(Self::UNSEEN) | None => {
                let ok = labels.key(d, kh).is_some();
                if !ok && let Some(slot) = self.0.get_mut(kh as usize) {
                    *slot = Self::MALFORMED;
                }
                ok
            }
            Some(_) => true,
        }
    }

    /// The builder index of the key at `kh`, or `None` if it is not a valid key.
    fn get(
        &mut self,
        d: &Decoded,
        kh: Handle,
        labels: &mut Labels,
        b: &mut ProfileBuilder,
    ) -> Option<BuilderId> {
        match self.0.get(kh as usize).copied() {
            Some(Self::MALFORMED) => None,
            Some(Self::UNSEEN) | None => {
                let id = labels.key(d, kh).map(|k| labels.intern(k, b));
                if let Some(slot) = self.0.get_mut(kh as usize) {
                    *slot = id.map_or(Self::MALFORMED, |i| i as u32);
                }
                id
            }
            Some(i) => Some(i as BuilderId),
        }
    }
}

/// `("__sampled__",)`, the marker key of CPython 3.15's sampling profiler.
fn is_sampled_marker(d: &Decoded, kh: Handle) -> bool {
    matches!(d.tuple(kh), Some(&[only]) if d.text(only).is_some_and(|t| t.as_str() == "__sampled__"))
}

/// A name as a key holds it, with what reading it took.
#[derive(Clone)]
struct Name {
    text: Text,
    /// Over [`MAX_TEXT_BYTES`], and shortened.
    shortened: bool,
    /// Not valid UTF-8, and read with U+FFFD.
    lossy: bool,
}

/// A key as read, before interning: its names tell what reading them took.
struct ReadKey {
    file: Name,
    line: i64,
    name: Name,
}

/// The names of the keys: each string shortened once however many keys share it, the
/// label budget, and what to warn about.
struct Labels {
    /// Names that cost work to make (long, bytes, code objects), by handle.
    made: HashMap<Handle, Name>,
    budget_left: usize,
    /// Functions with a name over [`MAX_TEXT_BYTES`], and the first one's label.
    shortened: (usize, Option<String>),
    /// Functions whose names were cut to [`SHORT_TEXT_BYTES`] by the budget.
    squeezed: (usize, Option<String>),
    /// Functions with a name that is not valid UTF-8.
    lossy: (usize, Option<String>),
}

impl Labels {
    fn new(budget: usize) -> Labels {
        Labels {
            made: HashMap::new(),
            budget_left: budget,
            shortened: (0, None),
            squeezed: (0, None),
            lossy: (0, None),
        }
    }

    /// A `(file, line, name)` key. File and name may be str or bytes (py2 `str` is
    /// bytes); the name may also be a code object (`python -m profile` files).
    fn key(&mut self, d: &Decoded, kh: Handle) -> Option<ReadKey> {
        let &[f, l, n] = d.tuple(kh)? else {
            return None;
        };
        let file = self.name(d, f)?;
        let line = d.int(l)?;
        let name = self.name(d, n)?;
        let line = i64::try_from(line).unwrap_or(if line < 0 { i64::MIN } else { i64::MAX });
        Some(ReadKey { file, line, name })
    }

    /// The name at `h`, shortened if it is over [`MAX_TEXT_BYTES`].
    fn name(&mut self, d: &Decoded, h: Handle) -> Option<Name> {
        let plain = |text: Text| Name {
            text,
            shortened: false,
            lossy: d.is_lossy(h),
        };
        match d.get(h) {
            Value::Str(t) if t.len() <= MAX_TEXT_BYTES => return Some(plain(t.clone())),
            Value::Str(_) | Value::Bytes(_) | Value::Code(_) => {}
            _ => return None,
        }
        if let Some(made) = self.made.get(&h) {
            return Some(made.clone());
        }
        let made = match d.get(h) {
            Value::Str(t) => shortened(plain(t.clone())),
            Value::Bytes(b) => {
                // Cut before decoding, so that a long string costs its cut length only.
                let keep = MAX_TEXT_BYTES + 4;
                let cut = if b.len() > 2 * keep {
                    [&b[..keep], &b[b.len() - keep..]].concat()
                } else {
                    b.to_vec()
                };
                let lossy = std::str::from_utf8(&cut).is_err();
                let text = Text::from_utf8_lossy(Bytes::from(cut));
                let mut name = shortened(Name {
                    text,
                    shortened: false,
                    lossy,
                });
                name.shortened |= b.len() > MAX_TEXT_BYTES;
                name
            }
            Value::Code(c) => {
                let text = Text::from(marshal::code_repr(&Code {
                    name: shortened_text(&c.name),
                    file: shortened_text(&c.file),
                    firstlineno: c.firstlineno,
                }));
                shortened(Name {
                    text,
                    shortened: c.name.len() > MAX_TEXT_BYTES || c.file.len() > MAX_TEXT_BYTES,
                    lossy: false,
                })
            }
            _ => return None,
        };
        self.made.insert(h, made.clone());
        Some(made)
    }

    /// Interns `key`, counting what its names took if it is a new function, and cutting
    /// its names to [`SHORT_TEXT_BYTES`] if the budget is spent.
    fn intern(&mut self, key: ReadKey, b: &mut ProfileBuilder) -> BuilderId {
        let known = b.function_count();
        let mut cost = key.file.text.len() + key.name.text.len();
        let mut out = FuncKey {
            file: key.file.text,
            line: key.line,
            name: key.name.text,
        };
        let squeezed = cost > self.budget_left;
        if squeezed {
            let cut = |t: &Text| t.shortened(SHORT_TEXT_BYTES).unwrap_or_else(|| t.clone());
            out = FuncKey {
                file: cut(&out.file),
                line: out.line,
                name: cut(&out.name),
            };
            cost = out.file.len() + out.name.len();
        }
        let id = b.intern(out);
        if b.function_count() > known {
            self.budget_left = self.budget_left.saturating_sub(cost);
            let label = || short_label(b.key(id));
            for (hit, tally) in [
                (
                    key.file.shortened || key.name.shortened,
                    &mut self.shortened,
                ),
                (squeezed, &mut self.squeezed),
                (key.file.lossy || key.name.lossy, &mut self.lossy),
            ] {
                if hit {
                    tally.0 += 1;
                    tally.1.get_or_insert_with(label);
                }
            }
        }
        id
    }

    fn warn(&self, warnings: &mut Vec<String>) {
        let first = |t: &(usize, Option<String>)| t.1.clone().unwrap_or_default();
        if self.shortened.0 > 0 {
            warnings.push(format!(
                "{} functions have a file or function name over {MAX_TEXT_BYTES} bytes, \
                 shortened with its middle elided (first: {})",
                self.shortened.0,
                first(&self.shortened)
            ));
        }
        if self.squeezed.0 > 0 {
            warnings.push(format!(
                "{} functions' names cut to {SHORT_TEXT_BYTES} bytes: the names of the \
                 functions before them already add up to 4 times the file's size \
                 (first: {})",
                self.squeezed.0,
                first(&self.squeezed)
            ));
        }
        if self.lossy.0 > 0 {
            warnings.push(format!(
                "{} functions have a file or function name that is not valid UTF-8, \
                 shown with U+FFFD (first: {})",
                self.lossy.0,
                first(&self.lossy)
            ));
        }
    }
}

fn shortened(mut name: Name) -> Name {
    if let Some(t) = name.text.shortened(MAX_TEXT_BYTES) {
        name.text = t;
        name.shortened = true;
    }
    name
}

fn shortened_text(t: &Text) -> Text {
    t.shortened(MAX_TEXT_BYTES).unwrap_or_else(|| t.clone())
}

/// A function's label cut for a warning line.
fn short_label(key: &FuncKey) -> String {
    let label = key.display();
    crate::model::shortened_str(&label, 120).unwrap_or(label)
}

/// `(cc, nc, tt, ct, callers)`; returns the stats and the callers handle.
fn row_value(d: &Decoded, vh: Handle) -> Result<(Stats, Handle), String> {
    const EXPECTED: &str = "expected a 5-tuple (cc, nc, tt, ct, callers)";
    let Some(items) = d.tuple(vh) else {
        return Err(format!("value is {}, {EXPECTED}", d.get(vh).described()));
    };
    let &[cc, nc, tt, ct, callers] = items else {
        return Err(format!("value is a {}-tuple, {EXPECTED}", items.len()));
    };
    let count = |h: Handle, what: &str| -> Result<Count, String> {
        d.int(h)
            .ok_or_else(|| format!("{what} is {}, expected an int", d.get(h).described()))
    };
    let time = |h: Handle, what: &str| -> Result<f64, String> {
        d.number(h)
            .ok_or_else(|| format!("{what} is {}, expected a number", d.get(h).described()))
    };
    let stats = Stats {
        cc: count(cc, "cc (primitive calls)")?,
        nc: count(nc, "nc (total calls)")?,
        tt: time(tt, "tt (tottime)")?,
        ct: time(ct, "ct (cumtime)")?,
    };
    Ok((stats, callers))
}

/// A callers value: cProfile's `(nc, cc, tt, ct)` (note the order) or the `profile`
/// module's int call count.
fn edge_value(d: &Decoded, vh: Handle) -> Option<EdgeStats> {
    if let Some(n) = d.int(vh) {
        return Some(EdgeStats::Count(n.into()));
    }
    let &[nc, cc, tt, ct] = d.tuple(vh)? else {
        return None;
    };
    Some(EdgeStats::Timed(Stats {
        cc: d.int(cc)?,
        nc: d.int(nc)?,
        tt: d.number(tt)?,
        ct: d.number(ct)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile and its warnings as text (NaN times compare equal this way).
    fn shown(r: Result<ReadProfile, String>) -> String {
        match r {
            Ok(l) => format!("{:?}\n{:?}", l.profile, l.warnings),
            Err(e) => format!("error: {e}"),
        }
    }

    fn both_paths(data: &Bytes) -> (bool, String, String) {
        let fast = direct::read(data, edge_budget(data.len())).map(|(b, end)| {
            let mut warnings = Vec::new();
            push_trailing(&mut warnings, data.len().saturating_sub(end));
            ReadProfile {
                profile: b.finish(),
                warnings,
            }
        });
        let general = shown(load_general(data));
        match fast {
            Some(l) => (true, shown(Ok(l)), general),
            None => (false, general.clone(), general),
        }
    }

    fn fixtures() -> Vec<(String, Bytes)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let mut out = Vec::new();
        for dir in ["pstats", "real"] {
            let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
                .expect("fixture dir")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "prof"))
                .collect();
            paths.sort();
            for p in paths {
                let data = std::fs::read(&p).expect("fixture");
                out.push((p.display().to_string(), Bytes::from(data)));
            }
        }
        out
    }

    #[test]
    fn the_fast_path_gives_what_the_general_decoder_gives() {
        let mut fast = 0;
        for (name, data) in fixtures() {
            let (took, a, b) = both_paths(&data);
            assert_eq!(a, b, "{name}");
            fast += usize::from(took);
            if name.contains("/real/") || name.contains("real_cprofile_small_py3") {
                assert!(took, "{name} should take the fast path");
            }
        }
        assert!(fast > 50, "only {fast} fixtures took the fast path");
    }

    #[test]
    fn mutated_files_read_alike_on_both_paths() {
        // Bytes flipped, cut or repeated in small real files: whatever the fast path
        // accepts must read exactly as the general decoder reads it.
        let mut next = crate::rng::xorshift(0x2545_F491_4F6C_DD1Du64);
        let bases: Vec<Bytes> = fixtures()
            .into_iter()
            .filter(|(_, d)| !d.is_empty() && d.len() < 20_000)
            .map(|(_, d)| d)
            .collect();
        let mut fast = 0;
        for _ in 0..4000 {
            let base = &bases[next() as usize % bases.len()];
            let mut v = base.to_vec();
            for _ in 0..1 + next() % 3 {
                let i = next() as usize % v.len();
                match next() % 4 {
                    0 => v[i] ^= 1 << (next() % 8),
                    1 => v[i] = next() as u8,
                    2 => v.truncate(i.max(1)),
                    _ => {
                        let j = (i + 1 + next() as usize % 16).min(v.len());
                        let piece = v[i..j].to_vec();
                        v.splice(i..i, piece);
                    }
                }
            }
            let data = Bytes::from(v);
            let (took, a, b) = both_paths(&data);
            assert_eq!(
                a,
                b,
                "mutation of a fixture: {:?}",
                &data[..data.len().min(64)]
            );
            fast += usize::from(took);
        }
        eprintln!("{fast} of 4000 mutated files took the fast path");
        assert!(fast > 100, "only {fast} mutated files took the fast path");
    }

    /// Marshal bytes for the tests below.
    fn z(s: &str) -> Vec<u8> {
        let mut v = vec![b'z', s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn sized(code: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![code];
        v.extend_from_slice(&(payload.len() as i32).to_le_bytes());
        v.extend_from_slice(payload);
        v
    }

    fn int(n: i32) -> Vec<u8> {
        let mut v = vec![b'i'];
        v.extend_from_slice(&n.to_le_bytes());
        v
    }

    /// `(1, 1, 0.001, 0.001, {})`
    fn row() -> Vec<u8> {
        let mut v = vec![b')', 5];
        v.extend(int(1));
        v.extend(int(1));
        for _ in 0..2 {
            v.push(b'g');
            v.extend_from_slice(&0.001f64.to_le_bytes());
        }
        v.extend(b"{0");
        v
    }

    /// A stats dict of `n` rows keyed `(file(i), i, name(i))`.
    fn stats(n: i32, file: impl Fn(i32) -> Vec<u8>, name: impl Fn(i32) -> Vec<u8>) -> Bytes {
        let mut v = vec![b'{'];
        for i in 0..n {
            v.extend(b")\x03");
            v.extend(file(i));
            v.extend(int(i));
            v.extend(name(i));
            v.extend(row());
        }
        v.push(b'0');
        Bytes::from(v)
    }

    /// The first occurrence flagged (ref 0), every later one a reference to it, as
    /// `marshal.dumps` writes a string used twice.
    fn shared(i: i32, first: &[u8]) -> Vec<u8> {
        if i == 0 {
            let mut v = first.to_vec();
            v[0] |= 0x80;
            v
        } else {
            let mut v = vec![b'r'];
            v.extend_from_slice(&0i32.to_le_bytes());
            v
        }
    }

    fn label_bytes(l: &ReadProfile) -> usize {
        let f = l.profile.functions();
        f.iter().map(|f| f.key.file.len() + f.key.name.len()).sum()
    }

    #[test]
    fn a_long_name_shared_by_many_keys_is_shortened_once_with_a_warning() {
        let name = sized(b'u', "n".repeat(100_000).as_bytes());
        let data = stats(1000, |i| z(&format!("f{i}.py")), |i| shared(i, &name));
        let l = load(data).expect("loads");
        assert_eq!(l.profile.functions().len(), 1000);
        for f in l.profile.functions() {
            assert!(f.key.name.len() <= MAX_TEXT_BYTES, "{}", f.key.name.len());
            assert!(f.key.name.as_str().starts_with("nnn") && f.key.name.as_str().ends_with("nnn"));
            assert!(f.key.name.as_str().contains(crate::model::ELISION));
        }
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert!(
            l.warnings[0].starts_with("1000 functions have a file or function name over 512"),
            "{:?}",
            l.warnings
        );
    }

    #[test]
    fn names_that_add_up_past_the_budget_are_cut_short() {
        // A 500-byte file name (not over the limit by itself) shared by 12,000 keys:
        // 6 MB of labels from a file of about 500 KB.
        let file = sized(b'u', "d/".repeat(250).as_bytes());
        let data = stats(12_000, |i| shared(i, &file), |i| z(&format!("g{i}")));
        let len = data.len();
        let l = load(data).expect("loads");
        assert_eq!(l.profile.functions().len(), 12_000);
        let slack = 12_000 * 2 * SHORT_TEXT_BYTES;
        assert!(
            label_bytes(&l) <= label_budget(len) + slack,
            "{}",
            label_bytes(&l)
        );
        assert!(label_bytes(&l) > label_budget(len) / 2);
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert!(
            l.warnings[0].contains("cut to 64 bytes"),
            "{:?}",
            l.warnings
        );
    }

    #[test]
    fn real_sized_names_are_kept_whole_on_the_fast_path() {
        let data = stats(
            2000,
            |_| z("pkg/module.py"),
            |i| z(&format!("function_{i}")),
        );
        let (took, fast, general) = both_paths(&data);
        assert!(took);
        assert_eq!(fast, general);
        assert!(load(data).expect("loads").warnings.is_empty());
    }

    #[test]
    fn names_that_are_not_utf8_are_read_with_a_warning_naming_the_function() {
        // `u` (CPython's own marshal refuses these) and py2 `s` (raw bytes).
        let data = stats(
            3,
            |i| {
                if i == 2 {
                    sized(b's', b"x\xff.py")
                } else {
                    z("a.py")
                }
            },
            |i| {
                if i == 1 {
                    sized(b'u', b"caf\xe9")
                } else {
                    z("ok")
                }
            },
        );
        let l = load(data).expect("loads");
        let names: Vec<String> = l
            .profile
            .functions()
            .iter()
            .map(|f| f.key.display())
            .collect();
        assert!(
            names.contains(&"a.py:1(caf\u{FFFD})".to_string()),
            "{names:?}"
        );
        assert!(
            names.contains(&"x\u{FFFD}.py:2(ok)".to_string()),
            "{names:?}"
        );
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert!(
            l.warnings[0]
                .starts_with("2 functions have a file or function name that is not valid UTF-8")
                && l.warnings[0].contains("(first: a.py:1(caf\u{FFFD}))"),
            "{:?}",
            l.warnings
        );
    }

    #[test]
    fn a_malformed_key_with_a_long_string_gets_a_short_placeholder() {
        let name = sized(b'u', "m".repeat(50_000).as_bytes());
        let mut v = vec![b'{'];
        for i in 0..100 {
            v.extend(b")\x01");
            v.extend(shared(i, &name));
            v.extend(row());
        }
        v.push(b'0');
        let l = load(Bytes::from(v)).expect("loads");
        for f in l.profile.functions() {
            assert!(f.key.name.len() < 300, "{}", f.key.name.len());
        }
    }
}
