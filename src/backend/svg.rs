//! `-f svg`: the native picture, an interactive, self-contained SVG holding flameprof
//! 0.4's two graphs: the flame graph and below it the inverted graph (each function at
//! the width of its self time, callers beneath). Both hang from their roots at the top
//! (the flame graph as an icicle, callees below their callers), so the roots and the
//! widest frames are on the first screen at any depth, with or without the script.
//!
//! Each graph is a nested `<svg>` whose viewBox spans the whole profile in integer
//! ticks; a frame is one `<rect>` whose `x`/`width` are exact tick offsets, so zooming
//! is a viewBox change and Matched % is exact. Labels live outside the scaled views,
//! pre-fitted here for the written width and re-fitted by the script (`svg.js`, styled
//! by `svg.css`, both embedded at build time) only on zoom or resize. Per-frame numbers
//! the tooltip needs go into one compact data table at the end. Specified in
//! `formats/svg/README.md`.
//!
//! `flameprof diff -f svg` is drawn by the same writer and script from trees made of
//! both profiles ([`render_diff`]): a [`DiffPaint`] adds a class per frame that colours
//! it by its change (`svg-diff.css`) and both sides' numbers to the data table, which
//! the script shows in the tooltip; zoom, search, URL state and keyboard are the
//! normal picture's. Specified in `formats/diff/README.md`.

use std::io::{self, Write};

use super::output::{Output, round_u64};
use super::{Backend, Graphs, Job, StringTable, Trees};
use crate::model::{FuncId, FuncKey, Measure};
use crate::tree::{CallTree, Certainty, Frame, ROOT};

inventory::submit! {
    Backend {
        name: "svg",
        about: "interactive flame graph and inverted self-time graph in one SVG (the default)",
        extension: "svg",
        render,
        trees: |o| Trees::drawn(o.graphs),
        options: &[],
    }
}

const SCRIPT: &str = include_str!("svg.js");
const STYLE: &str = include_str!("svg.css");
const DIFF_STYLE: &str = include_str!("svg-diff.css");

/// What makes the picture a differential one: per frame of the job's flame
/// tree and of its inverted tree (by index), the classes that colour it and both
/// sides' numbers.
pub(super) struct DiffPaint {
    pub before_total: f64,
    pub after_total: f64,
    /// Whether the colours compare shares of each side's total (`--normalize`).
    pub normalize: bool,
    /// Per frame of the flame tree (empty when the flame graph is not drawn).
    pub flame: Vec<DiffCell>,
    /// Per frame of the inverted tree (empty when the inverted graph is not drawn).
    pub inverted: Vec<DiffCell>,
}

impl DiffPaint {
    /// The cells of the view named `id` (`flame` or `inverted`).
    fn cells(&self, id: &str) -> &[DiffCell] {
        if id == "inverted" {
            &self.inverted
        } else {
            &self.flame
        }
    }
}

/// One frame of a differential graph.
pub(super) struct DiffCell {
    /// Classes written after the frame's own (` r3`, ` b5 gone`, ` z`): see
    /// `svg-diff.css`.
    pub class: &'static str,
    /// Total, self time and calls of each side; `None` where the stack is absent.
    pub before: Option<[f64; 3]>,
    pub after: Option<[f64; 3]>,
}

/// Ticks across the whole width of a graph: offsets and widths are integers in these.
const TICKS: f64 = 1_000_000.0;
/// Width assumed for label fitting when the picture is fluid.
const FLUID_WIDTH: f64 = 1200.0;
/// Left margin and graph width, as percentages of the picture's width.
const LEFT_PCT: f64 = 0.8;
const SPAN_PCT: f64 = 98.4;
const HEADER: f64 = 58.0;
const CAPTION: f64 = 22.0;
const GAP: f64 = 16.0;
const FOOTER: f64 = 48.0;
/// Frames narrower than this many pixels at the written width are not drawn.
const MIN_PIXELS: f64 = 0.1;
/// Width of one character of the monospace label font, as a share of the font size.
const CHAR_WIDTH: f64 = 0.6;
/// Horizontal padding of a label inside its frame, in pixels (each side).
const LABEL_PAD: f64 = 3.0;

/// The picture's measurements, in pixels.
struct Geometry {
    /// Width labels are fitted for.
    width: f64,
    row: f64,
    font: f64,
}

impl Geometry {
    fn graph_px(&self) -> f64 {
        self.width * SPAN_PCT / 100.0
    }

    /// How many label characters fit in a frame `px` pixels wide.
    fn chars(&self, px: f64) -> usize {
        let n = ((px - 2.0 * LABEL_PAD) / (self.font * CHAR_WIDTH)).floor();
        if n >= 3.0 { n as usize } else { 0 }
    }
}

/// A frame as drawn: integer tick offset and width.
#[derive(Clone, Copy)]
struct Drawn {
    x: u64,
    w: u64,
}

/// One graph of the picture.
struct View<'t> {
    id: &'static str,
    caption: &'static str,
    tree: &'t CallTree,
    /// Rows of frames.
    rows: u32,
    top: f64,
    /// The frames drawn, in pre-order, with their positions.
    drawn: Vec<(u32, Drawn)>,
}

impl<'t> View<'t> {
    /// A view placed at `*top` (under its caption); moves `*top` below it.
    fn new(
        id: &'static str,
        caption: &'static str,
        tree: &'t CallTree,
        top: &mut f64,
        g: &Geometry,
    ) -> View<'t> {
        let mut v = View {
            id,
            caption,
            tree,
            rows: tree.max_depth().max(1),
            top: *top + CAPTION,
            drawn: Vec::new(),
        };
        v.drawn = (tree.frames().iter().enumerate())
            .filter_map(|(i, f)| Some((i as u32, v.position(i, f, g)?)))
            .collect();
        *top = v.top + v.height(g) + GAP;
        v
    }

    fn height(&self, g: &Geometry) -> f64 {
        f64::from(self.rows) * g.row
    }

    /// The frame's position, or `None` when it is not drawn.
    fn position(&self, i: usize, f: &Frame, g: &Geometry) -> Option<Drawn> {
        let total = self.tree.total();
        if i as u32 == ROOT || f.func.is_none() || total <= 0.0 {
            return None;
        }
        if f.total / total * g.graph_px() < MIN_PIXELS {
            return None;
        }
        let x = ticks(f.start, total);
        let w = ticks(f.start + f.total, total).saturating_sub(x);
        (w > 0).then_some(Drawn { x, w })
    }

    /// Top of the frame's row inside the view: depth 1 is the top row. A flame graph
    /// drawn upwards puts its root as far down the page as the profile is deep, below
    /// the first screen of a deep one (pygments: 50 levels, root 1,256 px down).
    fn y(&self, f: &Frame, g: &Geometry) -> f64 {
        f64::from(f.depth.saturating_sub(1)) * g.row
    }
}

fn ticks(t: f64, total: f64) -> u64 {
    round_u64((t / total * TICKS).clamp(0.0, TICKS))
}

/// Where a function's code lives; each kind has its own hue range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The profiled program's own code: warm hues.
    Own,
    /// The Python standard library, frozen modules and the profilers' own frames: blues.
    Stdlib,
    /// Installed packages (`site-packages`, `dist-packages`): greens.
    ThirdParty,
    /// Builtins and C functions (`~` or empty file): purples.
    Builtin,
}

impl Kind {
    fn of(key: &FuncKey) -> Kind {
        let file = key.file.as_str();
        // The sampling profiler's own frames ({GC}, {native}, <task>) are internals,
        // coloured as cProfile's wrapper frames are, not as the program's code.
        if key.is_sampler_frame() {
            return Kind::Stdlib;
        }
        if file == "~" || file.is_empty() {
            return Kind::Builtin;
        }
        if is_wrapper(key) {
            return Kind::Stdlib;
        }
        let unix = file.replace('\\', "/");
        let lower = unix.to_ascii_lowercase();
        if lower.contains("/site-packages/") || lower.contains("/dist-packages/") {
            Kind::ThirdParty
        } else if file.starts_with("<frozen ")
            || lower.contains("/lib/python2.")
            || lower.contains("/lib/python3.")
            || lower.contains("/lib/pypy")
            || lower.contains("/python3") && lower.contains("/lib/")
        {
            Kind::Stdlib
        } else {
            Kind::Own
        }
    }

    /// A hue in this kind's range, picked by `hash`.
    fn hue(self, hash: u32) -> u32 {
        let (base, span) = match self {
            Kind::Own => (0, 50),
            Kind::Stdlib => (195, 40),
            Kind::ThirdParty => (85, 60),
            Kind::Builtin => (265, 40),
        };
        base + hash % span
    }

    fn letter(self) -> char {
        match self {
            Kind::Own => 'o',
            Kind::Stdlib => 's',
            Kind::ThirdParty => 't',
            Kind::Builtin => 'b',
        }
    }
}

/// A frame of the machinery that runs the program rather than of the program: the
/// `<string>` code `python -m cProfile -m` and `flameprof run` execute, and the
/// profilers' own modules wherever Python is installed. Drawn as the standard library,
/// so that "your code" starts where the program does.
fn is_wrapper(key: &FuncKey) -> bool {
    let file = key.file.as_str();
    let name = key.name.as_str();
    match file.rsplit(['/', '\\']).next().unwrap_or(file) {
        "<string>" => name == "<module>" || name.starts_with("_flameprof_"),
        "cProfile.py" => true,
        // A program may have a profile.py of its own: only the profiler's entry points.
        "profile.py" => matches!(name, "run" | "runctx" | "runcall" | "main"),
        _ => false,
    }
}

/// FNV-1a of the function's name and file (not its line, so a function keeps its
/// colour when code above it moves).
fn name_hash(key: &FuncKey) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key
        .name
        .as_str()
        .bytes()
        .chain([0])
        .chain(key.file.as_str().bytes())
    {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h ^ (h >> 16)
}

/// The functions drawn, numbered in order of first appearance, with what the picture
/// shows of each, computed once per function (frames only look them up).
struct Functions {
    ids: Vec<FuncId>,
    /// Per function of the profile, its number, or `NOT_DRAWN`.
    index: Vec<u32>,
    kinds: Vec<Kind>,
    /// Per number: the label in the box (`short_label`), as written and XML-escaped.
    short: StringTable,
    short_escaped: StringTable,
    /// Per number: characters in the unescaped label.
    short_chars: Vec<usize>,
}

const NOT_DRAWN: u32 = u32::MAX;

impl Functions {
    fn collect(job: &Job<'_>, views: &[View<'_>]) -> Functions {
        let mut ids = Vec::new();
        let mut index = vec![NOT_DRAWN; job.profile.functions().len()];
        for v in views {
            for &(i, _) in &v.drawn {
                if let Some(func) = v.tree.frame(i).func
                    && index[func as usize] == NOT_DRAWN
                {
                    index[func as usize] = ids.len() as u32;
                    ids.push(func);
                }
            }
        }
        let key = |n: usize| &job.profile.function(ids[n]).key;
        let kinds = (0..ids.len()).map(|n| Kind::of(key(n))).collect();
        let short = StringTable::build(ids.len(), |n, buf| short_label(buf, job, ids[n]));
        let short_chars = (0..ids.len())
            .map(|n| short.get(n).chars().count())
            .collect();
        let short_escaped = StringTable::build(ids.len(), |n, buf| {
            escape_pieces(short.get(n), |piece| buf.push_str(piece));
        });
        Functions {
            ids,
            index,
            kinds,
            short,
            short_escaped,
            short_chars,
        }
    }

    fn number(&self, func: FuncId) -> usize {
        self.index[func as usize] as usize
    }
}

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = Output::new(out);
    render_into(job, None, &mut out)?;
    out.finish()
}

/// The differential flame graph and inverted graph: `job`'s trees (as
/// `job.options.graphs` asks) painted by `paint`.
pub(super) fn render_diff(job: &Job<'_>, paint: &DiffPaint, out: &mut dyn Write) -> io::Result<()> {
    let mut out = Output::new(out);
    render_into(job, Some(paint), &mut out)?;
    out.finish()
}

fn render_into(job: &Job<'_>, diff: Option<&DiffPaint>, out: &mut Output<'_>) -> io::Result<()> {
    let o = job.options;
    let g = Geometry {
        width: f64::from(o.width.map_or(FLUID_WIDTH as u32, |w| w.max(100))),
        row: f64::from(o.row_height.max(4)),
        font: f64::from(o.font_size.max(1)),
    };
    let mut views = Vec::new();
    let mut top = HEADER + top_shift(job);
    if o.graphs != Graphs::InvertedOnly {
        let caption = if diff.is_some() {
            "Differential flame graph: callers above, callees below; width is the larger of before and after, colour the change"
        } else {
            "Flame graph: callers above, callees below; width is time spent inside"
        };
        views.push(View::new("flame", caption, job.flame(), &mut top, &g));
    }
    if o.graphs != Graphs::FlameOnly {
        let caption = if diff.is_some() {
            "Differential inverted graph: each function at the larger of its own time before and after, its callers beneath; colour the change"
        } else {
            "Inverted: each function at the width of its own time, its callers beneath"
        };
        views.push(View::new("inverted", caption, job.inverted(), &mut top, &g));
    }
    // The footer is wrapped at words for the fitted width: one line of it ran to
    // 2,000 px with the threshold notes, past the right edge of any window.
    let footer = footer_text(job, diff);
    let chars = ((g.width - 20.0) / (g.font * CHAR_WIDTH)) as usize;
    let foot_lines: Vec<(bool, &str)> = (footer.iter())
        .flat_map(|p| (wrap(p, chars).into_iter().enumerate()).map(|(n, l)| (n > 0, l)))
        .collect();
    let foot_top = top;
    let height = top + FOOTER + foot_line(&g) * (foot_lines.len().max(1) - 1) as f64;
    let functions = Functions::collect(job, &views);

    // The root element: fluid (100% wide) unless --width was given.
    writeln!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#
    )?;
    let width_attr = match o.width {
        Some(_) => format!(r#"width="{w}" viewBox="0 0 {w} {height}""#, w = g.width),
        None => r#"width="100%""#.to_string(),
    };
    writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" {width_attr} height="{height}" font-family="monospace" font-size="{font}" data-fit="{fit}" data-row="{row}">"#,
        font = g.font,
        fit = g.width,
        row = g.row,
    )?;
    out.str("<style>");
    out.str(STYLE.trim_end());
    out.byte(b'\n');
    if diff.is_some() {
        out.str(DIFF_STYLE.trim_end());
        out.byte(b'\n');
    }
    for (n, kind) in functions.kinds.iter().enumerate() {
        let key = &job.profile.function(functions.ids[n]).key;
        out.str(".c");
        out.u64(n as u64);
        out.str("{--h:");
        out.u64(u64::from(kind.hue(name_hash(key))));
        out.str("}\n");
        out.end_record()?;
    }
    writeln!(out, "</style>")?;
    writeln!(out, r#"<rect class="bg" width="100%" height="100%"/>"#)?;
    write!(
        out,
        r#"<text class="title" x="50%" y="22" text-anchor="middle" font-size="{}">"#,
        g.font + 5.0
    )?;
    escape(out, &o.title);
    writeln!(out, "</text>")?;
    if let Some(sub) = subtitle(job) {
        write!(
            out,
            r#"<text class="sub" x="50%" y="40" text-anchor="middle">"#
        )?;
        escape(out, &sub);
        writeln!(out, "</text>")?;
    }
    if o.script {
        writeln!(
            out,
            r#"<text id="reset" class="btn off" x="10" y="22" role="button" tabindex="-1">Reset Zoom</text><text id="search" class="btn" x="99%" dx="-34" y="22" text-anchor="end" role="button" tabindex="0">Search</text><text id="case" class="btn" x="99%" y="22" text-anchor="end" role="button" tabindex="0" aria-pressed="false" aria-label="Match case">Aa</text>"#
        )?;
    }
    writeln!(
        out,
        r#"<text id="details" x="10" y="{}" aria-live="polite"> </text>"#,
        HEADER - 8.0 + top_shift(job)
    )?;

    for v in &views {
        draw_view(out, v, &g, &functions, diff)?;
        if o.script && views.len() > 1 {
            write_jump(out, v, &g)?;
        }
    }

    write_footer(out, &foot_lines, foot_top, foot_line(&g), diff.is_some())?;
    if o.script {
        write_script(job, out, &views, &functions, diff)?;
    }
    writeln!(out, "</svg>")
}

/// The footer's paragraphs: the total and what the threshold cut from each tree, then
/// what the grades of estimate look like. Each fits a line 1,200 px wide.
fn footer_text(job: &Job<'_>, diff: Option<&DiffPaint>) -> Vec<String> {
    let total = job.flame().total();
    let mut first = format!("Total {}.", seconds(total));
    if let Some(d) = diff {
        let change = d.after_total - d.before_total;
        first = format!(
            "Total before {}, after {}: {}{}",
            seconds(d.before_total),
            seconds(d.after_total),
            if change < 0.0 { "-" } else { "+" },
            seconds(change.abs()),
        );
        if d.before_total > 0.0 {
            first.push_str(&format!(" ({:+.1} %)", 100.0 * change / d.before_total));
        }
        first.push('.');
    }
    let mut cut = Vec::new();
    for (name, t) in job.built_trees() {
        if t.cut_frames > 0 {
            cut.push(format!(
                "{name} {} frames ({}, {:.2}%{})",
                t.cut_frames,
                seconds(t.cut_time),
                percent(t.cut_time, total),
                if t.truncated {
                    "; frame limit reached"
                } else {
                    ""
                }
            ));
        }
    }
    if !cut.is_empty() {
        first.push_str(&format!(
            " Under the threshold, not drawn: {}.",
            cut.join(", ")
        ));
    }
    let mut paragraphs = vec![first];
    if let Some(d) = diff {
        paragraphs.push(format!(
            "Each frame is as wide as the larger of its two sides (widened to hold its children). Colour: the change of its total time{}{}, red slower, blue faster, deeper at 1, 4, 10, 25 and 50 %; grey within 1 %. Solid dark outline: new code; faded, dotted outline: vanished code.",
            if d.inverted.is_empty() { "" } else { " (in the inverted graph: its own time in that stack)" },
            if d.normalize { " as a share of its side's total" } else { "" }
        ));
    }
    paragraphs.push(
        "Dashed frames are estimated (time split between callers): in colour when the data pins the width to about ±25 %, pale when a rough guess; solid ones are exact.".to_string(),
    );
    paragraphs
}

/// `text` cut at spaces into lines of at most `chars` characters (a longer word keeps
/// a line of its own).
fn wrap(text: &str, chars: usize) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((limit, _)) = rest.char_indices().nth(chars) else {
            lines.push(rest);
            break;
        };
        let cut = if rest[limit..].starts_with(' ') {
            limit
        } else {
            (rest[..limit].rfind(' '))
                .or_else(|| rest.find(' '))
                .unwrap_or(rest.len())
        };
        lines.push(rest[..cut].trim_end());
        rest = rest[cut..].trim_start();
    }
    lines
}

/// Distance between the baselines of footer lines (the script uses the same).
fn foot_line(g: &Geometry) -> f64 {
    g.font + 3.0
}

/// The footer under the graphs, from `top`: its lines `step` pixels apart (class
/// `more` on those that go on a paragraph), then the colour legend. The script
/// re-wraps the paragraphs for the window and moves the legend under them.
fn write_footer(
    out: &mut Output<'_>,
    lines: &[(bool, &str)],
    top: f64,
    step: f64,
    diff: bool,
) -> io::Result<()> {
    let mut y = top + 18.0;
    writeln!(out, r#"<g id="foot">"#)?;
    for (n, &(more, line)) in lines.iter().enumerate() {
        if n > 0 {
            y += step;
        }
        let class = if more { "foot more" } else { "foot" };
        write!(out, r#"<text class="{class}" x="10" y="{y}">"#)?;
        escape(out, line);
        writeln!(out, "</text>")?;
    }
    writeln!(out, "</g>")?;
    if diff {
        return writeln!(
            out,
            r#"<g class="legend" transform="translate(10,{})"><rect class="r5" width="10" height="10"/><rect class="r2" x="12" width="10" height="10"/><text x="26" y="9">slower</text><rect class="z" x="90" width="10" height="10"/><text x="104" y="9">unchanged</text><rect class="b2" x="190" width="10" height="10"/><rect class="b5" x="202" width="10" height="10"/><text x="216" y="9">faster</text><rect class="r5 new" x="280" width="10" height="10"/><text x="294" y="9">new</text><rect class="b5 gone" x="340" width="10" height="10"/><text x="354" y="9">vanished</text><rect class="z e" x="440" width="10" height="10"/><text x="454" y="9">estimated</text></g>"#,
            y + 10.0
        );
    }
    writeln!(
        out,
        r#"<g class="legend" transform="translate(10,{})"><rect class="ko" width="10" height="10"/><text x="14" y="9">your code</text><rect class="ks" x="110" width="10" height="10"/><text x="124" y="9">standard library</text><rect class="kt" x="270" width="10" height="10"/><text x="284" y="9">third-party</text><rect class="kb" x="400" width="10" height="10"/><text x="414" y="9">builtin / C</text><rect class="ko e" x="530" width="10" height="10"/><text x="544" y="9">close estimate</text><rect class="ko e g" x="670" width="10" height="10"/><text x="684" y="9">rough guess</text></g>"#,
        y + 10.0
    )?;
    Ok(())
}

/// A button after the caption of `v` that scrolls to the other graph: under a deep flame
/// graph the inverted one starts thousands of pixels down.
fn write_jump(out: &mut Output<'_>, v: &View<'_>, g: &Geometry) -> io::Result<()> {
    let (to, text) = if v.id == "flame" {
        ("inverted", "Inverted graph \u{2193}")
    } else {
        ("flame", "\u{2191} Flame graph")
    };
    let x = (10.0 + (v.caption.chars().count() + 3) as f64 * g.font * CHAR_WIDTH).round();
    writeln!(
        out,
        r#"<text id="to-{to}" class="btn" x="{x}" y="{y}" role="button" tabindex="0" data-to="{to}">{text}</text>"#,
        y = v.top - 7.0,
    )
}

fn top_shift(job: &Job<'_>) -> f64 {
    if subtitle(job).is_some() { 18.0 } else { 0.0 }
}

/// The line under the title: `--subtitle`, or for a sampled profile what its numbers
/// count (the widths are samples, and a reader used to cProfile would read calls).
fn subtitle(job: &Job<'_>) -> Option<String> {
    if let Some(sub) = &job.options.subtitle {
        return Some(sub.clone());
    }
    let samples = job.profile.totals().1;
    match job.profile.measure() {
        Measure::Calls => None,
        Measure::Samples { seconds: true } if samples < 0 => Some(
            "times as the sampler measured them (austin: wall or CPU time); samples not counted"
                .to_string(),
        ),
        Measure::Samples { seconds: true } => Some(format!(
            "{samples} samples; times are samples × the sampling interval"
        )),
        Measure::Samples { seconds: false } => {
            Some(format!("{samples} samples; widths are sample counts"))
        }
    }
}

/// A label to draw: where, and how many characters fit.
struct Label {
    x: u64,
    y: f64,
    function: usize,
    chars: usize,
}

fn draw_view(
    out: &mut Output<'_>,
    v: &View<'_>,
    g: &Geometry,
    functions: &Functions,
    diff: Option<&DiffPaint>,
) -> io::Result<()> {
    let h = v.height(g);
    write!(out, r#"<text class="cap" x="10" y="{}">"#, v.top - 7.0)?;
    escape(out, v.caption);
    writeln!(
        out,
        r#"</text><text id="{}-m" class="matched" x="99%" y="{}" text-anchor="end"> </text>"#,
        v.id,
        v.top - 7.0
    )?;
    writeln!(
        out,
        r#"<svg id="{id}" class="view" x="{LEFT_PCT}%" y="{top}" width="{SPAN_PCT}%" height="{h}" viewBox="0 0 {TICKS} {h}" preserveAspectRatio="none" role="group" aria-label="{cap}">"#,
        id = v.id,
        top = v.top,
        cap = v.caption,
    )?;
    // `height="…"` is the same for every frame.
    let height_attr = format!(r#"" height="{}" class="c"#, g.row - 1.0);
    let mut labels = Vec::new();
    let cells = diff.map(|d| d.cells(v.id));
    for &(i, d) in &v.drawn {
        let f = v.tree.frame(i);
        let Some(func) = f.func else { continue };
        let n = functions.number(func);
        let y = v.y(f, g);
        out.str(r#"<rect x=""#);
        out.u64(d.x);
        out.str(r#"" y=""#);
        out.f64(y);
        out.str(r#"" width=""#);
        out.u64(d.w);
        out.str(&height_attr);
        out.u64(n as u64);
        out.str(grade_class(v.tree.certainty(i)));
        if let Some(cells) = cells {
            out.str(cells[i as usize].class);
        }
        out.str(r#"" tabindex="0" aria-label=""#);
        out.str(functions.short_escaped.get(n));
        out.str("\"/>\n");
        out.end_record()?;
        let chars = g.chars(d.w as f64 / TICKS * g.graph_px());
        if chars > 0 {
            labels.push(Label {
                x: d.x,
                y,
                function: n,
                chars,
            });
        }
    }
    writeln!(out, "</svg>")?;
    // Labels sit outside the scaled view so that text keeps its shape.
    let baseline = v.top + g.row / 2.0 + g.font / 3.0;
    writeln!(
        out,
        r#"<g id="{}-l" class="labels" transform="translate({LABEL_PAD},{baseline})">"#,
        v.id
    )?;
    for label in labels {
        out.str(r#"<text x=""#);
        out.fixed(LEFT_PCT + SPAN_PCT * label.x as f64 / TICKS, 3);
        out.str(r#"%" y=""#);
        out.f64(label.y);
        out.str(r#"">"#);
        let n = label.function;
        if functions.short_chars[n] <= label.chars {
            out.str(functions.short_escaped.get(n));
        } else {
            let short = functions.short.get(n);
            escape(out, &short[..fit_cut(short, label.chars)]);
            out.str("..");
        }
        out.str("</text>\n");
        out.end_record()?;
    }
    writeln!(out, "</g>")
}

/// The data table the script reads, then the script itself, in one CDATA section.
fn write_script(
    job: &Job<'_>,
    out: &mut Output<'_>,
    views: &[View<'_>],
    functions: &Functions,
    diff: Option<&DiffPaint>,
) -> io::Result<()> {
    writeln!(out, "<script><![CDATA[")?;
    write!(out, "var FLAMEPROF={{total:")?;
    json_number(out, job.flame().total());
    write!(
        out,
        ",ticks:{TICKS},left:{LEFT_PCT},span:{SPAN_PCT},pad:{LABEL_PAD},cw:{CHAR_WIDTH},"
    )?;
    // A sampled profile's counts are samples, and without an interval its times too.
    match job.profile.measure() {
        Measure::Calls => {}
        Measure::Samples { seconds } => {
            out.str(if seconds {
                "unit:'samples',"
            } else {
                "unit:'samples',counts:1,"
            });
        }
    }
    if let Some(d) = diff {
        out.str("diff:{before:");
        json_number(out, d.before_total);
        out.str(",after:");
        json_number(out, d.after_total);
        out.str("},");
    }
    out.str("\nfn:[");
    let mut display = String::new();
    for (n, &id) in functions.ids.iter().enumerate() {
        let f = job.profile.function(id);
        if n > 0 {
            out.str(",\n");
        }
        out.byte(b'[');
        display.clear();
        f.key.write_display(&mut display);
        json_string(out, &display);
        out.byte(b',');
        json_string(out, functions.short.get(n));
        out.byte(b',');
        out.i128(f.stats.nc);
        out.byte(b',');
        out.i128(f.stats.cc);
        out.str(",\"");
        out.byte(functions.kinds[n].letter() as u8);
        out.str("\"]");
        out.end_record()?;
    }
    out.str("],\nviews:{");
    for (n, v) in views.iter().enumerate() {
        if n > 0 {
            out.byte(b',');
        }
        // Per drawn frame, in the order of the rects: function, depth, own ticks (self
        // time without the cut children), calls here; estimated frames add the ticks
        // and the number of children too narrow to draw, then the min and max widths
        // the data allows; exact ones add the cut ticks and number only when the cut
        // ticks are not 0.
        write!(out, "\n{}:{{total:", v.id)?;
        json_number(out, v.tree.total());
        out.str(",f:[");
        let total = v.tree.total();
        let mut first = true;
        for &(i, _) in &v.drawn {
            let f = v.tree.frame(i);
            let Some(func) = f.func else { continue };
            if !first {
                out.byte(b',');
            }
            first = false;
            let t = |x: f64| round_u64(x / total * TICKS);
            out.byte(b'[');
            out.u64(functions.number(func) as u64);
            out.byte(b',');
            out.u64(u64::from(f.depth));
            out.byte(b',');
            out.u64(t(f.own_time()));
            out.byte(b',');
            out.u64(round_u64(f.calls));
            if !f.exact || t(f.cut) > 0 {
                out.byte(b',');
                out.u64(t(f.cut));
                out.byte(b',');
                out.u64(u64::from(f.cut_count));
            }
            if !f.exact {
                for x in [f.min_total, f.max_total] {
                    out.byte(b',');
                    out.u64(t(x));
                }
            }
            out.byte(b']');
            out.end_record()?;
        }
        out.byte(b']');
        // A differential graph: per drawn frame, each side's [total, self, calls] in
        // seconds (0 where absent from that side).
        if let Some(d) = diff {
            out.str(",\nd:[");
            for (n, &(i, _)) in v.drawn.iter().enumerate() {
                if n > 0 {
                    out.byte(b',');
                }
                let cell = &d.cells(v.id)[i as usize];
                out.byte(b'[');
                for (k, side) in [cell.before, cell.after].iter().enumerate() {
                    if k > 0 {
                        out.byte(b',');
                    }
                    match side {
                        None => out.byte(b'0'),
                        Some(x) => {
                            out.byte(b'[');
                            for (m, &v) in x.iter().enumerate() {
                                if m > 0 {
                                    out.byte(b',');
                                }
                                json_number(out, v);
                            }
                            out.byte(b']');
                        }
                    }
                }
                out.byte(b']');
                out.end_record()?;
            }
            out.byte(b']');
        }
        out.byte(b'}');
    }
    writeln!(out, "}}}};")?;
    out.str(SCRIPT.trim_end());
    writeln!(out, "\n]]></script>")
}

/// The classes after `cN` that draw a frame's grade: none when exact, `e` (dashed
/// outline) when estimated, `e g` (dashed and pale) when the estimate is a guess.
fn grade_class(c: Certainty) -> &'static str {
    match c {
        Certainty::Exact => "",
        Certainty::Close => " e",
        Certainty::Guess => " e g",
    }
}

/// The name shown inside a box: the function, then its module and line
/// (`format (json:52)`, the model's label); builtins by their name alone.
fn short_label(buf: &mut String, job: &Job<'_>, id: FuncId) {
    let key = &job.profile.function(id).key;
    if key.is_builtin() {
        buf.push_str(key.name.as_str());
    } else {
        job.profile.write_label(id, buf);
    }
}

/// Where a label longer than `chars` characters is cut so that it and `..` fit.
fn fit_cut(s: &str, chars: usize) -> usize {
    let keep = chars.saturating_sub(2);
    s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i)
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole * 100.0
    } else {
        0.0
    }
}

/// A duration with a unit that keeps four significant digits readable.
fn seconds(t: f64) -> String {
    if t >= 1.0 || t == 0.0 {
        format!("{t:.3} s")
    } else if t >= 1e-3 {
        format!("{:.3} ms", t * 1e3)
    } else {
        format!("{:.3} µs", t * 1e6)
    }
}

fn json_number(out: &mut Output<'_>, x: f64) {
    if x.is_finite() {
        out.f64(x);
    } else {
        out.byte(b'0');
    }
}

/// Bytes that start something [`json_string`] or [`escape_pieces`] may change: control
/// characters, markup, and the lead bytes of U+2028/U+2029 and U+FFFE/U+FFFF.
const JSON_SPECIAL: [bool; 256] = special(b"\"\\<>&\xe2\xef");
const XML_SPECIAL: [bool; 256] = special(b"&<>\"\xef");

const fn special(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

/// A JSON string that is also safe inside CDATA (`>` escaped, so no `]]>`).
fn json_string(out: &mut Output<'_>, s: &str) {
    out.byte(b'"');
    let bytes = s.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !JSON_SPECIAL[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        let b = bytes[i];
        // Bytes of multi-byte characters are all >= 0x80: only U+2028/U+2029
        // (E2 80 A8/A9) and U+FFFE/U+FFFF (EF BF BE/BF) among them are special.
        let (rep, len): (&[u8], usize) = match b {
            b'"' => (b"\\\"", 1),
            b'\\' => (b"\\\\", 1),
            b'<' => (b"\\u003c", 1),
            b'>' => (b"\\u003e", 1),
            b'&' => (b"\\u0026", 1),
            0x00..=0x1f => {
                out.bytes(&bytes[last..i]);
                let _ = write!(out, "\\u{:04x}", b);
                i += 1;
                last = i;
                continue;
            }
            0xe2 if bytes[i + 1] == 0x80 && matches!(bytes[i + 2], 0xa8 | 0xa9) => (
                if bytes[i + 2] == 0xa8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                },
                3,
            ),
            0xef if bytes[i + 1] == 0xbf && matches!(bytes[i + 2], 0xbe | 0xbf) => (b"", 3),
            _ => {
                i += 1;
                continue;
            }
        };
        out.bytes(&bytes[last..i]);
        out.bytes(rep);
        i += len;
        last = i;
    }
    out.bytes(&bytes[last..]);
    out.byte(b'"');
}

/// Writes text escaped for XML, dropping characters XML 1.0 forbids.
fn escape(out: &mut Output<'_>, s: &str) {
    escape_pieces(s, |piece| out.str(piece));
}

/// [`escape`] as the pieces of the escaped text, in order: runs of `s` that need no
/// change and replacements. Pieces are handed on as they are found, so no scratch
/// buffer is needed. `s` is UTF-8: the bytes of multi-byte characters are all >= 0x80,
/// so only U+FFFE/U+FFFF (EF BF BE/BF) need looking at among them, and every cut is
/// on a character boundary.
fn escape_pieces<'s>(s: &'s str, mut put: impl FnMut(&'s str)) {
    let bytes = s.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !XML_SPECIAL[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        let (rep, len) = match bytes[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            b'\n' | b'\t' => {
                i += 1;
                continue;
            }
            0x00..=0x1f => ("", 1),
            0xef if bytes[i + 1] == 0xbf && matches!(bytes[i + 2], 0xbe | 0xbf) => ("", 3),
            _ => {
                i += 1;
                continue;
            }
        };
        put(&s[last..i]);
        put(rep);
        i += len;
        last = i;
    }
    put(&s[last..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::backend::output::written;

    /// Cuts `s` to at most `chars` characters, ending in `..` when cut.
    fn fit(s: &str, chars: usize) -> String {
        if s.chars().count() <= chars {
            return s.to_string();
        }
        format!("{}..", &s[..fit_cut(s, chars)])
    }

    #[test]
    fn the_data_table_gives_own_time_and_the_cut_children_apart() {
        let profile = crate::tree::test_profiles::a_big_and_a_tiny_child();
        let options = super::super::RenderOptions {
            tree: crate::tree::TreeOptions {
                threshold: 0.01,
                ..Default::default()
            },
            graphs: Graphs::FlameOnly,
            ..Default::default()
        };
        let job = Job::new(&profile, &options);
        let mut out = Vec::new();
        render(&job, &mut out).unwrap();
        let svg = String::from_utf8(out).unwrap();
        // main, 1,000,000 ticks for 10 s: own 1.5 s, 1 call, 62.5 ms cut in 1 frame;
        // big: own 8.4375 s, nothing cut, exact, so nothing more.
        let table = &svg[svg.find("flame:{total:").unwrap()..];
        let rows = &table[table.find("f:[").unwrap() + 3..table.find("]}").unwrap()];
        assert_eq!(rows, "[0,1,150000,1,6250,1],[1,2,843750,1]");
        // Both frames are exact: drawn solid.
        assert!(!svg.contains(" e\" tabindex") && !svg.contains(" g\" tabindex"));
    }

    #[test]
    fn grades_are_drawn_as_classes() {
        assert_eq!(grade_class(Certainty::Exact), "");
        assert_eq!(grade_class(Certainty::Close), " e");
        assert_eq!(grade_class(Certainty::Guess), " e g");
    }

    #[test]
    fn escape_handles_markup_and_control_characters() {
        assert_eq!(
            written(|o| escape(o, "a<b>&\"c\u{1}d\ne\u{FFFE}é\u{FFFF}\u{FFFD}")),
            "a&lt;b&gt;&amp;&quot;cd\neé\u{FFFD}"
        );
    }

    #[test]
    fn wrap_cuts_at_spaces_within_the_width() {
        assert_eq!(wrap("ab cd ef", 5), ["ab cd", "ef"]);
        assert_eq!(wrap("ab cd ef", 4), ["ab", "cd", "ef"]);
        assert_eq!(wrap("±25 % µs", 5), ["±25 %", "µs"]);
        assert_eq!(wrap("abcdefgh ij", 3), ["abcdefgh", "ij"]);
        assert_eq!(wrap("", 3), Vec::<&str>::new());
    }

    #[test]
    fn fit_cuts_on_character_boundaries() {
        assert_eq!(fit("héllo world", 20), "héllo world");
        assert_eq!(fit("héllo world", 5), "hél..");
    }

    #[test]
    fn json_strings_cannot_close_cdata() {
        assert_eq!(
            written(|o| json_string(o, "a]]>\"\\\n<")),
            r#""a]]\u003e\"\\\u000a\u003c""#
        );
        assert_eq!(
            written(|o| json_string(o, "&\u{2028}\u{2029}\u{FFFE}\u{FFFF}é\u{1f}\u{2027}")),
            "\"\\u0026\\u2028\\u2029é\\u001f\u{2027}\""
        );
    }

    #[test]
    fn python_aware_kinds() {
        let k = |file: &str| Kind::of(&FuncKey::new(file, 1, "f"));
        assert_eq!(k("~"), Kind::Builtin);
        assert_eq!(k("/usr/lib/python3.11/json/decoder.py"), Kind::Stdlib);
        assert_eq!(k("<frozen importlib._bootstrap>"), Kind::Stdlib);
        assert_eq!(
            k("/usr/lib/python3/dist-packages/yaml/x.py"),
            Kind::ThirdParty
        );
        assert_eq!(
            k("/venv/lib/python3.12/site-packages/pylint/x.py"),
            Kind::ThirdParty
        );
        assert_eq!(
            k("C:\\Python311\\Lib\\site-packages\\a.py"),
            Kind::ThirdParty
        );
        assert_eq!(k("/home/me/app/main.py"), Kind::Own);
    }

    #[test]
    fn the_frames_that_start_the_program_are_not_your_code() {
        let k = |file: &str, name: &str| Kind::of(&FuncKey::new(file, 1, name));
        assert_eq!(k("<string>", "<module>"), Kind::Stdlib);
        assert_eq!(k("<string>", "_flameprof_main"), Kind::Stdlib);
        assert_eq!(k("/opt/py/cProfile.py", "runctx"), Kind::Stdlib);
        assert_eq!(k("C:\\Py\\profile.py", "runctx"), Kind::Stdlib);
        assert_eq!(k("<frozen runpy>", "_run_code"), Kind::Stdlib);
        // The program's own code stays its own, whatever its file is called.
        assert_eq!(k("<string>", "__init__"), Kind::Own);
        assert_eq!(k("/home/me/app/profile.py", "load"), Kind::Own);
        assert_eq!(k("/home/me/app/main.py", "<module>"), Kind::Own);
    }

    #[test]
    fn hues_stay_in_their_kind_range() {
        for h in [0u32, 1, 77, u32::MAX] {
            assert!(Kind::Own.hue(h) < 50);
            assert!((195..235).contains(&Kind::Stdlib.hue(h)));
        }
    }
}
