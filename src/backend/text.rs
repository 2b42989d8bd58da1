//! `-f text`: the flame tree as an indented call tree for the terminal.
//!
//! One line per frame: share of the total, total and self time, calls, then the
//! function under box-drawing guides. Heaviest children come first; estimated frames
//! have their total prefixed with `~`; children cut by `--threshold`/`--max-depth` are
//! summarised on one line (`… 12 more frames, 3.1ms`). Lines fit
//! [`RenderOptions::columns`](super::RenderOptions): long names are cut in the middle,
//! and very deep guides are folded into a depth marker. ANSI colours only when
//! [`RenderOptions::color`](super::RenderOptions) is set. Specified in
//! `formats/text/README.md`.

use std::io::{self, Write};

use super::{Backend, Job};
use crate::tree::{CallTree, ROOT};

inventory::submit! {
    Backend {
        name: "text",
        about: "the flame tree as an indented call tree for the terminal",
        extension: "txt",
        render,
    }
}

/// Width of the numeric columns, separator included.
const NUMBERS: usize = 38;
/// Narrowest line flameprof lays out; `COLUMNS` below this is raised to it.
const MIN_COLUMNS: usize = 60;

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const HOT: &str = "\x1b[1;31m";
const WARM: &str = "\x1b[33m";

/// A time with a unit that keeps about four significant digits: `1.234s`, `12.30ms`,
/// `456.0µs`, `0` for nothing; `nan` and `inf` spelled out.
pub(crate) fn time(t: f64) -> String {
    let a = t.abs();
    if !t.is_finite() {
        format!("{t}")
    } else if a == 0.0 {
        "0".into()
    } else if a >= 1.0 {
        format!("{t:.3}s")
    } else if a >= 1e-3 {
        format!("{:.2}ms", t * 1e3)
    } else {
        format!("{:.1}µs", t * 1e6)
    }
}

/// Cuts `s` to at most `max` characters by replacing its middle with `…`.
pub(crate) fn middle_truncate(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    if max <= 1 {
        return "…".chars().take(max).collect();
    }
    let keep = max - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    out
}

enum Item {
    Frame(u32),
    /// The summary line of what was cut under a frame.
    Cut(u32),
}

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    write_tree(job, job.flame(), out)
}

fn write_tree(job: &Job<'_>, tree: &CallTree, out: &mut dyn Write) -> io::Result<()> {
    let o = job.options;
    let color = o.color;
    let columns = o.columns.max(MIN_COLUMNS);
    let total = tree.total();
    let (dim, reset) = if color { (DIM, RESET) } else { ("", "") };
    let header = format!(
        "{:>6} {:>9} {:>9} {:>9}  function (~ = estimated)",
        "total%", "total", "self", "calls"
    );
    writeln!(out, "{dim}{}{reset}", middle_truncate(&header, columns))?;
    // Guides (marker and branch included) take at most half of the room right of the
    // numbers; deeper stacks show `[depth] ` and then only the innermost guides.
    let budget = (columns - NUMBERS) / 2;
    let mut last: Vec<bool> = Vec::new();
    let mut stack: Vec<(Item, u32, bool)> = vec![(Item::Frame(ROOT), 0, true)];
    while let Some((item, depth, is_last)) = stack.pop() {
        let depth = depth as usize;
        last.truncate(depth.saturating_sub(1));
        let mut guides = String::new();
        if depth > 0 {
            let shown = depth - 1;
            let mut skip = 0;
            if 3 * shown + 3 > budget {
                let marker = format!("[{depth}] ");
                let fit = budget.saturating_sub(3 + marker.chars().count()) / 3;
                skip = shown - fit.min(shown);
                guides.push_str(&marker);
            }
            for &l in &last[skip..] {
                guides.push_str(if l { "   " } else { "│  " });
            }
            guides.push_str(if is_last { "└─ " } else { "├─ " });
            last.push(is_last);
        }
        let room = columns.saturating_sub(NUMBERS + guides.chars().count());
        match item {
            Item::Cut(i) => {
                let f = tree.frame(i);
                let n = f.cut_count;
                let what = format!(
                    "… {n} more frame{}, {}",
                    if n == 1 { "" } else { "s" },
                    time(f.cut)
                );
                writeln!(
                    out,
                    "{:NUMBERS$}{dim}{guides}{}{reset}",
                    "",
                    middle_truncate(&what, room)
                )?;
            }
            Item::Frame(i) => {
                let f = tree.frame(i);
                let share = if total > 0.0 {
                    f.total / total * 100.0
                } else {
                    0.0
                };
                let mark = if f.exact { "" } else { "~" };
                let name = match job.key(f.func) {
                    Some(k) => k.display(),
                    None => format!("all ({} functions)", job.profile.listed_count()),
                };
                let calls = if f.func.is_none() {
                    String::new()
                } else if f.calls.is_finite() && f.calls >= 0.0 {
                    format!("{mark}{:.0}", f.calls)
                } else {
                    "?".into()
                };
                let heat = if !color {
                    ""
                } else if share >= 50.0 {
                    HOT
                } else if share >= 10.0 {
                    WARM
                } else {
                    ""
                };
                let heat_reset = if heat.is_empty() { "" } else { RESET };
                writeln!(
                    out,
                    "{heat}{share:>5.1}%{heat_reset} {:>9} {:>9} {:>9}  {dim}{guides}{reset}{}",
                    format!("{mark}{}", time(f.total)),
                    time(f.self_time),
                    calls,
                    middle_truncate(&name, room)
                )?;
                // Children heaviest first; the stack pops the last pushed, so push the
                // summary line first and the heaviest child last.
                let mut kids: Vec<u32> = tree.children(i).to_vec();
                kids.sort_by(|&a, &b| {
                    tree.frame(b)
                        .total
                        .total_cmp(&tree.frame(a).total)
                        .then(a.cmp(&b))
                });
                let has_cut = f.cut_count > 0 && f.cut > 0.0;
                let child_depth = f.depth + 1;
                if has_cut {
                    stack.push((Item::Cut(i), child_depth, true));
                }
                for (k, &c) in kids.iter().enumerate().rev() {
                    let is_last = k + 1 == kids.len() && !has_cut;
                    stack.push((Item::Frame(c), child_depth, is_last));
                }
            }
        }
    }
    if tree.truncated {
        writeln!(
            out,
            "(stopped at the frame limit: {} frames, {} not shown)",
            tree.len(),
            time(tree.cut_time)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn middle_truncation_keeps_both_ends() {
        assert_eq!(middle_truncate("abcdefghij", 5), "ab…ij");
        assert_eq!(middle_truncate("abc", 5), "abc");
        assert_eq!(middle_truncate("日本語のテキスト", 4), "日本…ト");
        assert_eq!(middle_truncate("abc", 0), "");
    }

    #[test]
    fn times_have_units() {
        assert_eq!(time(1.5), "1.500s");
        assert_eq!(time(0.0123), "12.30ms");
        assert_eq!(time(0.0000456), "45.6µs");
        assert_eq!(time(0.0), "0");
        assert_eq!(time(f64::NAN), "NaN");
    }
}
