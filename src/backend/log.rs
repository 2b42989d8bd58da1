//! `-f log`: folded stacks, flameprof 0.4's shape, for flamegraph.pl and inferno.
//!
//! One line per flame-tree frame with self time: frames `file:line:name` (with
//! `--labels module`, the model's labels, `format (json:52)`) from the root up, joined
//! by `;`, a space, and the self time × `--log-mult` rounded to an integer (the
//! rounding error carried to the next line, so the values add up to the total).
//! Lines come in the tree's pre-order (children sorted by label), so the output is
//! deterministic. Every line repeats its whole stack, so the output grows with depth ×
//! frames: stacks are cut at a depth ([`MAX_DEPTH`], lower when the output would pass
//! [`byte_budget`]), the time above the cut written on the frame at the cut, with a
//! warning; values past `u64::MAX` are written as `u64::MAX`, with a warning.
//! Specified in `formats/log/README.md`.

use std::io::{self, Write};

use super::output::{Output, push_i64};
use super::{Backend, FormatOption, Job, StringTable, Trees};
use crate::model::{FuncId, FuncKey, Profile};
use crate::printable;
use crate::tree::{CallTree, ROOT, StackStep};

inventory::submit! {
    Backend {
        name: "log",
        about: "folded stacks (file:line:name;... value) for flamegraph.pl, inferno, speedscope",
        extension: "folded",
        render,
        trees: |_| Trees::FLAME,
        options: &[
            FormatOption {
                name: "log-mult",
                check: |v| mult(v).map(drop),
            },
            super::LABELS,
        ],
    }
}

/// The `log-mult` option: the multiplier from self seconds to the integer values
/// written, a positive number (default 1,000,000: microseconds).
fn mult(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!(
            "invalid value '{text}' for '--log-mult': must be a positive number"
        )),
    }
}

/// Writes a frame label so that it cannot break the line format: `;` (which
/// separates frames) becomes `,`, and control characters (a line break would end the
/// line, an escape sequence would reach a terminal) are escaped as `\n`, `\x1b`, ….
pub(crate) fn write_frame(out: &mut String, key: &FuncKey) {
    push_part(out, key.file.as_str());
    out.push(':');
    let mut line = Vec::new();
    push_i64(&mut line, key.line);
    out.push_str(std::str::from_utf8(&line).unwrap_or_default());
    out.push(':');
    push_part(out, key.name.as_str());
}

/// Appends `s` with its control characters escaped and `;` written `,`.
fn push_part(out: &mut String, s: &str) {
    let start = out.len();
    printable::push_escaped(out, s);
    if out[start..].contains(';') {
        let fixed = out[start..].replace(';', ",");
        out.truncate(start);
        out.push_str(&fixed);
    }
}

/// Stacks are cut at this many frames: Python's default recursion limit is 1,000, and
/// recursion is folded in the tree, so deeper stacks come from odd or hostile data.
pub(crate) const MAX_DEPTH: usize = 1_000;

/// The output bound for `profile`: 64 times its size as read (its labels, and 40
/// bytes per function and per edge for the numbers), and never less than 64 MiB.
pub(crate) fn byte_budget(profile: &Profile) -> u64 {
    let labels: usize = (profile.functions().iter())
        .map(|f| f.key.file.as_str().len() + f.key.name.as_str().len())
        .sum();
    let read = labels as u64 + 40 * (profile.functions().len() + profile.edges().len()) as u64;
    (64 * read).max(64 << 20)
}

/// The number of digits of `value`, the value of a line, and the space and line break.
fn value_bytes(value: f64) -> u64 {
    let v = value.round();
    let digits = if v < 10.0 {
        1
    } else if v >= 1e19 {
        20
    } else {
        (v as u64).ilog10() as u64 + 1
    };
    digits + 2
}

/// The deepest cut at most [`MAX_DEPTH`] that keeps the output within `budget` bytes
/// (at least 1), or `None` when the whole tree fits. `labels` are the frame labels
/// per function; sizes count every frame with time as a line, an upper bound (lines
/// rounding to zero are left out).
fn cut_depth(tree: &CallTree, labels: &StringTable, mult: f64, budget: u64) -> Option<usize> {
    let frames = tree.frames();
    // Per frame: the length of its stack, and the self time of its whole subtree
    // (children come after their parent in pre-order).
    let mut len = vec![0u64; frames.len()];
    for (i, f) in frames.iter().enumerate().skip(1) {
        let sep = u64::from(f.parent != ROOT);
        let label = f.func.map_or(0, |id| labels.get(id as usize).len());
        len[i] = len[f.parent as usize] + sep + label as u64;
    }
    let mut subtree: Vec<f64> = frames.iter().map(|f| f.self_time).collect();
    for (i, f) in frames.iter().enumerate().skip(1).rev() {
        subtree[f.parent as usize] += subtree[i];
    }
    // At depth d: the bytes of its own lines, and of its lines were the cut at d.
    let deepest = tree.max_depth() as usize;
    let mut own = vec![0u64; deepest + 1];
    let mut at_cut = vec![0u64; deepest + 1];
    for (i, f) in frames.iter().enumerate().skip(1) {
        let d = f.depth as usize;
        if f.self_time > 0.0 {
            own[d] = own[d].saturating_add(len[i] + value_bytes(f.self_time * mult));
        }
        if subtree[i] > 0.0 {
            at_cut[d] = at_cut[d].saturating_add(len[i] + value_bytes(subtree[i] * mult));
        }
    }
    let mut above = 0u64;
    let mut best = 0;
    for d in 1..=deepest.min(MAX_DEPTH) {
        if above.saturating_add(at_cut[d]) > budget {
            break;
        }
        best = d;
        above = above.saturating_add(own[d]);
    }
    // The whole tree fits when every depth fits cut there and its own lines as well.
    if best == deepest && above <= budget {
        return None;
    }
    Some(best.max(1))
}

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    write_within(job, out, byte_budget(job.profile))
}

/// [`render`] with an output bound of `budget` bytes.
fn write_within(job: &Job<'_>, out: &mut dyn Write, budget: u64) -> io::Result<()> {
    let mut out = Output::new(out);
    let tree = job.flame();
    let mult = match job.options.format.get("log-mult") {
        Some(text) => mult(text).map_err(super::refused)?,
        None => 1_000_000.0,
    };
    // flameprof 0.4's `file:line:name` unless module labels are asked for.
    let by_module = match job.options.format.get("labels") {
        Some(v) => super::labels_by_module(v).map_err(super::refused)?,
        None => false,
    };
    let mut label = String::new();
    let labels = StringTable::build(job.profile.functions().len(), |id, buf| {
        if by_module {
            // The model's label, made safe as `write_frame` makes its parts.
            label.clear();
            job.profile.write_label(id as FuncId, &mut label);
            push_part(buf, &label);
        } else {
            write_frame(buf, &job.profile.function(id as FuncId).key);
        }
    });
    let cut = cut_depth(tree, &labels, mult, budget);
    let max_depth = cut.unwrap_or(usize::MAX);
    // `path` holds the stack of the current frame; `ends[d]` is its length at depth d.
    let mut path: Vec<u8> = Vec::with_capacity(4096);
    let mut ends: Vec<usize> = vec![0];
    let mut carry = 0.0;
    let mut saturated = 0u64;
    let mut line = |out: &mut Output<'_>, path: &[u8], time: f64| -> io::Result<()> {
        // Rounding error is carried from line to line, so the values add up to the
        // total × multiplier (±1) even when many frames hold less than one unit.
        let exact = time * mult + carry;
        let value = exact.round().max(0.0);
        let value = if value >= u64::MAX as f64 {
            // Saturated: the carry would be infinite or meaningless.
            saturated += 1;
            carry = 0.0;
            u64::MAX
        } else {
            carry = exact - value;
            value as u64
        };
        if value >= 1 {
            out.bytes(path);
            out.byte(b' ');
            out.u64(value);
            out.byte(b'\n');
            out.end_record()?;
        }
        Ok(())
    };
    let (deep_frames, deep_time) = tree.walk_stacks(max_depth, |step| match step {
        StackStep::Enter(depth, func) => {
            ends.truncate(depth);
            path.truncate(ends[depth - 1]);
            if depth > 1 {
                path.push(b';');
            }
            if let Some(id) = func {
                path.extend_from_slice(labels.get(id as usize).as_bytes());
            }
            ends.push(path.len());
            Ok(())
        }
        StackStep::Complete(time) => line(&mut out, &path, time),
    })?;
    if let Some(cut) = cut {
        job.warn(format!(
            "-f log: stacks cut at {cut} frames ({}): the self time of {deep_frames} deeper \
             frames ({deep_time:.6}s) is written on their ancestor at depth {cut}; \
             --max-depth cuts the tree itself",
            if cut == MAX_DEPTH {
                "the most -f log writes".to_string()
            } else {
                format!(
                    "deeper stacks would pass the output bound of {} MiB for a profile this size",
                    budget >> 20
                )
            },
        ));
    }
    if saturated > 0 {
        job.warn(format!(
            "-f log: {saturated} values above 2^64-1 were written as {}; \
             lower --log-mult",
            u64::MAX
        ));
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::RenderOptions;
    use crate::model::{EdgeStats, ProfileBuilder, Stats};
    use crate::tree::TreeOptions;

    /// A chain `depth` deep, each frame with one second of its own, and `leaves`
    /// callees of the deepest one, one second each.
    fn chain(depth: usize, leaves: usize) -> Profile {
        let mut b = ProfileBuilder::new();
        let key = |i: usize| FuncKey::new("chain.py", i as i64, "f");
        let leaf = |i: usize| FuncKey::new("leaf.py", i as i64, "g");
        let s = |t: f64| Stats {
            cc: 1,
            nc: 1,
            tt: 1.0,
            ct: t,
        };
        for i in 0..depth {
            let ct = (depth - i + leaves) as f64;
            b.add_function(key(i), s(ct));
            if i > 0 {
                b.add_edge(key(i - 1), key(i), EdgeStats::Timed(s(ct)));
            }
        }
        for j in 0..leaves {
            b.add_function(leaf(j), s(1.0));
            b.add_edge(key(depth - 1), leaf(j), EdgeStats::Timed(s(1.0)));
        }
        b.finish()
    }

    fn folded(profile: &Profile, budget: u64) -> (String, Vec<String>) {
        let mut options = RenderOptions {
            tree: TreeOptions {
                threshold: 0.0,
                ..TreeOptions::default()
            },
            ..RenderOptions::default()
        };
        options.format.set("log-mult", "1");
        let job = Job::new(profile, &options);
        let mut out = Vec::new();
        write_within(&job, &mut out, budget).unwrap();
        (String::from_utf8(out).unwrap(), job.warnings())
    }

    fn sum(text: &str) -> u64 {
        (text.lines())
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
            .sum()
    }

    #[test]
    fn output_past_the_bound_is_cut_shallower_keeping_every_second() {
        let p = chain(200, 300);
        let (whole, warnings) = folded(&p, u64::MAX);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(sum(&whole), 500);
        let labels = StringTable::build(p.functions().len(), |id, buf| {
            write_frame(buf, &p.function(id as FuncId).key)
        });
        let tree = crate::tree::flame_tree(
            &p,
            &TreeOptions {
                threshold: 0.0,
                ..TreeOptions::default()
            },
        );
        for budget in [whole.len() as u64 / 4, whole.len() as u64 / 40, 100] {
            let (cut, warnings) = folded(&p, budget);
            assert!(cut.len() as u64 <= budget, "{} > {budget}", cut.len());
            assert_eq!(sum(&cut), 500);
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(warnings[0].contains("output bound"), "{warnings:?}");
            let depth = cut.lines().map(|l| l.split(';').count()).max().unwrap();
            assert!(depth <= 200 && !cut.contains("leaf.py"), "{depth}");
            assert_eq!(cut_depth(&tree, &labels, 1.0, budget), Some(depth));
        }
    }

    #[test]
    fn stacks_deeper_than_the_most_are_cut_at_it() {
        let p = chain(MAX_DEPTH + 50, 0);
        let (text, warnings) = folded(&p, u64::MAX);
        assert_eq!(sum(&text), (MAX_DEPTH + 50) as u64);
        let depths: Vec<usize> = text.lines().map(|l| l.split(';').count()).collect();
        assert_eq!(depths.len(), MAX_DEPTH);
        assert_eq!(*depths.last().unwrap(), MAX_DEPTH);
        assert!(text.ends_with(" 51\n"), "{}", &text[text.len() - 40..]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("50 deeper frames"), "{warnings:?}");
    }
}
