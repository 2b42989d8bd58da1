//! `-f svg`: the native picture, an interactive, self-contained SVG holding flameprof
//! 0.4's two graphs: the flame graph (roots at the bottom, callees above) and below it
//! the inverted graph (each function at the width of its self time, callers beneath).
//!
//! Each graph is a nested `<svg>` whose viewBox spans the whole profile in integer
//! ticks; a frame is one `<rect>` whose `x`/`width` are exact tick offsets, so zooming
//! is a viewBox change and Matched % is exact. Labels live outside the scaled views,
//! pre-fitted here for the written width and re-fitted by the script (`svg.js`, styled
//! by `svg.css`, both embedded at build time) only on zoom or resize. Per-frame numbers
//! the tooltip needs go into one compact data table at the end. Specified in
//! `formats/svg/README.md`.

use std::collections::HashMap;
use std::io::{self, Write};

use super::{Backend, Graphs, Job};
use crate::model::{FuncId, FuncKey};
use crate::tree::{CallTree, Frame, ROOT};

inventory::submit! {
    Backend {
        name: "svg",
        about: "interactive flame graph and inverted self-time graph in one SVG (the default)",
        extension: "svg",
        render,
    }
}

const SCRIPT: &str = include_str!("svg.js");
const STYLE: &str = include_str!("svg.css");

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
    /// True when depth 1 is the bottom row (the flame graph).
    bottom_up: bool,
    top: f64,
}

impl<'t> View<'t> {
    /// A view placed at `*top` (under its caption); moves `*top` below it.
    fn new(
        id: &'static str,
        caption: &'static str,
        tree: &'t CallTree,
        bottom_up: bool,
        top: &mut f64,
        g: &Geometry,
    ) -> View<'t> {
        let v = View {
            id,
            caption,
            tree,
            rows: tree.max_depth().max(1),
            bottom_up,
            top: *top + CAPTION,
        };
        *top = v.top + v.height(g) + GAP;
        v
    }

    fn height(&self, g: &Geometry) -> f64 {
        f64::from(self.rows) * g.row
    }

    /// The frame's position, or `None` when it is not drawn.
    fn drawn(&self, i: usize, f: &Frame, g: &Geometry) -> Option<Drawn> {
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

    /// Top of the frame's row inside the view.
    fn y(&self, f: &Frame, g: &Geometry) -> f64 {
        let row = if self.bottom_up {
            self.rows - f.depth.min(self.rows)
        } else {
            f.depth.saturating_sub(1)
        };
        f64::from(row) * g.row
    }
}

fn ticks(t: f64, total: f64) -> u64 {
    (t / total * TICKS).round().clamp(0.0, TICKS) as u64
}

/// Where a function's code lives; each kind has its own hue range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The profiled program's own code: warm hues.
    Own,
    /// The Python standard library and frozen modules: blues.
    Stdlib,
    /// Installed packages (`site-packages`, `dist-packages`): greens.
    ThirdParty,
    /// Builtins and C functions (`~` or empty file): purples.
    Builtin,
}

impl Kind {
    fn of(key: &FuncKey) -> Kind {
        let file = key.file.as_str();
        if file == "~" || file.is_empty() {
            return Kind::Builtin;
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

/// Compact numbering of the functions drawn, in order of first appearance.
struct Functions {
    ids: Vec<FuncId>,
    index: HashMap<FuncId, usize>,
}

impl Functions {
    fn collect(views: &[View<'_>], g: &Geometry) -> Functions {
        let mut out = Functions {
            ids: Vec::new(),
            index: HashMap::new(),
        };
        for v in views {
            for (i, f) in v.tree.frames().iter().enumerate() {
                if v.drawn(i, f, g).is_some()
                    && let Some(func) = f.func
                {
                    out.index.entry(func).or_insert_with(|| {
                        out.ids.push(func);
                        out.ids.len() - 1
                    });
                }
            }
        }
        out
    }
}

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    let o = job.options;
    let g = Geometry {
        width: f64::from(o.width.map_or(FLUID_WIDTH as u32, |w| w.max(100))),
        row: f64::from(o.row_height.max(4)),
        font: f64::from(o.font_size.max(1)),
    };
    let mut views = Vec::new();
    let mut top = HEADER + if o.subtitle.is_some() { 18.0 } else { 0.0 };
    if o.graphs != Graphs::InvertedOnly {
        let caption = "Flame graph: callers below, callees above; width is time spent inside";
        views.push(View::new("flame", caption, job.flame(), true, &mut top, &g));
    }
    if o.graphs != Graphs::FlameOnly {
        let caption = "Inverted: each function at the width of its own time, its callers beneath";
        views.push(View::new(
            "inverted",
            caption,
            job.inverted(),
            false,
            &mut top,
            &g,
        ));
    }
    let height = top + FOOTER;
    let functions = Functions::collect(&views, &g);

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
    out.write_all(b"<style>")?;
    out.write_all(STYLE.trim_end().as_bytes())?;
    writeln!(out)?;
    for (n, &id) in functions.ids.iter().enumerate() {
        let key = &job.profile.function(id).key;
        writeln!(out, ".c{n}{{--h:{}}}", Kind::of(key).hue(name_hash(key)))?;
    }
    writeln!(out, "</style>")?;
    writeln!(out, r#"<rect class="bg" width="100%" height="100%"/>"#)?;
    write!(
        out,
        r#"<text class="title" x="50%" y="22" text-anchor="middle" font-size="{}">"#,
        g.font + 5.0
    )?;
    escape(out, &o.title)?;
    writeln!(out, "</text>")?;
    if let Some(sub) = &o.subtitle {
        write!(
            out,
            r#"<text class="sub" x="50%" y="40" text-anchor="middle">"#
        )?;
        escape(out, sub)?;
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
        HEADER - 8.0 + top_shift(o)
    )?;

    for v in &views {
        draw_view(job, out, v, &g, &functions)?;
    }

    let total = job.flame().total();
    write!(out, r#"<text class="foot" x="10" y="{}">"#, height - 30.0)?;
    let mut footer = format!(
        "Total {}. Pale, dashed frames are estimated (time split between callers); others are exact.",
        seconds(total)
    );
    for (name, t) in job.built_trees() {
        if t.cut_frames > 0 {
            footer.push_str(&format!(
                " {name}: {} frames under the threshold ({}, {:.2}%) not drawn{}.",
                t.cut_frames,
                seconds(t.cut_time),
                percent(t.cut_time, total),
                if t.truncated {
                    ", frame limit reached"
                } else {
                    ""
                }
            ));
        }
    }
    escape(out, &footer)?;
    writeln!(out, "</text>")?;
    writeln!(
        out,
        r#"<g class="legend" transform="translate(10,{})"><rect class="ko" width="10" height="10"/><text x="14" y="9">your code</text><rect class="ks" x="110" width="10" height="10"/><text x="124" y="9">standard library</text><rect class="kt" x="270" width="10" height="10"/><text x="284" y="9">third-party</text><rect class="kb" x="400" width="10" height="10"/><text x="414" y="9">builtin / C</text><rect class="ko e" x="530" width="10" height="10"/><text x="544" y="9">estimated</text></g>"#,
        height - 20.0
    )?;
    if o.script {
        write_script(job, out, &views, &g, &functions)?;
    }
    writeln!(out, "</svg>")
}

fn top_shift(o: &super::RenderOptions) -> f64 {
    if o.subtitle.is_some() { 18.0 } else { 0.0 }
}

fn draw_view(
    job: &Job<'_>,
    out: &mut dyn Write,
    v: &View<'_>,
    g: &Geometry,
    functions: &Functions,
) -> io::Result<()> {
    let h = v.height(g);
    write!(out, r#"<text class="cap" x="10" y="{}">"#, v.top - 7.0)?;
    escape(out, v.caption)?;
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
    let mut label = String::new();
    let mut labels = Vec::new();
    for (i, f) in v.tree.frames().iter().enumerate() {
        let Some(d) = v.drawn(i, f, g) else { continue };
        let Some(func) = f.func else { continue };
        let key = &job.profile.function(func).key;
        let y = v.y(f, g);
        write!(
            out,
            r#"<rect x="{}" y="{y}" width="{}" height="{}" class="c{}{}" tabindex="0" aria-label=""#,
            d.x,
            d.w,
            g.row - 1.0,
            functions.index[&func],
            if f.exact { "" } else { " e" },
        )?;
        short_label(&mut label, key);
        escape(out, &label)?;
        writeln!(out, r#""/>"#)?;
        let chars = g.chars(d.w as f64 / TICKS * g.graph_px());
        if chars > 0 {
            labels.push((d.x, y, fit(&label, chars).to_string()));
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
    for (x, y, text) in labels {
        write!(
            out,
            r#"<text x="{:.3}%" y="{y}">"#,
            LEFT_PCT + SPAN_PCT * x as f64 / TICKS
        )?;
        escape(out, &text)?;
        writeln!(out, "</text>")?;
    }
    writeln!(out, "</g>")
}

/// The data table the script reads, then the script itself, in one CDATA section.
fn write_script(
    job: &Job<'_>,
    out: &mut dyn Write,
    views: &[View<'_>],
    g: &Geometry,
    functions: &Functions,
) -> io::Result<()> {
    writeln!(out, "<script><![CDATA[")?;
    write!(out, "var FLAMEPROF={{total:")?;
    json_number(out, job.flame().total())?;
    write!(
        out,
        ",ticks:{TICKS},left:{LEFT_PCT},span:{SPAN_PCT},pad:{LABEL_PAD},cw:{CHAR_WIDTH},\nfn:["
    )?;
    for (n, &id) in functions.ids.iter().enumerate() {
        let f = job.profile.function(id);
        let mut short = String::new();
        short_label(&mut short, &f.key);
        if n > 0 {
            out.write_all(b",\n")?;
        }
        out.write_all(b"[")?;
        json_string(out, &f.key.display())?;
        out.write_all(b",")?;
        json_string(out, &short)?;
        write!(
            out,
            ",{},{},\"{}\"]",
            f.stats.nc,
            f.stats.cc,
            Kind::of(&f.key).letter()
        )?;
    }
    out.write_all(b"],\nviews:{")?;
    for (n, v) in views.iter().enumerate() {
        if n > 0 {
            out.write_all(b",")?;
        }
        // Per drawn frame, in the order of the rects: function, depth, self ticks,
        // calls here; estimated frames add the ticks of children too narrow to draw
        // and the min and max widths the data allows; exact ones add the cut ticks
        // only when there are some.
        write!(out, "\n{}:{{total:", v.id)?;
        json_number(out, v.tree.total())?;
        out.write_all(b",f:[")?;
        let total = v.tree.total();
        let mut first = true;
        for (i, f) in v.tree.frames().iter().enumerate() {
            if v.drawn(i, f, g).is_none() {
                continue;
            }
            let Some(func) = f.func else { continue };
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            let t = |x: f64| (x / total * TICKS).round() as u64;
            write!(
                out,
                "[{},{},{},{}",
                functions.index[&func],
                f.depth,
                t(f.self_time),
                f.calls.round() as u64
            )?;
            if !f.exact {
                write!(out, ",{},{},{}", t(f.cut), t(f.min_total), t(f.max_total))?;
            } else if t(f.cut) > 0 {
                write!(out, ",{}", t(f.cut))?;
            }
            out.write_all(b"]")?;
        }
        out.write_all(b"]}")?;
    }
    writeln!(out, "}}}};")?;
    out.write_all(SCRIPT.trim_end().as_bytes())?;
    writeln!(out, "\n]]></script>")
}

/// The name shown inside a box: the function, then where it lives.
fn short_label(buf: &mut String, key: &FuncKey) {
    buf.clear();
    if key.is_builtin() {
        buf.push_str(key.name.as_str());
    } else {
        let file = key.file.as_str();
        let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
        buf.push_str(&format!("{} ({}:{})", key.name, base, key.line));
    }
}

/// Cuts `s` to at most `chars` characters, ending in `..` when cut.
fn fit(s: &str, chars: usize) -> String {
    if s.chars().count() <= chars {
        return s.to_string();
    }
    let keep = chars.saturating_sub(2);
    let end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
    format!("{}..", &s[..end])
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

fn json_number(out: &mut dyn Write, x: f64) -> io::Result<()> {
    if x.is_finite() {
        write!(out, "{x}")
    } else {
        out.write_all(b"0")
    }
}

/// A JSON string that is also safe inside CDATA (`>` escaped, so no `]]>`).
fn json_string(out: &mut dyn Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    for c in s.chars() {
        match c {
            '"' => out.write_all(b"\\\"")?,
            '\\' => out.write_all(b"\\\\")?,
            '<' | '>' | '&' => write!(out, "\\u{:04x}", c as u32)?,
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                write!(out, "\\u{:04x}", c as u32)?
            }
            c if c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => write!(out, "{c}")?,
        }
    }
    out.write_all(b"\"")
}

/// Writes text escaped for XML, dropping characters XML 1.0 forbids.
fn escape(out: &mut dyn Write, s: &str) -> io::Result<()> {
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\n' | '\t' => continue,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => "",
            _ => continue,
        };
        out.write_all(&s.as_bytes()[last..i])?;
        out.write_all(rep.as_bytes())?;
        last = i + c.len_utf8();
    }
    out.write_all(&s.as_bytes()[last..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_handles_markup_and_control_characters() {
        let mut v = Vec::new();
        escape(&mut v, "a<b>&\"c\u{1}d\ne").unwrap();
        assert_eq!(String::from_utf8(v).unwrap(), "a&lt;b&gt;&amp;&quot;cd\ne");
    }

    #[test]
    fn fit_cuts_on_character_boundaries() {
        assert_eq!(fit("héllo world", 20), "héllo world");
        assert_eq!(fit("héllo world", 5), "hél..");
    }

    #[test]
    fn json_strings_cannot_close_cdata() {
        let mut v = Vec::new();
        json_string(&mut v, "a]]>\"\\\n<").unwrap();
        assert_eq!(
            String::from_utf8(v).unwrap(),
            r#""a]]\u003e\"\\\u000a\u003c""#
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
    fn hues_stay_in_their_kind_range() {
        for h in [0u32, 1, 77, u32::MAX] {
            assert!(Kind::Own.hue(h) < 50);
            assert!((195..235).contains(&Kind::Stdlib.hue(h)));
        }
    }
}
