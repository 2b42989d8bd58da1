//! `-f json`: the whole profile as one JSON document for jq and scripts.
//!
//! Top level: `schema_version`, `units` (what counts and times measure), `totals`, `functions` (the flat pstats table with raw
//! `cc`/`nc`/`tt`/`ct` and each function's callers with their edge numbers), `flame` and
//! `inverted` (each a flat, pre-order list of nodes that name their `parent` and
//! `children` by id). Functions carry the model's `module` and `label` beside pstats'
//! names. Trees are flat rather than nested because real profiles are
//! thousands of frames deep and jq 1.6 refuses documents nested deeper than 256.
//!
//! Written while walking: no `serde`, no document in memory. Times are seconds
//! (floats, `null` when NaN or infinite); counts are JSON integers, however large.
//! Specified in `formats/json/README.md` and `formats/json/schema.json`.

use std::io::{self, Write};

use super::output::Output;
use super::{Backend, Job, StringTable, Trees};
use crate::model::{EdgeStats, FuncId, Measure, Profile};
use crate::tree::{CallTree, ROOT};

inventory::submit! {
    Backend {
        name: "json",
        about: "the profile, its flame and inverted trees and the pstats table as JSON (for jq)",
        extension: "json",
        render,
        trees: |_| Trees::BOTH,
        options: &[],
    }
}

/// Bumped on any incompatible change of the document's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// A time in seconds as a JSON number; NaN and infinities become `null`.
pub(crate) fn num(out: &mut Output<'_>, x: f64) {
    if x.is_finite() {
        // `{:?}` is the shortest representation that reads back exactly, with an
        // exponent for very large or small values: valid JSON either way.
        if x.fract() == 0.0 && x.abs() < 1e15 {
            // What `{:?}` writes for whole numbers this small: `12.0`, `-0.0`.
            out.f64(x);
            out.str(".0");
        } else {
            out.f64_debug(x);
        }
    } else {
        out.str("null");
    }
}

/// A JSON string literal.
pub(crate) fn string(out: &mut Output<'_>, s: &str) {
    string_into(out.raw(), s);
}

/// [`string`] into a byte buffer. Only ASCII bytes are escaped: the bytes of
/// multi-byte UTF-8 characters are all >= 0x80.
fn string_into(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escaped.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        } else {
            out.extend_from_slice(escaped);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Every function's `display` as a JSON string literal, made once: the functions
/// table, the callers and the tree nodes all repeat them.
fn display_literals(profile: &Profile) -> StringTable {
    let mut display = String::new();
    let mut literal = Vec::new();
    StringTable::build(profile.functions().len(), |id, buf| {
        display.clear();
        profile
            .function(id as FuncId)
            .key
            .write_display(&mut display);
        literal.clear();
        string_into(&mut literal, &display);
        buf.push_str(std::str::from_utf8(&literal).unwrap_or("\"\""));
    })
}

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = Output::new(out);
    render_into(job, &mut out)?;
    out.finish()
}

fn render_into(job: &Job<'_>, out: &mut Output<'_>) -> io::Result<()> {
    let profile = job.profile;
    let displays = display_literals(profile);
    let (nc, cc, tt) = profile.totals();
    // What the counts and times measure: a sampled profile's "calls" are samples.
    let (counts, times) = match profile.measure() {
        Measure::Calls => ("calls", "seconds"),
        Measure::Samples { seconds: true } => ("samples", "seconds"),
        Measure::Samples { seconds: false } => ("samples", "samples"),
    };
    write!(
        out,
        "{{\"schema_version\":{SCHEMA_VERSION},\"units\":{{\"counts\":\"{counts}\",\"times\":\"{times}\"}},\"totals\":{{\"functions\":{},",
        profile.listed_count()
    )?;
    // A sum over counts the file does not keep (pyinstrument's -1, austin) is no count:
    // null, never a negative number of calls.
    let known = profile.functions().iter().all(|f| f.stats.calls_known());
    if known {
        write!(out, "\"calls\":{nc},\"primitive_calls\":{cc},\"tottime\":")?;
    } else {
        out.str("\"calls\":null,\"primitive_calls\":null,\"tottime\":");
    }
    num(out, tt);
    out.str("},\n\"functions\":[\n");
    write_functions(profile, &displays, out)?;
    out.str("],\n\"flame\":");
    write_tree(profile, &displays, job.flame(), out)?;
    out.str(",\n\"inverted\":");
    write_tree(profile, &displays, job.inverted(), out)?;
    out.str("}\n");
    Ok(())
}

/// The flat table: one object per function, in `(file, line, name)` order (the ids).
/// A count as the file keeps it, or `null` where it keeps none (sampling profilers
/// write -1): never a negative number of calls.
fn count(out: &mut Output<'_>, n: crate::model::Count) {
    if n < 0 {
        out.str("null");
    } else {
        out.i128(n);
    }
}

fn write_functions(
    profile: &Profile,
    displays: &StringTable,
    out: &mut Output<'_>,
) -> io::Result<()> {
    let modules = profile.module_labels();
    let mut label = String::new();
    for (id, f) in profile.functions().iter().enumerate() {
        if id > 0 {
            out.str(",\n");
        }
        out.str("{\"id\":");
        out.u64(id as u64);
        out.str(",\"display\":");
        out.str(displays.get(id));
        out.str(",\"file\":");
        string(out, f.key.file.as_str());
        out.str(",\"line\":");
        out.i64(f.key.line);
        out.str(",\"name\":");
        string(out, f.key.name.as_str());
        out.str(",\"module\":");
        match modules.module(id as FuncId) {
            "" => out.str("null"),
            module => string(out, module),
        }
        out.str(",\"label\":");
        label.clear();
        profile.write_label(id as FuncId, &mut label);
        string(out, &label);
        out.str(if f.listed {
            ",\"listed\":true,\"cc\":"
        } else {
            ",\"listed\":false,\"cc\":"
        });
        count(out, f.stats.cc);
        out.str(",\"nc\":");
        count(out, f.stats.nc);
        out.str(",\"tt\":");
        num(out, f.stats.tt);
        out.str(",\"ct\":");
        num(out, f.stats.ct);
        out.str(",\"callers\":[");
        for (i, e) in profile.callers_of(id as FuncId).iter().enumerate() {
            if i > 0 {
                out.byte(b',');
            }
            out.str("{\"id\":");
            out.u64(u64::from(e.caller));
            out.str(",\"display\":");
            out.str(displays.get(e.caller as usize));
            match e.stats {
                EdgeStats::Timed(s) => {
                    out.str(",\"nc\":");
                    count(out, s.nc);
                    out.str(",\"cc\":");
                    count(out, s.cc);
                    out.str(",\"tt\":");
                    num(out, s.tt);
                    out.str(",\"ct\":");
                    num(out, s.ct);
                }
                EdgeStats::Count(n) => {
                    out.str(",\"calls\":");
                    count(out, n.get());
                }
            }
            out.byte(b'}');
        }
        out.str("]}");
        out.end_record()?;
    }
    if !profile.functions().is_empty() {
        out.byte(b'\n');
    }
    Ok(())
}

/// A tree: its totals, then its nodes in pre-order (node id = index in `nodes`).
fn write_tree(
    profile: &Profile,
    displays: &StringTable,
    tree: &CallTree,
    out: &mut Output<'_>,
) -> io::Result<()> {
    let frames = tree.frames();
    let total = tree.total();
    // Subtree sizes, children before parents (reverse pre-order): no recursion.
    let mut descendants = vec![0u64; frames.len()];
    for i in (1..frames.len()).rev() {
        let p = frames[i].parent as usize;
        descendants[p] += descendants[i] + 1;
    }
    out.str("{\"total\":");
    num(out, total);
    out.str(",\"cut_time\":");
    num(out, tree.cut_time);
    writeln!(
        out,
        ",\"cut_frames\":{},\"truncated\":{},\"nodes\":[",
        tree.cut_frames, tree.truncated
    )?;
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.str(",\n");
        }
        out.str("{\"id\":");
        out.u64(i as u64);
        out.str(",\"parent\":");
        if i as u32 == ROOT {
            out.str("null");
        } else {
            out.u64(u64::from(f.parent));
        }
        out.str(",\"depth\":");
        out.u64(u64::from(f.depth));
        out.str(",\"function\":");
        match f.func {
            Some(id) => {
                let key = &profile.function(id).key;
                out.u64(u64::from(id));
                out.str(",\"display\":");
                out.str(displays.get(id as usize));
                out.str(",\"name\":");
                string(out, key.name.as_str());
                out.str(",\"file\":");
                string(out, key.file.as_str());
                out.str(",\"line\":");
                out.i64(key.line);
            }
            None => {
                out.str("null,\"display\":\"all\",\"name\":\"all\",\"file\":null,\"line\":null")
            }
        }
        out.str(",\"total\":");
        num(out, f.total);
        out.str(",\"self\":");
        num(out, f.self_time);
        out.str(",\"cut\":");
        num(out, f.cut);
        let calls = if f.calls.is_finite() && f.calls > 0.0 {
            f.calls.round() as i128
        } else {
            0
        };
        out.str(",\"calls\":");
        // A count the file does not know (sampling profilers write -1) is not 0.
        match f.func {
            Some(id) if !profile.function(id).stats.calls_known() => out.str("null"),
            _ => out.i128(calls),
        }
        out.str(",\"share\":");
        num(out, if total > 0.0 { f.total / total } else { 0.0 });
        out.str(if f.exact {
            ",\"exact\":true"
        } else {
            ",\"exact\":false"
        });
        out.str(",\"certainty\":\"");
        out.str(tree.certainty(i as u32).name());
        out.byte(b'"');
        if !f.exact {
            out.str(",\"min_total\":");
            num(out, f.min_total);
            out.str(",\"max_total\":");
            num(out, f.max_total);
        }
        out.str(",\"descendants\":");
        out.u64(descendants[i]);
        out.str(",\"children\":[");
        for (j, c) in tree.children(i as u32).iter().enumerate() {
            if j > 0 {
                out.byte(b',');
            }
            out.u64(u64::from(*c));
        }
        out.str("]}");
        out.end_record()?;
    }
    out.str("\n]}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::backend::output::written as s;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(
            s(|o| string(o, "a\"b\\c\nd\u{1}é")),
            "\"a\\\"b\\\\c\\nd\\u0001é\""
        );
        assert_eq!(
            s(|o| string(o, "\u{1f}\u{0}\r\t\u{7f}")),
            "\"\\u001f\\u0000\\r\\t\u{7f}\""
        );
    }

    #[test]
    fn non_finite_times_are_null_and_small_ones_use_exponents() {
        assert_eq!(s(|o| num(o, f64::NAN)), "null");
        assert_eq!(s(|o| num(o, f64::NEG_INFINITY)), "null");
        assert_eq!(s(|o| num(o, 1.0)), "1.0");
        assert_eq!(s(|o| num(o, 1e-7)), "1e-7");
        for x in [
            0.0,
            -0.0,
            12.0,
            -3.0,
            1e15,
            1e16,
            123456789012345.0,
            0.25,
            1e300,
        ] {
            assert_eq!(s(|o| num(o, x)), format!("{x:?}"));
        }
    }
}
