//! `-f speedscope`: the flame tree as a speedscope file (<https://www.speedscope.app>).
//!
//! One `shared.frames` entry per function of the tree (its label as `name`, its
//! `file` and `line` unless it is a builtin, which has no source), in function-id
//! order, and one `sampled` profile: a sample per flame-tree frame with self time, its
//! stack the frame indices from the root up, weighted by that self time. These are the
//! stacks and values of `-f log --labels module`, unrounded; speedscope builds its
//! left-heavy and sandwich views from them, so no inverted tree is written. Stacks are
//! cut at [`log::MAX_DEPTH`] frames as in `-f log`, the time above the cut written on
//! the frame at the cut, with a warning. Deterministic: frames and samples come in the
//! tree's pre-order. Specified in `formats/speedscope/README.md`; the shape is
//! speedscope's `file-format-schema.json`.

use std::io::{self, Write};

use super::json::{num, string};
use super::log::MAX_DEPTH;
use super::output::Output;
use super::{Backend, Job, Trees};
use crate::model::{FuncId, Measure};
use crate::tree::StackStep;

inventory::submit! {
    Backend {
        name: "speedscope",
        about: "the flame tree as a speedscope file (npx speedscope FILE, or speedscope.app)",
        extension: "speedscope.json",
        render,
        trees: |_| Trees::FLAME,
        options: &[],
    }
}

/// Marks a function that no frame of the tree draws.
const UNUSED: u32 = u32::MAX;

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = Output::new(out);
    let profile = job.profile;
    let tree = job.flame();
    let frames = tree.frames();
    // Frame indices by function, in function-id order: the same file for the same tree
    // however the tree was walked.
    let mut index = vec![UNUSED; profile.functions().len()];
    for f in frames.iter().skip(1) {
        if let Some(id) = f.func {
            index[id as usize] = 0;
        }
    }
    for (i, slot) in (index.iter_mut().filter(|s| **s != UNUSED)).enumerate() {
        *slot = i as u32;
    }
    let unit = match profile.measure() {
        Measure::Calls | Measure::Samples { seconds: true } => "seconds",
        Measure::Samples { seconds: false } => "none",
    };
    out.str("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"flameprof ");
    out.str(env!("CARGO_PKG_VERSION"));
    out.str("\",\"name\":");
    string(&mut out, &job.options.title);
    out.str(",\"activeProfileIndex\":0,\n\"shared\":{\"frames\":[");
    let mut label = String::new();
    let mut first = true;
    for (id, &i) in index.iter().enumerate() {
        if i == UNUSED {
            continue;
        }
        out.str(if first { "\n" } else { ",\n" });
        first = false;
        let key = &profile.function(id as FuncId).key;
        label.clear();
        profile.write_label(id as FuncId, &mut label);
        out.str("{\"name\":");
        string(&mut out, &label);
        // Builtins (`~`, line 0) have no source file to open.
        if key.file.as_str() != "~" {
            out.str(",\"file\":");
            string(&mut out, key.file.as_str());
            out.str(",\"line\":");
            out.i64(key.line);
        }
        out.byte(b'}');
        out.end_record()?;
    }
    out.str("\n]},\n\"profiles\":[{\"type\":\"sampled\",\"name\":");
    string(&mut out, &job.options.title);
    out.str(",\"unit\":\"");
    out.str(unit);
    out.str("\",\"startValue\":0,\"endValue\":");
    let total = tree.total();
    num(&mut out, if total.is_finite() { total } else { 0.0 });
    out.str(",\n\"samples\":[");
    // The weights go after the samples: kept here, one per sample.
    let mut weights: Vec<f64> = Vec::new();
    let mut stack: Vec<u32> = Vec::new();
    let mut sample = |out: &mut Output<'_>, stack: &[u32], time: f64| -> io::Result<()> {
        // Zero, negative or non-finite self time is no sample speedscope can weigh.
        if !(time.is_finite() && time > 0.0) {
            return Ok(());
        }
        out.str(if weights.is_empty() { "\n[" } else { ",\n[" });
        for (k, i) in stack.iter().enumerate() {
            if k > 0 {
                out.byte(b',');
            }
            out.u64(u64::from(*i));
        }
        out.byte(b']');
        weights.push(time);
        out.end_record()
    };
    let (deep_frames, deep_time) = tree.walk_stacks(MAX_DEPTH, |step| match step {
        StackStep::Enter(depth, func) => {
            stack.truncate(depth - 1);
            stack.push(func.map_or(0, |id| index[id as usize]));
            Ok(())
        }
        StackStep::Complete(time) => sample(&mut out, &stack, time),
    })?;
    out.str("\n],\n\"weights\":[");
    for (k, w) in weights.iter().enumerate() {
        out.str(if k == 0 { "\n" } else { ",\n" });
        num(&mut out, *w);
        out.end_record()?;
    }
    out.str("\n]}]}\n");
    if deep_frames > 0 {
        job.warn(format!(
            "-f speedscope: stacks cut at {MAX_DEPTH} frames: the self time of {deep_frames} \
             deeper frames ({deep_time:.6}s) is written on their ancestor at depth \
             {MAX_DEPTH}; --max-depth cuts the tree itself"
        ));
    }
    out.finish()
}
