//! `-f text`: the flame tree as an indented call tree for the terminal.
//!
//! One line per frame: share of the total, total and self time, calls, then the
//! function under box-drawing guides. Heaviest children come first; estimated frames
//! have their total and calls prefixed with `~` (close) or `?` (a guess), by
//! [`CallTree::certainty`](crate::CallTree::certainty). Children cut by `--threshold` or
//! `--max-depth` are summarised on one line (`… 12 more frames, 3.1ms`); their time is
//! not shown as their parent's self time, which is the frame's own time only
//! ([`Frame::own_time`](crate::Frame::own_time)). Calls the file does not count are a
//! lone `?`. Functions are shown by the model's label, `format (json:52)` (`--labels
//! file`: the full path in place of the module). Lines fit
//! [`RenderOptions::columns`](super::RenderOptions): a long label loses the start of its
//! module or path first, its function name and line last; very deep guides are folded
//! into a depth marker. ANSI colours only when
//! [`RenderOptions::color`](super::RenderOptions) is set. Specified in
//! `formats/text/README.md`.

use std::io::{self, Write};

use super::output::Output;
use super::{Backend, Job, StringTable, Trees};
use crate::model::{FuncId, Measure, Profile};
use crate::printable;
use crate::tree::{CallTree, Certainty, ROOT};

inventory::submit! {
    Backend {
        name: "text",
        about: "the flame tree as an indented call tree for the terminal",
        extension: "txt",
        render,
        trees: |_| Trees::FLAME,
        options: &[super::LABELS],
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
/// `456.0µs`, `0` for nothing, `1.563e305s` from a billion seconds on (no real run
/// lasts that long, but a file can say so, and 300 digits help nobody); `nan` and
/// `inf` spelled out.
#[cfg(test)]
fn time(t: f64) -> String {
    let mut v = Vec::new();
    let mut out = Output::new(&mut v);
    write_time(&mut out, t);
    let _ = out.finish();
    String::from_utf8(v).unwrap_or_default()
}

/// Writes [`time`]'s text.
pub(crate) fn write_time(out: &mut Output<'_>, t: f64) {
    let a = t.abs();
    if !t.is_finite() {
        let _ = write!(out, "{t}");
    } else if a == 0.0 {
        out.byte(b'0');
    } else if a >= 1e9 {
        let _ = write!(out, "{t:.3e}s");
    } else if a >= 1.0 {
        out.fixed(t, 3);
        out.byte(b's');
    } else if a >= 1e-3 {
        out.fixed(t * 1e3, 2);
        out.str("ms");
    } else {
        out.fixed(t * 1e6, 1);
        out.str("µs");
    }
}

/// Writes an amount of the tree: a [`write_time`], or with `counts` (a sampled
/// profile that keeps no interval: its "times" are sample counts) a count, with one
/// decimal where an estimate split it.
fn write_amount(out: &mut Output<'_>, t: f64, counts: bool) {
    if !counts || !t.is_finite() {
        write_time(out, t);
    } else if t == t.round() {
        out.fixed(t, 0);
    } else {
        out.fixed(t, 1);
    }
}

/// Cuts `s` to at most `max` characters by replacing its middle with `…`, control
/// characters escaped.
#[cfg(test)]
fn middle_truncate(s: &str, max: usize) -> String {
    let mut v = Vec::new();
    let mut out = Output::new(&mut v);
    write_middle_truncated(&mut out, s, shown_width(s), max);
    let _ = out.finish();
    String::from_utf8(v).unwrap_or_default()
}

/// How many characters `c` takes once escaped for the terminal.
fn unit_width(c: char) -> usize {
    if !printable::is_unsafe(c) {
        1
    } else if matches!(c, '\t' | '\n' | '\r') {
        2
    } else {
        4
    }
}

/// How many characters `s` takes once escaped for the terminal.
pub(crate) fn shown_width(s: &str) -> usize {
    s.chars().map(unit_width).sum()
}

/// Writes `s` with its control characters escaped (`n` is [`shown_width`] of `s`),
/// cut to at most `max` characters by replacing its middle with `…`. The cut falls
/// between characters of `s`, never inside an escape, so a line may come out a few
/// characters short of `max`.
pub(crate) fn write_middle_truncated(out: &mut Output<'_>, s: &str, n: usize, max: usize) {
    if n <= max {
        out.str(&printable::escaped(s));
        return;
    }
    if max == 0 {
        return;
    }
    if max == 1 {
        out.str("…");
        return;
    }
    let keep = max - 1;
    let head_room = keep.div_ceil(2);
    let tail_room = keep - head_room;
    // The longest prefix and suffix whose escapes fit their room.
    let mut used = 0;
    let head = s
        .char_indices()
        .find(|&(_, c)| {
            used += unit_width(c);
            used > head_room
        })
        .map_or(s.len(), |(i, _)| i);
    used = 0;
    let tail = s
        .char_indices()
        .rev()
        .find(|&(_, c)| {
            used += unit_width(c);
            used > tail_room
        })
        .map_or(0, |(i, c)| i + c.len_utf8());
    let mut buf = String::with_capacity(max + 8);
    printable::push_escaped(&mut buf, &s[..head]);
    buf.push('…');
    printable::push_escaped(&mut buf, &s[tail.max(head)..]);
    out.str(&buf);
}

/// Where the module (or path) of `label` lies: it starts after `name (` and ends at
/// `:line)`; `None` for builtins, whose label has no such part.
fn label_parts(label: &str, key: &crate::model::FuncKey) -> Option<(u32, u32)> {
    if key.is_builtin() {
        return None;
    }
    let head = key.name.as_str().len() + 2;
    let tail = label.rfind(':')?;
    (head <= tail).then_some((head as u32, tail as u32))
}

/// Writes `label` (`n` is its [`shown_width`]) fit to `room` characters. The function
/// name and line are what a reader looks for, so they stay: the module or path between
/// them (`parts`) gives way from its start (the directories first, then the outer
/// packages), and only when the name alone is too long is the name cut in its middle.
fn write_label_fitted(
    out: &mut Output<'_>,
    label: &str,
    n: usize,
    parts: Option<(u32, u32)>,
    room: usize,
) {
    let Some((h, t)) = parts.filter(|_| n > room) else {
        write_middle_truncated(out, label, n, room);
        return;
    };
    let (head, middle, tail) = (
        &label[..h as usize],
        &label[h as usize..t as usize],
        &label[t as usize..],
    );
    let (head_w, tail_w) = (shown_width(head), shown_width(tail));
    if head_w + 1 + tail_w <= room {
        let budget = room - head_w - 1 - tail_w;
        let mut used = 0;
        let cut = (middle.char_indices().rev())
            .find(|&(_, c)| {
                used += unit_width(c);
                used > budget
            })
            .map_or(0, |(i, c)| i + c.len_utf8());
        let mut buf = String::with_capacity(room + 8);
        printable::push_escaped(&mut buf, head);
        buf.push('…');
        printable::push_escaped(&mut buf, &middle[cut..]);
        printable::push_escaped(&mut buf, tail);
        out.str(&buf);
        return;
    }
    // ` (…` and the line after the name.
    let rest_w = 3 + tail_w;
    let name = &head[..head.len() - 2];
    if room > rest_w + 1 {
        write_middle_truncated(out, name, shown_width(name), room - rest_w);
        out.str(" (…");
        out.str(&printable::escaped(tail));
    } else {
        write_middle_truncated(out, label, n, room);
    }
}

/// What goes before an estimated frame's total and calls.
fn mark(c: Certainty) -> &'static str {
    match c {
        Certainty::Exact => "",
        Certainty::Close => "~",
        Certainty::Guess => "?",
    }
}

enum Item {
    Frame(u32),
    /// The summary line of what was cut under a frame.
    Cut(u32),
}

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = Output::new(out);
    write_tree(job, job.flame(), &mut out)?;
    out.finish()
}

fn write_tree(job: &Job<'_>, tree: &CallTree, out: &mut Output<'_>) -> io::Result<()> {
    let o = job.options;
    let columns = o.columns.max(MIN_COLUMNS);
    let (dim, reset) = if o.color { (DIM, RESET) } else { ("", "") };
    let measure = job.profile.measure();
    let header = format!(
        "{:>6} {:>9} {:>9} {:>9}  function (~ = close estimate, ? = rough guess)",
        "total%",
        "total",
        "self",
        if measure.is_samples() {
            "samples"
        } else {
            "calls"
        }
    );
    out.str(dim);
    write_middle_truncated(out, &header, shown_width(&header), columns);
    out.str(reset);
    out.byte(b'\n');
    // Each function's label, made once, with where its module or path lies; and the
    // root's.
    let by_module = match o.format.get("labels") {
        Some(v) => super::labels_by_module(v).map_err(super::refused)?,
        None => true,
    };
    let profile = job.profile;
    let mut parts = Vec::with_capacity(profile.functions().len());
    let names = StringTable::build(profile.functions().len(), |id, buf| {
        let start = buf.len();
        let key = &profile.function(id as FuncId).key;
        if by_module {
            profile.write_label(id as FuncId, buf);
        } else {
            crate::model::write_label(buf, key, key.file.as_str());
        }
        parts.push(label_parts(&buf[start..], key));
    });
    let name_chars: Vec<usize> = (0..profile.functions().len())
        .map(|id| shown_width(names.get(id)))
        .collect();
    let lines = Lines {
        tree,
        profile,
        names,
        parts,
        name_chars,
        root_name: match measure {
            Measure::Calls => format!("all ({} functions)", job.profile.listed_count()),
            // austin's stacks weigh microseconds: how many samples, nobody said.
            Measure::Samples { .. } if job.profile.totals().1 < 0 => {
                format!("all ({} functions)", job.profile.listed_count())
            }
            Measure::Samples { .. } => format!(
                "all ({} functions, {} samples)",
                job.profile.listed_count(),
                job.profile.totals().1
            ),
        },
        counts: measure == Measure::Samples { seconds: false },
        total: tree.total(),
        color: o.color,
        dim,
        reset,
    };
    let mut guides = Guides {
        // Guides (marker and branch included) take at most half of the room right of
        // the numbers; deeper stacks show `[depth] ` and then only the innermost guides.
        budget: (columns - NUMBERS) / 2,
        last: Vec::new(),
        text: String::new(),
    };
    let mut stack: Vec<(Item, u32, bool)> = vec![(Item::Frame(ROOT), 0, true)];
    let mut kids: Vec<u32> = Vec::new();
    while let Some((item, depth, is_last)) = stack.pop() {
        let guide_chars = guides.fill(depth as usize, is_last);
        let room = columns.saturating_sub(NUMBERS + guide_chars);
        match item {
            Item::Cut(i) => lines.cut(out, i, &guides.text, room),
            Item::Frame(i) => {
                lines.frame(out, i, &guides.text, room);
                // Children heaviest first; the stack pops the last pushed, so push the
                // summary line first and the heaviest child last.
                kids.clear();
                kids.extend_from_slice(tree.children(i));
                kids.sort_by(|&a, &b| {
                    tree.frame(b)
                        .total
                        .total_cmp(&tree.frame(a).total)
                        .then(a.cmp(&b))
                });
                let f = tree.frame(i);
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
        out.end_record()?;
    }
    if tree.truncated {
        out.str("(stopped at the frame limit: ");
        out.u64(tree.len() as u64);
        out.str(" frames, ");
        write_amount(out, tree.cut_time, lines.counts);
        out.str(" not shown)\n");
    }
    if measure.is_samples() && profile.functions().iter().any(|f| f.key.is_sampler_frame()) {
        // The sampler's own frames are no function of the program: say what they are.
        out.str(lines.dim);
        out.str(
            "{GC}, {native} and <task> frames are the sampling profiler's: a garbage \
                 collection, C code, an asyncio task\n",
        );
        if (profile.functions().iter())
            .any(|f| f.key.is_builtin() && f.key.name.as_str() == "<INVALID>")
        {
            out.str("{INVALID} frames are austin's: samples it could not read\n");
        }
        out.str(lines.reset);
    }
    Ok(())
}

/// The box-drawing guides left of a name, kept from line to line.
struct Guides {
    /// Columns the guides may take, depth marker included.
    budget: usize,
    /// Per ancestor below the root: whether it was its parent's last child (no `│`).
    last: Vec<bool>,
    /// The guides of the current line.
    text: String,
}

impl Guides {
    /// Makes the guides of a line at `depth`; returns their width in characters.
    fn fill(&mut self, depth: usize, is_last: bool) -> usize {
        self.last.truncate(depth.saturating_sub(1));
        self.text.clear();
        if depth == 0 {
            return 0;
        }
        let mut chars = 0;
        let shown = depth - 1;
        let mut skip = 0;
        if 3 * shown + 3 > self.budget {
            let start = self.text.len();
            let _ = std::fmt::Write::write_fmt(&mut self.text, format_args!("[{depth}] "));
            let marker = self.text.len() - start;
            chars += marker;
            let fit = self.budget.saturating_sub(3 + marker) / 3;
            skip = shown - fit.min(shown);
        }
        for &l in &self.last[skip..] {
            self.text.push_str(if l { "   " } else { "│  " });
            chars += 3;
        }
        self.text.push_str(if is_last { "└─ " } else { "├─ " });
        chars += 3;
        self.last.push(is_last);
        chars
    }
}

/// What every line of the tree needs: the tree, the names, and the colours.
struct Lines<'a> {
    tree: &'a CallTree,
    profile: &'a Profile,
    names: StringTable,
    /// Per function: where the module or path lies in its name ([`label_parts`]).
    parts: Vec<Option<(u32, u32)>>,
    /// Per function: the shown width of its name.
    name_chars: Vec<usize>,
    root_name: String,
    /// Amounts are sample counts, not seconds (`Measure::Samples { seconds: false }`).
    counts: bool,
    total: f64,
    color: bool,
    dim: &'static str,
    reset: &'static str,
}

impl Lines<'_> {
    /// The summary line of what was cut under frame `i`, fit to `room`.
    fn cut(&self, out: &mut Output<'_>, i: u32, guides: &str, room: usize) {
        let f = self.tree.frame(i);
        let n = f.cut_count;
        out.spaces(NUMBERS);
        out.str(self.dim);
        out.str(guides);
        let start = out.position();
        out.str("… ");
        out.u64(u64::from(n));
        out.str(if n == 1 {
            " more frame, "
        } else {
            " more frames, "
        });
        write_amount(out, f.cut, self.counts);
        let what = String::from_utf8_lossy(out.since(start));
        let chars = what.chars().count();
        if chars > room {
            // Rare: the summary is cut, from a copy.
            let what = what.into_owned();
            out.raw().truncate(start);
            write_middle_truncated(out, &what, shown_width(&what), room);
        }
        out.str(self.reset);
        out.byte(b'\n');
    }

    /// The line of frame `i`: its numbers, the guides, and its name fit to `room`.
    fn frame(&self, out: &mut Output<'_>, i: u32, guides: &str, room: usize) {
        let f = self.tree.frame(i);
        let share = if self.total > 0.0 {
            f.total / self.total * 100.0
        } else {
            0.0
        };
        let mark = mark(self.tree.certainty(i));
        let heat = if !self.color {
            ""
        } else if share >= 50.0 {
            HOT
        } else if share >= 10.0 {
            WARM
        } else {
            ""
        };
        let heat_reset = if heat.is_empty() { "" } else { RESET };
        out.str(heat);
        out.fixed_padded(share, 1, 5);
        out.byte(b'%');
        out.str(heat_reset);
        out.byte(b' ');
        let start = out.position();
        out.str(mark);
        write_amount(out, f.total, self.counts);
        out.pad_since(start, 9);
        out.byte(b' ');
        let start = out.position();
        write_amount(out, f.own_time(), self.counts);
        out.pad_since(start, 9);
        out.byte(b' ');
        let start = out.position();
        if let Some(id) = f.func
            && !self.profile.function(id).stats.calls_known()
        {
            out.byte(b'?');
        } else if f.func.is_none() {
        } else if f.calls.is_finite() && f.calls >= 0.0 {
            out.str(mark);
            out.fixed(f.calls, 0);
        } else {
            out.byte(b'?');
        }
        out.pad_since(start, 9);
        out.str("  ");
        out.str(self.dim);
        out.str(guides);
        out.str(self.reset);
        match f.func {
            Some(id) => {
                let id = id as usize;
                let (name, n) = (self.names.get(id), self.name_chars[id]);
                write_label_fitted(out, name, n, self.parts[id], room);
            }
            None => {
                write_middle_truncated(out, &self.root_name, shown_width(&self.root_name), room)
            }
        }
        out.byte(b'\n');
    }
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
    fn names_are_escaped_and_cut_between_escapes() {
        assert_eq!(middle_truncate("a\u{1b}[2Jb", 20), "a\\x1b[2Jb");
        // Cut on characters, an escape would lose its tail (`\x1` or `x1b`).
        assert_eq!(
            middle_truncate("\u{1b}\u{1b}\u{1b}\u{1b}\u{1b}\u{1b}", 9),
            "\\x1b…\\x1b"
        );
        assert_eq!(middle_truncate("ab\u{1b}\u{1b}\u{1b}\u{1b}cd", 9), "ab…cd");
        assert_eq!(middle_truncate("ab\u{1b}\u{1b}cdef", 13), "ab\\x1b…cdef");
        assert_eq!(middle_truncate("a\nb\r\u{7}", 5), "a…");
        for c in (0..=0x10ffu32).filter_map(char::from_u32) {
            let shown = printable::escaped(&c.to_string()).chars().count();
            assert_eq!(unit_width(c), shown, "{c:?}");
        }
    }

    /// `-f text` of `profile` at `threshold`, 100 columns, no colour.
    fn text_of(profile: &crate::model::Profile, threshold: f64) -> String {
        text_cut(profile, threshold, 0)
    }

    /// [`text_of`], drawn no deeper than `max_depth` (0: no limit).
    fn text_cut(profile: &crate::model::Profile, threshold: f64, max_depth: usize) -> String {
        let options = super::super::RenderOptions {
            tree: crate::tree::TreeOptions {
                threshold,
                max_depth,
                ..Default::default()
            },
            columns: 100,
            color: false,
            ..Default::default()
        };
        let job = Job::new(profile, &options);
        let mut out = Vec::new();
        render(&job, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The line of `main` in the text of [`test_profiles::a_big_and_a_tiny_child`].
    ///
    /// [`test_profiles::a_big_and_a_tiny_child`]: crate::tree::test_profiles::a_big_and_a_tiny_child
    fn main_line(text: &str) -> &str {
        text.lines()
            .find(|l| l.ends_with("main (app.py:1)"))
            .unwrap()
    }

    #[test]
    fn self_is_own_time_and_cut_children_show_on_their_own_line() {
        let profile = crate::tree::test_profiles::a_big_and_a_tiny_child();
        let text = text_of(&profile, 0.01);
        let main = main_line(&text);
        let columns: Vec<&str> = main.split_whitespace().collect();
        assert_eq!(&columns[1..3], ["10.000s", "1.500s"], "{text}");
        assert!(text.contains("└─ … 1 more frame, 62.50ms\n"), "{text}");
        // Without the threshold, tiny is drawn and main's self is the same.
        let text = text_of(&profile, 0.0);
        let main = main_line(&text);
        assert!(
            main.contains(" 1.500s ") && !text.contains("more frame"),
            "{text}"
        );
    }

    /// `--max-depth` cuts children as the threshold does: the cut frame's self column
    /// is its own time, and what was cut is on its own line.
    #[test]
    fn with_max_depth_self_is_still_own_time() {
        let profile = crate::tree::test_profiles::a_big_and_a_tiny_child();
        let text = text_cut(&profile, 0.0, 1);
        let main = main_line(&text);
        let columns: Vec<&str> = main.split_whitespace().collect();
        assert_eq!(&columns[1..3], ["10.000s", "1.500s"], "{text}");
        assert!(text.contains("└─ … 2 more frames, 8.500s\n"), "{text}");
    }

    /// Sampling profilers write -1 calls: the file does not know, and neither do we.
    #[test]
    fn calls_the_file_does_not_count_are_unknown_not_zero() {
        use crate::model::{EdgeStats, FuncKey, ProfileBuilder, Stats};
        let s = |tt: f64, ct: f64| Stats {
            cc: -1,
            nc: -1,
            tt,
            ct,
        };
        let mut b = ProfileBuilder::new();
        let (main, work) = (
            FuncKey::new("app.py", 1, "main"),
            FuncKey::new("app.py", 5, "work"),
        );
        b.add_function(main.clone(), s(1.0, 3.0));
        b.add_function(work.clone(), s(2.0, 2.0));
        b.add_edge(main, work, EdgeStats::Timed(s(2.0, 2.0)));
        let text = text_of(&b.finish(), 0.0);
        for name in ["main (app.py:1)", "work (app.py:5)"] {
            let line = text.lines().find(|l| l.ends_with(name)).unwrap();
            let columns: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(columns[3], "?", "{text}");
        }
    }

    /// Fits `label` of `key` (module or path between `name (` and `:line)`) to `room`.
    fn fitted(label: &str, key: &crate::model::FuncKey, room: usize) -> String {
        let mut v = Vec::new();
        let mut out = Output::new(&mut v);
        write_label_fitted(
            &mut out,
            label,
            shown_width(label),
            label_parts(label, key),
            room,
        );
        let _ = out.finish();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn a_cut_label_keeps_the_function_and_line_and_loses_the_directories_first() {
        let file = "/tmp/pytest-of-someone/pytest-1234/test_cmdline0/tests/test_cmdline.py";
        let key = crate::model::FuncKey::new(file, 42, "test_cmdline_main");
        let label = format!("test_cmdline_main ({file}:42)");
        assert_eq!(fitted(&label, &key, 200), label);
        assert_eq!(
            fitted(&label, &key, 48),
            "test_cmdline_main (…e0/tests/test_cmdline.py:42)"
        );
        assert_eq!(fitted(&label, &key, 30), "test_cmdline_main (…ine.py:42)");
        assert_eq!(fitted(&label, &key, 24), "test_cmdline_main (…:42)");
        // Only then does the name give way, in its middle.
        assert_eq!(fitted(&label, &key, 16), "test…main (…:42)");
        let key = crate::model::FuncKey::new("~", 0, "<built-in method builtins.exec>");
        assert_eq!(
            fitted("{built-in method builtins.exec}", &key, 11),
            "{buil…exec}"
        );
    }

    #[test]
    fn marks_follow_the_certainty() {
        assert_eq!(mark(Certainty::Exact), "");
        assert_eq!(mark(Certainty::Close), "~");
        assert_eq!(mark(Certainty::Guess), "?");
    }

    #[test]
    fn times_have_units() {
        assert_eq!(time(1.5), "1.500s");
        assert_eq!(time(0.0123), "12.30ms");
        assert_eq!(time(0.0000456), "45.6µs");
        assert_eq!(time(0.0), "0");
        assert_eq!(time(f64::NAN), "NaN");
        assert_eq!(time(999_999_999.0), "999999999.000s");
        assert_eq!(time(1.5625e305), "1.562e305s");
    }
}
