//! `-f log`: folded stacks, flameprof 0.4's shape, for flamegraph.pl and inferno.
//!
//! One line per flame-tree frame with self time: frames `file:line:name` from the root
//! up, joined by `;`, a space, and the self time × `--log-mult` rounded to an integer (the rounding error carried to the next line,
//! so the values add up to the total).
//! Lines come in the tree's pre-order (children sorted by label), so the output is
//! deterministic. Specified in `formats/log/README.md`.

use std::io::{self, Write};

use super::output::{Output, push_i64};
use super::{Backend, Job, Trees};
use crate::model::FuncKey;
use crate::printable;
use crate::tree::ROOT;

inventory::submit! {
    Backend {
        name: "log",
        about: "folded stacks (file:line:name;... value) for flamegraph.pl, inferno, speedscope",
        extension: "folded",
        render,
        trees: |_| Trees::FLAME,
    }
}

/// Writes a frame label so that it cannot break the line format: `;` (which
/// separates frames) becomes `,`, and control characters (a line break would end the
/// line, an escape sequence would reach a terminal) are escaped as `\n`, `\x1b`, ….
pub(crate) fn write_frame(out: &mut Vec<u8>, key: &FuncKey, scratch: &mut String) {
    let start = out.len();
    push_part(out, key.file.as_str(), scratch);
    out.push(b':');
    push_i64(out, key.line);
    out.push(b':');
    push_part(out, key.name.as_str(), scratch);
    for b in &mut out[start..] {
        if *b == b';' {
            *b = b',';
        }
    }
}

/// Appends `s` with its control characters escaped.
fn push_part(out: &mut Vec<u8>, s: &str, scratch: &mut String) {
    if s.chars().any(printable::is_unsafe) {
        scratch.clear();
        printable::push_escaped(scratch, s);
        out.extend_from_slice(scratch.as_bytes());
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = Output::new(out);
    let tree = job.flame();
    let mult = job.options.log_mult;
    // `path` holds the stack of the current frame; `ends[d]` is its length at depth d.
    let mut path: Vec<u8> = Vec::with_capacity(4096);
    let mut ends: Vec<usize> = vec![0];
    let mut carry = 0.0;
    let mut scratch = String::new();
    for (i, frame) in tree.frames().iter().enumerate() {
        if i as u32 == ROOT {
            continue;
        }
        let depth = frame.depth as usize;
        ends.truncate(depth);
        path.truncate(ends[depth - 1]);
        if depth > 1 {
            path.push(b';');
        }
        if let Some(key) = job.key(frame.func) {
            write_frame(&mut path, key, &mut scratch);
        }
        ends.push(path.len());
        // Rounding error is carried from line to line, so the values add up to the
        // total × multiplier (±1) even when many frames hold less than one unit.
        let exact = frame.self_time * mult + carry;
        let value = exact.round().max(0.0);
        carry = exact - value;
        if value >= 1.0 {
            out.bytes(&path);
            out.byte(b' ');
            out.u64(value as u64);
            out.byte(b'\n');
            out.end_record()?;
        }
    }
    out.finish()
}
