//! The outputs of `flameprof diff`: a [`ProfileDiff`] as `text` (the functions and
//! stacks whose time changed most), `log` (differential folded stacks, `stack before
//! after`, which flamegraph.pl and inferno draw as a differential flame graph), `json`
//! (both sides' numbers per function and per frame) or `svg` (the differential flame
//! graph and inverted graph, drawn by the normal SVG writer from
//! [`ProfileDiff::drawn_tree`] and [`DiffGraph::drawn_tree`](crate::tree::diff::DiffGraph::drawn_tree), each frame coloured by
//! its change). Not registered formats: a
//! diff is not a profile, and the registry's formats render one profile. Specified in
//! `formats/diff/README.md`.

use std::cmp::Ordering;
use std::io::{self, Write};

use super::json;
use super::log::write_frame;
use super::output::Output;
use super::svg::{DiffCell, DiffPaint, render_diff};
use super::text::{shown_width, write_middle_truncated, write_time};
use super::{FormatOptions, Graphs, Job, RenderOptions, labels_by_module, refused};
use crate::model::{Count, FuncId, Measure, ProfileBuilder, Stats};
use crate::tree::diff::{DiffFrame, FunctionDiff, ProfileDiff};

/// The formats a diff is written in.
pub const FORMATS: &[&str] = &["text", "log", "json", "svg"];

/// What shapes a diff's output.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    pub title: String,
    /// Compare each side's share of its own total instead of its seconds.
    pub normalize: bool,
    /// Rows per table of `text`.
    pub top: usize,
    pub columns: usize,
    pub color: bool,
    /// `log-mult` and `labels`, as the formats of one profile read them.
    pub format: FormatOptions,
    /// Both sides' totals (set by [`render`]).
    pub totals: (f64, f64),
    /// What shapes the picture of `svg` (size, fonts, `--subtitle`, the script).
    pub render: RenderOptions,
}

/// Writes `diff` in `format`, one of [`FORMATS`].
pub fn render(
    diff: &ProfileDiff,
    format: &str,
    options: &DiffOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let options = &DiffOptions {
        totals: (diff.before_total, diff.after_total),
        ..options.clone()
    };
    match format {
        "text" => text(diff, options, out),
        "log" => log(diff, options, out),
        "json" => json_doc(diff, options, out),
        "svg" => svg_doc(diff, options, out),
        other => Err(refused(format!("diff has no format '{other}'"))),
    }
}

/// A time as the text outputs write it (`1.234s`, `12.30ms`), with a `+` when
/// `signed` and positive.
pub fn time_text(t: f64, signed: bool) -> String {
    let mut v = Vec::new();
    let mut o = Output::new(&mut v);
    if signed {
        write_signed_time(&mut o, t);
    } else {
        write_time(&mut o, t);
    }
    let _ = o.finish();
    String::from_utf8(v).unwrap_or_default()
}

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const GREW: &str = "\x1b[1;31m";
const SHRANK: &str = "\x1b[32m";

/// One row of a text table: the numbers of each side, and the label.
struct Row<'d> {
    before: f64,
    after: f64,
    calls: Option<(Option<Count>, Option<Count>)>,
    estimated: bool,
    label: std::borrow::Cow<'d, str>,
}

/// The values a diff compares: seconds, or with `normalize` shares of each side's
/// total (0 when a total is 0).
struct Scale {
    before: f64,
    after: f64,
    normalize: bool,
}

impl Scale {
    fn new(diff: &ProfileDiff, normalize: bool) -> Scale {
        let inv = |t: f64| if normalize && t > 0.0 { 1.0 / t } else { 1.0 };
        Scale {
            before: inv(diff.before_total),
            after: inv(diff.after_total),
            normalize,
        }
    }
}

fn text(diff: &ProfileDiff, options: &DiffOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut o = Output::new(out);
    let color = |o: &mut Output<'_>, c: &str| {
        if options.color {
            o.str(c);
        }
    };
    let counts = diff.measure == Measure::Samples { seconds: false };
    o.str(&crate::printable::escaped(&options.title));
    o.byte(b'\n');
    o.str("total: ");
    write_time(&mut o, diff.before_total);
    o.str(" → ");
    write_time(&mut o, diff.after_total);
    o.str("  ");
    let change = diff.after_total - diff.before_total;
    color(&mut o, sign_color(change));
    write_signed_time(&mut o, change);
    if diff.before_total > 0.0 {
        o.str(" (");
        write_signed(&mut o, 100.0 * change / diff.before_total, 1);
        o.str("%)");
    }
    color(&mut o, RESET);
    if counts {
        o.str("  [samples]");
    }
    o.byte(b'\n');
    if options.normalize {
        o.str("values are shares of each side's total; changes in percentage points\n");
    }
    let scale = Scale::new(diff, options.normalize);
    let calls = |s: &Option<Stats>| s.map(|s| s.nc);
    let stat_rows = |pick: fn(&Stats) -> f64| {
        (diff.functions.iter())
            .map(|f: &FunctionDiff| Row {
                before: f.before.as_ref().map_or(0.0, pick),
                after: f.after.as_ref().map_or(0.0, pick),
                calls: Some((calls(&f.before), calls(&f.after))),
                estimated: false,
                label: f.label.as_str().into(),
            })
            .collect::<Vec<_>>()
    };
    let tables: [(&str, Vec<Row<'_>>); 3] = [
        ("own time (tottime)", stat_rows(|s| s.tt)),
        ("cumulative time (cumtime)", stat_rows(|s| s.ct)),
        ("self time per stack (caller ← function)", stack_rows(diff)),
    ];
    for (title, rows) in tables {
        o.byte(b'\n');
        table(&mut o, title, rows, &scale, options)?;
    }
    o.finish()
}

/// The frames of the flame tree as rows: self time, named `caller ← function`.
fn stack_rows(diff: &ProfileDiff) -> Vec<Row<'_>> {
    let name = |f: &DiffFrame| {
        f.func
            .map_or("", |k| diff.functions[k as usize].label.as_str())
    };
    (diff.frames.iter().skip(1))
        .map(|f| {
            let parent = &diff.frames[f.parent as usize];
            let label = if parent.func.is_some() {
                format!("{} ← {}", name(parent), name(f)).into()
            } else {
                name(f).into()
            };
            Row {
                before: f.before.self_time,
                after: f.after.self_time,
                calls: None,
                estimated: f.estimated(),
                label,
            }
        })
        .collect()
}

/// The rows that changed (in value, or in calls), largest change first, at most
/// `options.top` of them.
fn table(
    o: &mut Output<'_>,
    title: &str,
    mut rows: Vec<Row<'_>>,
    scale: &Scale,
    options: &DiffOptions,
) -> io::Result<()> {
    for r in &mut rows {
        r.before *= scale.before;
        r.after *= scale.after;
    }
    // Changes below a billionth of the larger total are the rounding of the sums that
    // made the numbers, not a change.
    let noise = 1e-9 * (scale.before * options.totals.0).max(scale.after * options.totals.1);
    rows.retain(|r| (r.after - r.before).abs() > noise || r.calls.is_some_and(|(b, a)| b != a));
    let change = |r: &Row<'_>| (r.after - r.before).abs();
    rows.sort_by(|a, b| {
        change(b)
            .partial_cmp(&change(a))
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.label.cmp(&b.label))
    });
    let shown = rows.len().min(options.top);
    o.str(title);
    if rows.len() > shown {
        let _ = write!(o, ", the {shown} largest changes of {}", rows.len());
    }
    o.str(":\n");
    if rows.is_empty() {
        o.str("  no change\n");
        return Ok(());
    }
    let paint = |o: &mut Output<'_>, c: &str| {
        if options.color {
            o.str(c);
        }
    };
    let has_calls = rows.iter().any(|r| r.calls.is_some());
    o.str("     before      after      change     ");
    if has_calls {
        o.str("       calls  ");
    }
    o.str("function\n");
    for r in rows.iter().take(shown) {
        let start = o.position();
        let mark = if r.estimated { "~" } else { "" };
        o.str(mark);
        value(o, r.before, scale.normalize);
        o.pad_since(start, 11);
        let start = o.position();
        value(o, r.after, scale.normalize);
        o.pad_since(start, 11);
        let d = r.after - r.before;
        paint(o, sign_color(d));
        let start = o.position();
        if scale.normalize {
            write_signed(o, 100.0 * d, 2);
            o.str("pp");
        } else {
            write_signed_time(o, d);
        }
        o.pad_since(start, 12);
        let start = o.position();
        o.str(" ");
        if r.before > 0.0 && !scale.normalize {
            o.str("(");
            write_signed(o, 100.0 * d / r.before, 0);
            o.str("%)");
        } else if r.before == 0.0 {
            o.str("(new)");
        }
        o.pad_since(start, 9);
        paint(o, RESET);
        if let Some((b, a)) = r.calls {
            paint(o, DIM);
            let start = o.position();
            count(o, b);
            o.str(" → ");
            count(o, a);
            o.pad_since(start, 14);
            paint(o, RESET);
        }
        o.str("  ");
        let used = 11 + 11 + 12 + 9 + if has_calls { 16 } else { 2 };
        let room = options.columns.saturating_sub(used).max(20);
        write_middle_truncated(o, &r.label, shown_width(&r.label), room);
        o.byte(b'\n');
        o.end_record()?;
    }
    Ok(())
}

fn sign_color(d: f64) -> &'static str {
    if d > 0.0 {
        GREW
    } else if d < 0.0 {
        SHRANK
    } else {
        ""
    }
}

fn value(o: &mut Output<'_>, x: f64, share: bool) {
    if share {
        o.fixed(100.0 * x, 2);
        o.byte(b'%');
    } else {
        write_time(o, x);
    }
}

fn write_signed_time(o: &mut Output<'_>, d: f64) {
    if d > 0.0 {
        o.byte(b'+');
    }
    write_time(o, d);
}

fn write_signed(o: &mut Output<'_>, x: f64, prec: u32) {
    if x > 0.0 {
        o.byte(b'+');
    }
    o.fixed(x, prec);
}

/// A call count: `-` where the function is absent, `?` where the file does not count.
fn count(o: &mut Output<'_>, n: Option<Count>) {
    match n {
        None => o.byte(b'-'),
        Some(n) if n < 0 => o.byte(b'?'),
        Some(n) => o.i128(n),
    }
}

/// Differential folded stacks: each frame with self time on either side, `stack
/// before after`, the self times × `--log-mult` rounded (the rounding error carried
/// to the next line, per side, so that each column adds up to its total). With
/// `normalize`, NEW's values are scaled to BASE's total.
fn log(diff: &ProfileDiff, options: &DiffOptions, out: &mut dyn Write) -> io::Result<()> {
    let mult = match options.format.get("log-mult") {
        Some(v) => match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => x,
            _ => return Err(refused(format!("invalid --log-mult '{v}'"))),
        },
        None => 1e6,
    };
    let by_module =
        labels_by_module(options.format.get("labels").unwrap_or("file")).map_err(refused)?;
    let after_mult = if options.normalize && diff.after_total > 0.0 {
        mult * diff.before_total / diff.after_total
    } else {
        mult
    };
    let mut o = Output::new(out);
    // The stack of each frame is its parent's stack and its label: kept as the end
    // offset of each depth in one growing string.
    let mut path = String::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut carry = [0.0f64; 2];
    for f in diff.frames.iter().skip(1) {
        let depth = f.depth as usize;
        ends.truncate(depth - 1);
        path.truncate(ends.last().copied().unwrap_or(0));
        if depth > 1 {
            path.push(';');
        }
        let func = &diff.functions[f.func.unwrap_or(0) as usize];
        if by_module {
            let start = path.len();
            crate::printable::push_escaped(&mut path, &func.label);
            let fixed = path[start..].replace(';', ",");
            path.truncate(start);
            path.push_str(&fixed);
        } else {
            write_frame(&mut path, &func.key);
        }
        ends.push(path.len());
        let mut values = [0u64; 2];
        for (side, (t, m)) in [(f.before.self_time, mult), (f.after.self_time, after_mult)]
            .into_iter()
            .enumerate()
        {
            let exact = t * m + carry[side];
            let v = exact.round().max(0.0);
            carry[side] = exact - v;
            values[side] = if v >= u64::MAX as f64 {
                u64::MAX
            } else {
                v as u64
            };
        }
        if values == [0, 0] {
            continue;
        }
        o.str(&path);
        o.byte(b' ');
        o.u64(values[0]);
        o.byte(b' ');
        o.u64(values[1]);
        o.byte(b'\n');
        o.end_record()?;
    }
    o.finish()
}

fn json_doc(diff: &ProfileDiff, options: &DiffOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut o = Output::new(out);
    o.str("{\n  \"schema_version\": 1,\n  \"title\": ");
    json::string(&mut o, &options.title);
    let (counts, times) = match diff.measure {
        Measure::Calls => ("calls", "seconds"),
        Measure::Samples { seconds: true } => ("samples", "seconds"),
        Measure::Samples { seconds: false } => ("samples", "samples"),
    };
    let _ = write!(
        o,
        ",\n  \"units\": {{\"counts\": \"{counts}\", \"times\": \"{times}\"}},\n  \"totals\": {{\"before\": "
    );
    json::num(&mut o, diff.before_total);
    o.str(", \"after\": ");
    json::num(&mut o, diff.after_total);
    o.str(", \"change\": ");
    json::num(&mut o, diff.after_total - diff.before_total);
    o.str("},\n  \"functions\": [");
    for (i, f) in diff.functions.iter().enumerate() {
        o.str(if i == 0 { "\n    " } else { ",\n    " });
        o.str("{\"display\": ");
        json::string(&mut o, &f.key.display());
        o.str(", \"label\": ");
        json::string(&mut o, &f.label);
        o.str(", \"file\": ");
        json::string(&mut o, f.key.file.as_str());
        let _ = write!(o, ", \"line\": {}, \"name\": ", f.key.line);
        json::string(&mut o, f.key.name.as_str());
        for (name, side) in [("before", &f.before), ("after", &f.after)] {
            let _ = write!(o, ", \"{name}\": ");
            match side {
                None => o.str("null"),
                Some(s) => {
                    o.str("{\"cc\": ");
                    json_count(&mut o, s.cc);
                    o.str(", \"nc\": ");
                    json_count(&mut o, s.nc);
                    o.str(", \"tt\": ");
                    json::num(&mut o, s.tt);
                    o.str(", \"ct\": ");
                    json::num(&mut o, s.ct);
                    o.byte(b'}');
                }
            }
        }
        o.byte(b'}');
        o.end_record()?;
    }
    o.str("\n  ],\n  \"frames\": [");
    for (i, f) in diff.frames.iter().enumerate() {
        o.str(if i == 0 { "\n    " } else { ",\n    " });
        let _ = write!(o, "{{\"id\": {i}, \"parent\": ");
        if i == 0 {
            o.str("null");
        } else {
            let _ = write!(o, "{}", f.parent);
        }
        o.str(", \"function\": ");
        match f.func {
            Some(k) => {
                let _ = write!(o, "{k}");
            }
            None => o.str("null"),
        }
        let _ = write!(o, ", \"depth\": {}", f.depth);
        for (name, side) in [("before", &f.before), ("after", &f.after)] {
            let _ = write!(o, ", \"{name}\": ");
            if !side.present && i != 0 {
                o.str("null");
                continue;
            }
            o.str("{\"total\": ");
            json::num(&mut o, side.total);
            o.str(", \"self\": ");
            json::num(&mut o, side.self_time);
            o.str(", \"calls\": ");
            json::num(&mut o, side.calls);
            let _ = write!(o, ", \"exact\": {}}}", side.exact);
        }
        let _ = write!(o, ", \"estimated\": {}}}", f.estimated());
        o.end_record()?;
    }
    o.str("\n  ]\n}\n");
    o.finish()
}

/// A count as JSON: null when the file does not keep it (negative).
fn json_count(o: &mut Output<'_>, n: Count) {
    if n < 0 {
        o.str("null");
    } else {
        o.i128(n);
    }
}

/// The steps of relative change at which a frame's colour deepens (`r1`..`r5` for
/// slower, `b1`..`b5` for faster); below the first it is unchanged (`z`).
pub const STEPS: [f64; 5] = [0.01, 0.04, 0.10, 0.25, 0.50];

/// The classes that colour a frame of the differential flame graph by the change of
/// its total, `before` → `after` (seconds, or shares with `--normalize`): new code is
/// `r5 new`, vanished code `b5 gone`.
fn change_class(before: f64, after: f64, present: (bool, bool)) -> &'static str {
    const SLOWER: [&str; 5] = [" r1", " r2", " r3", " r4", " r5"];
    const FASTER: [&str; 5] = [" b1", " b2", " b3", " b4", " b5"];
    match present {
        (false, true) if after > 0.0 => return " r5 new",
        (true, false) if before > 0.0 => return " b5 gone",
        _ => {}
    }
    if before <= 0.0 {
        return if after > 0.0 { SLOWER[4] } else { " z" };
    }
    let rel = (after - before) / before;
    match STEPS.iter().rposition(|&s| rel.abs() >= s) {
        None => " z",
        Some(k) if rel > 0.0 => SLOWER[k],
        Some(k) => FASTER[k],
    }
}

/// The differential flame graph and, under it, the differential inverted graph: the
/// union of both sides' flame trees, and of their inverted trees, each drawn as the
/// normal SVG draws one, each frame as wide as its larger side, coloured by its
/// change, the tooltip giving both sides (see [`DiffPaint`]). `--flame-only` and
/// `--inverted-only` choose as for one profile; without the inverted union in `diff`
/// only the flame graph is drawn.
fn svg_doc(diff: &ProfileDiff, options: &DiffOptions, out: &mut dyn Write) -> io::Result<()> {
    // The functions as one profile, for the labels, search and kinds the picture
    // reads: NEW's numbers where it lists the function, else BASE's.
    let mut builder = ProfileBuilder::new();
    for f in &diff.functions {
        builder.add_function(f.key.clone(), f.after.or(f.before).unwrap_or_default());
    }
    let profile = builder.finish().with_measure(diff.measure);
    let ids: Vec<FuncId> = (diff.functions.iter())
        .map(|f| profile.find(&f.key).unwrap_or(0))
        .collect();
    let graphs = match (&diff.inverted, options.render.graphs) {
        (None, _) => Graphs::FlameOnly,
        (Some(_), g) => g,
    };
    let flame_drawn = graphs != Graphs::InvertedOnly;
    let tree = diff.drawn_tree(|k| ids[k as usize]);
    let inverted = (diff.inverted.as_ref()).filter(|_| graphs != Graphs::FlameOnly);
    let inverted_tree = inverted.map(|g| g.drawn_tree(|k| ids[k as usize]));
    let scale = |b: f64, a: f64| match (options.normalize, b, a) {
        (true, b, a) if b > 0.0 && a > 0.0 => (1.0 / b, 1.0 / a),
        _ => (1.0, 1.0),
    };
    let side =
        |s: &crate::tree::diff::FrameSide| s.present.then_some([s.total, s.self_time, s.calls]);
    // Each graph's colours compare shares of its own totals with --normalize.
    let cells = |frames: &[DiffFrame], (scale_b, scale_a): (f64, f64)| -> Vec<DiffCell> {
        (frames.iter())
            .map(|f| DiffCell {
                class: change_class(
                    f.before.total * scale_b,
                    f.after.total * scale_a,
                    (f.before.present, f.after.present),
                ),
                before: side(&f.before),
                after: side(&f.after),
            })
            .collect()
    };
    let paint = DiffPaint {
        before_total: diff.before_total,
        after_total: diff.after_total,
        normalize: options.normalize,
        flame: if flame_drawn {
            cells(&diff.frames, scale(diff.before_total, diff.after_total))
        } else {
            Vec::new()
        },
        inverted: inverted.map_or_else(Vec::new, |g| {
            cells(&g.frames, scale(g.before_total, g.after_total))
        }),
    };
    let render = RenderOptions {
        title: options.title.clone(),
        graphs,
        ..options.render.clone()
    };
    let job = Job::with_trees(&profile, &render, tree, inverted_tree);
    render_diff(&job, &paint, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_deepen_with_the_relative_change() {
        let both = (true, true);
        assert_eq!(change_class(1.0, 1.005, both), " z");
        assert_eq!(change_class(1.0, 1.02, both), " r1");
        assert_eq!(change_class(1.0, 0.95, both), " b2");
        assert_eq!(change_class(1.0, 1.2, both), " r3");
        assert_eq!(change_class(1.0, 0.7, both), " b4");
        assert_eq!(change_class(1.0, 3.0, both), " r5");
        assert_eq!(change_class(0.0, 0.3, (false, true)), " r5 new");
        assert_eq!(change_class(0.5, 0.0, (true, false)), " b5 gone");
        assert_eq!(change_class(0.0, 0.0, both), " z");
    }
}
