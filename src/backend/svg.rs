//! `-f svg`: the native picture, flameprof 0.4's two graphs in one self-contained
//! file: the flame graph (roots at the bottom, callees above) and below it the
//! inverted graph (each function at the width of its self time, callers beneath).
//! Estimated frames are drawn desaturated with a dashed outline. Specified in
//! `formats/svg/README.md`.

use std::io::{self, Write};

use super::{Backend, Job};
use crate::model::FuncKey;
use crate::tree::{CallTree, Frame, ROOT};

inventory::submit! {
    Backend {
        name: "svg",
        about: "flame graph and inverted self-time graph in one SVG (the default)",
        extension: "svg",
        render,
    }
}

const PAD: f64 = 10.0;
const TITLE_HEIGHT: f64 = 48.0;
const GAP: f64 = 44.0;
const FOOTER: f64 = 40.0;
/// Frames narrower than this many pixels are not drawn (their time is in the parent).
const MIN_PIXELS: f64 = 0.1;
/// Width of one character of the monospace label font, as a share of the font size.
const CHAR_WIDTH: f64 = 0.6;

struct Geometry {
    width: f64,
    row: f64,
    font: f64,
}

impl Geometry {
    fn x(&self, tree: &CallTree, t: f64) -> f64 {
        let total = tree.total();
        if total > 0.0 {
            PAD + t / total * (self.width - 2.0 * PAD)
        } else {
            PAD
        }
    }
}

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    let o = job.options;
    let flame = job.flame();
    let inverted = job.inverted();
    let g = Geometry {
        width: f64::from(o.width.unwrap_or(1200).max(100)),
        row: f64::from(o.row_height.max(1)),
        font: f64::from(o.font_size.max(1)),
    };
    let flame_rows = f64::from(flame.max_depth());
    let inverted_rows = f64::from(inverted.max_depth());
    let flame_top = TITLE_HEIGHT;
    let inverted_top = flame_top + flame_rows * g.row + GAP;
    let height = inverted_top + inverted_rows * g.row + FOOTER;

    writeln!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#
    )?;
    writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}" height="{height}" viewBox="0 0 {w} {height}" font-family="monospace" font-size="{font}">"#,
        w = g.width,
        font = g.font,
    )?;
    writeln!(
        out,
        "<style>.f rect{{stroke:none}} .est rect{{stroke:#555;stroke-width:0.5;stroke-dasharray:2 2}} text{{fill:#000}} .f text{{pointer-events:none}}</style>"
    )?;
    writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#f8f8f8"/>"##
    )?;
    let centre = g.width / 2.0;
    write!(
        out,
        r#"<text x="{centre}" y="22" text-anchor="middle" font-size="{}">"#,
        g.font + 5.0
    )?;
    escape(out, &o.title)?;
    writeln!(out, "</text>")?;
    if let Some(sub) = &o.subtitle {
        write!(out, r#"<text x="{centre}" y="40" text-anchor="middle">"#)?;
        escape(out, sub)?;
        writeln!(out, "</text>")?;
    }

    writeln!(out, r#"<g id="flame">"#)?;
    let base = flame_top + flame_rows * g.row;
    draw_tree(job, out, flame, &g, |f| base - f64::from(f.depth) * g.row)?;
    writeln!(out, "</g>")?;

    write!(out, r#"<text x="{PAD}" y="{}">"#, inverted_top - 12.0)?;
    escape(
        out,
        "Self time, by caller (inverted: each function at the width of its own time, its callers beneath)",
    )?;
    writeln!(out, "</text>")?;
    writeln!(out, r#"<g id="inverted">"#)?;
    draw_tree(job, out, inverted, &g, |f| {
        inverted_top + f64::from(f.depth - 1) * g.row
    })?;
    writeln!(out, "</g>")?;

    let total = flame.total();
    write!(out, r#"<text x="{PAD}" y="{}">"#, height - 14.0)?;
    let mut footer = format!(
        "Total {} s. Dashed, pale frames are estimated (time split between callers); others are exact.",
        seconds(total)
    );
    for (name, t) in job.built_trees() {
        if t.cut_frames > 0 {
            footer.push_str(&format!(
                " {name}: {} frames under the threshold ({} s, {:.2}%) not drawn{}.",
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
    writeln!(out, "</svg>")
}

fn draw_tree(
    job: &Job<'_>,
    out: &mut dyn Write,
    tree: &CallTree,
    g: &Geometry,
    y_of: impl Fn(&Frame) -> f64,
) -> io::Result<()> {
    let total = tree.total();
    let mut label = String::new();
    for (i, f) in tree.frames().iter().enumerate() {
        if i as u32 == ROOT {
            continue;
        }
        let Some(key) = job.key(f.func) else { continue };
        let x = g.x(tree, f.start);
        let w = g.x(tree, f.start + f.total) - x;
        if w < MIN_PIXELS {
            continue;
        }
        let y = y_of(f);
        let parent_total = tree.frame(f.parent).total;
        write!(
            out,
            r#"<g class="{}"><title>"#,
            if f.exact { "f" } else { "f est" }
        )?;
        let func = job.profile.function(f.func.unwrap_or(0));
        let mut tip = format!(
            "{}\n{:.2}% of total, {:.2}% of parent\n{} s total, {} s self\ncalls here: {} (function: {}/{})",
            key.display(),
            percent(f.total, total),
            percent(f.total, parent_total),
            seconds(f.total),
            seconds(f.self_time),
            f.calls.round(),
            func.stats.nc,
            func.stats.cc,
        );
        if !f.exact {
            tip.push_str(&format!(
                "\nestimated: time split between callers; the data allows {} to {} s",
                seconds(f.min_total),
                seconds(f.max_total)
            ));
        }
        if f.cut > 0.0 {
            tip.push_str(&format!(
                "\n{} s in children too narrow to draw",
                seconds(f.cut)
            ));
        }
        escape(out, &tip)?;
        write!(
            out,
            r#"</title><rect x="{x:.2}" y="{y:.1}" width="{w:.2}" height="{h:.1}" fill="{fill}" rx="2"/>"#,
            h = g.row - 1.0,
            fill = colour(key, f.exact),
        )?;
        let chars = ((w - 6.0) / (g.font * CHAR_WIDTH)).floor();
        if chars >= 3.0 {
            short_label(&mut label, key);
            write!(
                out,
                r#"<text x="{:.2}" y="{:.1}">"#,
                x + 3.0,
                y + g.row / 2.0 + g.font / 3.0
            )?;
            escape(out, fit(&label, chars as usize))?;
            write!(out, "</text>")?;
        }
        writeln!(out, "</g>")?;
    }
    Ok(())
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
fn fit(s: &str, chars: usize) -> &str {
    if s.chars().count() <= chars {
        return s;
    }
    let keep = chars.saturating_sub(2);
    let end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// A stable colour from the function's label: warm hues for exact frames, the same
/// hue desaturated for estimated ones.
fn colour(key: &FuncKey, exact: bool) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.name.as_str().bytes().chain(key.file.as_str().bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    let hue = h % 55;
    let light = 55 + (h >> 8) % 15;
    if exact {
        format!("hsl({hue},85%,{light}%)")
    } else {
        format!("hsl({hue},25%,{}%)", light + 10)
    }
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole * 100.0
    } else {
        0.0
    }
}

fn seconds(t: f64) -> String {
    format!("{t:.6}")
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
        assert_eq!(fit("héllo world", 5), "hél");
    }
}
