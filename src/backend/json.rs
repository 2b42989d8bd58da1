//! `-f json`: the whole profile as one JSON document for jq and scripts.
//!
//! Top level: `schema_version`, `totals`, `functions` (the flat pstats table with raw
//! `cc`/`nc`/`tt`/`ct` and each function's callers with their edge numbers), `flame` and
//! `inverted` (each a flat, pre-order list of nodes that name their `parent` and
//! `children` by id). Trees are flat rather than nested because real profiles are
//! thousands of frames deep and jq 1.6 refuses documents nested deeper than 256.
//!
//! Written while walking: no `serde`, no document in memory. Times are seconds
//! (floats, `null` when NaN or infinite); counts are JSON integers, however large.
//! Specified in `formats/json/README.md` and `formats/json/schema.json`.

use std::io::{self, Write};

use super::{Backend, Job};
use crate::model::{EdgeStats, FuncId, Profile};
use crate::tree::{CallTree, ROOT};

inventory::submit! {
    Backend {
        name: "json",
        about: "the profile, its flame and inverted trees and the pstats table as JSON (for jq)",
        extension: "json",
        render,
    }
}

/// Bumped on any incompatible change of the document's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// A time in seconds as a JSON number; NaN and infinities become `null`.
fn num(out: &mut dyn Write, x: f64) -> io::Result<()> {
    if x.is_finite() {
        // `{:?}` is the shortest representation that reads back exactly, with an
        // exponent for very large or small values: valid JSON either way.
        write!(out, "{x:?}")
    } else {
        out.write_all(b"null")
    }
}

/// A JSON string literal.
fn string(out: &mut dyn Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escaped: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        if escaped.is_some() || (c as u32) < 0x20 {
            out.write_all(&s.as_bytes()[start..i])?;
            match escaped {
                Some(e) => out.write_all(e.as_bytes())?,
                None => write!(out, "\\u{:04x}", c as u32)?,
            }
            start = i + c.len_utf8();
        }
    }
    out.write_all(&s.as_bytes()[start..])?;
    out.write_all(b"\"")
}

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    let profile = job.profile;
    let (nc, cc, tt) = profile.totals();
    write!(
        out,
        "{{\"schema_version\":{SCHEMA_VERSION},\"totals\":{{\"functions\":{},",
        profile.listed_count()
    )?;
    write!(out, "\"calls\":{nc},\"primitive_calls\":{cc},\"tottime\":")?;
    num(out, tt)?;
    out.write_all(b"},\n\"functions\":[\n")?;
    write_functions(profile, out)?;
    out.write_all(b"],\n\"flame\":")?;
    write_tree(profile, job.flame(), out)?;
    out.write_all(b",\n\"inverted\":")?;
    write_tree(profile, job.inverted(), out)?;
    out.write_all(b"}\n")
}

/// The flat table: one object per function, in `(file, line, name)` order (the ids).
fn write_functions(profile: &Profile, out: &mut dyn Write) -> io::Result<()> {
    for (id, f) in profile.functions().iter().enumerate() {
        if id > 0 {
            out.write_all(b",\n")?;
        }
        write!(out, "{{\"id\":{id},\"display\":")?;
        string(out, &f.key.display())?;
        out.write_all(b",\"file\":")?;
        string(out, f.key.file.as_str())?;
        write!(out, ",\"line\":{},\"name\":", f.key.line)?;
        string(out, f.key.name.as_str())?;
        write!(
            out,
            ",\"listed\":{},\"cc\":{},\"nc\":{},\"tt\":",
            f.listed, f.stats.cc, f.stats.nc
        )?;
        num(out, f.stats.tt)?;
        out.write_all(b",\"ct\":")?;
        num(out, f.stats.ct)?;
        out.write_all(b",\"callers\":[")?;
        for (i, e) in profile.callers_of(id as FuncId).iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write!(out, "{{\"id\":{},\"display\":", e.caller)?;
            string(out, &profile.function(e.caller).key.display())?;
            match e.stats {
                EdgeStats::Timed(s) => {
                    write!(out, ",\"nc\":{},\"cc\":{},\"tt\":", s.nc, s.cc)?;
                    num(out, s.tt)?;
                    out.write_all(b",\"ct\":")?;
                    num(out, s.ct)?;
                }
                EdgeStats::Count(n) => write!(out, ",\"calls\":{n}")?,
            }
            out.write_all(b"}")?;
        }
        out.write_all(b"]}")?;
    }
    if !profile.functions().is_empty() {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// A tree: its totals, then its nodes in pre-order (node id = index in `nodes`).
fn write_tree(profile: &Profile, tree: &CallTree, out: &mut dyn Write) -> io::Result<()> {
    let frames = tree.frames();
    let total = tree.total();
    // Subtree sizes, children before parents (reverse pre-order): no recursion.
    let mut descendants = vec![0u64; frames.len()];
    for i in (1..frames.len()).rev() {
        let p = frames[i].parent as usize;
        descendants[p] += descendants[i] + 1;
    }
    out.write_all(b"{\"total\":")?;
    num(out, total)?;
    out.write_all(b",\"cut_time\":")?;
    num(out, tree.cut_time)?;
    writeln!(
        out,
        ",\"cut_frames\":{},\"truncated\":{},\"nodes\":[",
        tree.cut_frames, tree.truncated
    )?;
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        write!(out, "{{\"id\":{i},\"parent\":")?;
        if i as u32 == ROOT {
            out.write_all(b"null")?;
        } else {
            write!(out, "{}", f.parent)?;
        }
        write!(out, ",\"depth\":{},\"function\":", f.depth)?;
        match f.func {
            Some(id) => {
                let key = &profile.function(id).key;
                write!(out, "{id},\"display\":")?;
                string(out, &key.display())?;
                out.write_all(b",\"name\":")?;
                string(out, key.name.as_str())?;
                out.write_all(b",\"file\":")?;
                string(out, key.file.as_str())?;
                write!(out, ",\"line\":{}", key.line)?;
            }
            None => out.write_all(
                b"null,\"display\":\"all\",\"name\":\"all\",\"file\":null,\"line\":null",
            )?,
        }
        out.write_all(b",\"total\":")?;
        num(out, f.total)?;
        out.write_all(b",\"self\":")?;
        num(out, f.self_time)?;
        out.write_all(b",\"cut\":")?;
        num(out, f.cut)?;
        let calls = if f.calls.is_finite() && f.calls > 0.0 {
            f.calls.round() as i128
        } else {
            0
        };
        write!(out, ",\"calls\":{calls},\"share\":")?;
        num(out, if total > 0.0 { f.total / total } else { 0.0 })?;
        write!(out, ",\"exact\":{}", f.exact)?;
        if !f.exact {
            out.write_all(b",\"min_total\":")?;
            num(out, f.min_total)?;
            out.write_all(b",\"max_total\":")?;
            num(out, f.max_total)?;
        }
        write!(out, ",\"descendants\":{},\"children\":[", descendants[i])?;
        for (j, c) in tree.children(i as u32).iter().enumerate() {
            if j > 0 {
                out.write_all(b",")?;
            }
            write!(out, "{c}")?;
        }
        out.write_all(b"]}")?;
    }
    out.write_all(b"\n]}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> String {
        let mut v = Vec::new();
        f(&mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(
            s(|o| string(o, "a\"b\\c\nd\u{1}é")),
            "\"a\\\"b\\\\c\\nd\\u0001é\""
        );
    }

    #[test]
    fn non_finite_times_are_null_and_small_ones_use_exponents() {
        assert_eq!(s(|o| num(o, f64::NAN)), "null");
        assert_eq!(s(|o| num(o, f64::NEG_INFINITY)), "null");
        assert_eq!(s(|o| num(o, 1.0)), "1.0");
        assert_eq!(s(|o| num(o, 1e-7)), "1e-7");
    }
}
