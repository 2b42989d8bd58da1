//! Output formats. Each backend is one module that registers a [`Backend`] with
//! `inventory::submit!`; the registry is sorted by name, checked for duplicates and
//! cached. A backend gets a [`Job`] (the profile, its trees on demand, the options)
//! and streams into any `io::Write`; it never opens files or stdout. It also says
//! which trees it will read ([`Trees`]), so that a caller with a second core may
//! build one while the backend builds the other (a [`Job`] is `Sync`: whichever
//! thread asks first builds a tree, once).
//!
//! Options every picture or text shares (title, sizes, threshold...) are fields of
//! [`RenderOptions`]; a format's own options are named entries of [`FormatOptions`]
//! that the backend declares, checks and parses itself, so a new format is one module
//! here (plus its specification under `formats/NAME/`) and the command line passes
//! the options on without naming any format.

pub mod diff;
mod json;
mod log;
mod output;
mod pprof;
mod speedscope;
#[doc(hidden)]
pub mod stats;
mod svg;
mod text;

use std::collections::BTreeMap;
use std::io;
use std::sync::{Mutex, OnceLock};

use crate::model::{FuncKey, Profile};
use crate::tree::{self, CallTree, TreeOptions};

/// One output format.
pub struct Backend {
    /// The `--format` value: lowercase, unique.
    pub name: &'static str,
    /// One line for `--list-formats`.
    pub about: &'static str,
    /// The usual file extension of the output, without the dot.
    pub extension: &'static str,
    pub render: fn(&Job<'_>, &mut dyn io::Write) -> io::Result<()>,
    /// The trees `render` reads with these options.
    pub trees: fn(&RenderOptions) -> Trees,
    /// The [`FormatOptions`] this format reads, each with what it accepts.
    pub options: &'static [FormatOption],
}

/// One option of a format: its name in [`FormatOptions`] (the long command-line
/// option, without dashes) and the check of a value, which gives the message shown to
/// the user when the value is refused.
pub struct FormatOption {
    pub name: &'static str,
    pub check: fn(&str) -> Result<(), String>,
}

/// The options that belong to one format or another (the sort key of `stats`, the
/// multiplier of `log`), by name, as text: the command line passes them on without
/// knowing which format reads them, and each backend parses its own. Check them with
/// [`check_options`] before rendering; a value that is unset takes the format's
/// default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatOptions(BTreeMap<String, String>);

impl FormatOptions {
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut FormatOptions {
        self.0.insert(name.to_string(), value.into());
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Checks every format option against the formats that read it (whichever format is
/// chosen, so that a mistake is caught before any input is read), in name order: the
/// first refusal's message, or one naming an option no format reads.
pub fn check_options(options: &FormatOptions) -> Result<(), String> {
    for (name, value) in &options.0 {
        let mut owners = registry()
            .iter()
            .flat_map(|b| b.options)
            .filter(|o| o.name == name)
            .peekable();
        if owners.peek().is_none() {
            return Err(format!("no format has an option '{name}'"));
        }
        for option in owners {
            (option.check)(value)?;
        }
    }
    Ok(())
}

/// The `labels` option of `text` and `log`: what a frame is named by besides its
/// function, its `module` (`format (json:52)`) or its `file` (in `text`
/// `format (/usr/lib/python3.11/json/__init__.py:52)`, in `log` 0.4's `file:line:name`).
/// Each format has its own default: `text` is read by people, `log` by scripts.
pub(crate) const LABELS: FormatOption = FormatOption {
    name: "labels",
    check: |v| labels_by_module(v).map(drop),
};

/// Whether the `labels` option `value` asks for module labels.
pub(crate) fn labels_by_module(value: &str) -> Result<bool, String> {
    match value {
        "module" => Ok(true),
        "file" => Ok(false),
        _ => Err(format!(
            "--labels must be 'module' or 'file', not '{value}'"
        )),
    }
}

/// A format option's value that [`check_options`] would refuse, met while rendering.
pub(crate) fn refused(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Which trees of a [`Job`] a backend reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trees {
    pub flame: bool,
    pub inverted: bool,
}

impl Trees {
    pub const NONE: Trees = Trees {
        flame: false,
        inverted: false,
    };
    pub const FLAME: Trees = Trees {
        flame: true,
        inverted: false,
    };
    pub const BOTH: Trees = Trees {
        flame: true,
        inverted: true,
    };

    /// The trees a picture of `graphs` draws.
    pub fn drawn(graphs: Graphs) -> Trees {
        Trees {
            flame: graphs != Graphs::InvertedOnly,
            inverted: graphs != Graphs::FlameOnly,
        }
    }
}

inventory::collect!(Backend);

/// Every registered backend, sorted by name. Panics (a bug, caught by the tests) if
/// two backends share a name.
pub fn registry() -> &'static [&'static Backend] {
    static REGISTRY: OnceLock<Vec<&'static Backend>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut all: Vec<&'static Backend> = inventory::iter::<Backend>.into_iter().collect();
        all.sort_by_key(|b| b.name);
        for pair in all.windows(2) {
            assert!(
                pair[0].name != pair[1].name,
                "two backends named {:?}",
                pair[0].name
            );
        }
        all
    })
}

/// The backend called `name`, if any.
pub fn find(name: &str) -> Option<&'static Backend> {
    registry().iter().copied().find(|b| b.name == name)
}

/// Options every backend may read, and each format's own ([`FormatOptions`]).
#[derive(Clone, Debug)]
pub struct RenderOptions {
    pub tree: TreeOptions,
    /// Image width in pixels; `None` means fluid (fills the window) where supported.
    pub width: Option<u32>,
    pub row_height: u32,
    pub font_size: u32,
    pub title: String,
    pub subtitle: Option<String>,
    /// Width of the terminal in columns, for text output.
    pub columns: usize,
    /// Whether text output may use ANSI colours.
    pub color: bool,
    /// Which graphs a picture shows (`--flame-only`, `--inverted-only`).
    pub graphs: Graphs,
    /// Embed the interactive script (zoom, search, tooltips) in pictures that have one.
    /// Off only for readable golden files (`--no-script`, hidden).
    pub script: bool,
    /// The options of one format or another.
    pub format: FormatOptions,
}

/// The graphs a picture format draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Graphs {
    /// The flame graph, then the inverted graph below it.
    #[default]
    Both,
    FlameOnly,
    InvertedOnly,
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions {
            tree: TreeOptions::default(),
            width: None,
            row_height: 24,
            font_size: 12,
            title: "Flame graph".into(),
            subtitle: None,
            columns: 100,
            color: false,
            graphs: Graphs::Both,
            script: true,
            format: FormatOptions::default(),
        }
    }
}

/// What a backend renders: the profile, its options, and the trees, built on first use.
pub struct Job<'a> {
    pub profile: &'a Profile,
    pub options: &'a RenderOptions,
    flame: OnceLock<CallTree>,
    inverted: OnceLock<CallTree>,
    /// What the backend had to change or drop to write its output (see [`Job::warn`]).
    warnings: Mutex<Vec<String>>,
}

impl<'a> Job<'a> {
    pub fn new(profile: &'a Profile, options: &'a RenderOptions) -> Job<'a> {
        Job {
            profile,
            options,
            flame: OnceLock::new(),
            inverted: OnceLock::new(),
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// A job whose trees are given rather than built from the profile: the
    /// differential graphs draw trees made of two profiles. A tree not given is built
    /// from the profile if asked for.
    pub(crate) fn with_trees(
        profile: &'a Profile,
        options: &'a RenderOptions,
        flame: CallTree,
        inverted: Option<CallTree>,
    ) -> Job<'a> {
        let job = Job::new(profile, options);
        let _ = job.flame.set(flame);
        if let Some(t) = inverted {
            let _ = job.inverted.set(t);
        }
        job
    }

    /// Notes that the output differs from what the data says (a value clamped, stacks
    /// cut): the caller prints these after rendering, like the data checks' warnings.
    pub fn warn(&self, message: String) {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message);
    }

    /// The backend's warnings, in the order they were given.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The flame tree (roots at the bottom, callees above).
    pub fn flame(&self) -> &CallTree {
        self.flame
            .get_or_init(|| tree::flame_tree(self.profile, &self.options.tree))
    }

    /// The inverted tree (self time, callers beneath). If another thread is building
    /// it, waits for that one.
    pub fn inverted(&self) -> &CallTree {
        self.inverted
            .get_or_init(|| tree::inverted_tree(self.profile, &self.options.tree))
    }

    /// The trees that were built, for reporting what was cut.
    pub fn built_trees(&self) -> impl Iterator<Item = (&'static str, &CallTree)> {
        [
            ("flame graph", self.flame.get()),
            ("inverted graph", self.inverted.get()),
        ]
        .into_iter()
        .filter_map(|(name, t)| t.map(|t| (name, t)))
    }

    /// The label of a frame's function (`None` is the root).
    pub fn key(&self, func: Option<u32>) -> Option<&FuncKey> {
        func.map(|f| &self.profile.function(f).key)
    }
}

/// One string per item (usually per function), built once and kept in one buffer:
/// labels are computed per function, not per frame.
pub(crate) struct StringTable {
    text: String,
    ends: Vec<usize>,
}

impl StringTable {
    /// Entry `i` is what `fill(i, buf)` appends to `buf`, for `i` in `0..n`.
    pub fn build(n: usize, mut fill: impl FnMut(usize, &mut String)) -> StringTable {
        let mut text = String::new();
        let mut ends = Vec::with_capacity(n);
        for i in 0..n {
            fill(i, &mut text);
            ends.push(text.len());
        }
        StringTable { text, ends }
    }

    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_unique_and_lowercase() {
        let names: Vec<_> = registry().iter().map(|b| b.name).collect();
        assert!(
            names.contains(&"svg") && names.contains(&"log"),
            "{names:?}"
        );
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted);
        for b in registry() {
            assert_eq!(b.name, b.name.to_lowercase());
            assert!(!b.about.is_empty() && !b.about.contains('\n'));
        }
    }

    /// Each option is checked by the format that reads it, whichever format renders;
    /// an option no format reads is refused rather than ignored.
    #[test]
    fn format_options_are_checked_by_their_formats() {
        let mut options = FormatOptions::default();
        options.set("sort", "tottime").set("view", "callers");
        assert_eq!(check_options(&options), Ok(()));
        options.set("log-mult", "0");
        assert!(check_options(&options).unwrap_err().contains("--log-mult"));
        let mut unknown = FormatOptions::default();
        unknown.set("colour", "red");
        assert!(check_options(&unknown).unwrap_err().contains("'colour'"));
    }

    /// A call chain 5,000 functions deep: every backend walks it without recursion
    /// (a recursive walk would overflow the test thread's stack).
    #[test]
    fn every_backend_renders_a_very_deep_chain() {
        use crate::model::{EdgeStats, ProfileBuilder, Stats};
        let depth = 5_000;
        let mut b = ProfileBuilder::new();
        let key = |i: usize| FuncKey::new("deep.py", i as i64, format!("f{i}"));
        for i in 0..depth {
            let ct = (depth - i) as f64;
            let s = Stats {
                cc: 1,
                nc: 1,
                tt: 1.0,
                ct,
            };
            b.add_function(key(i), s);
            if i > 0 {
                b.add_edge(key(i - 1), key(i), EdgeStats::Timed(s));
            }
        }
        let profile = b.finish();
        let options = RenderOptions {
            tree: TreeOptions {
                threshold: 0.0,
                ..TreeOptions::default()
            },
            ..RenderOptions::default()
        };
        for backend in registry() {
            let job = Job::new(&profile, &options);
            let mut out = Vec::new();
            (backend.render)(&job, &mut out).unwrap();
            assert!(!out.is_empty(), "{}", backend.name);
        }
    }
}
