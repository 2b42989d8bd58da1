//! Module labels: which package a function belongs to, in the words a Python user
//! would use (`json`, `pip._internal.cli.main`), and the label every picture and text
//! shows for a function (`format (json:52)`).
//!
//! pstats keys name files by absolute path, so a basename (`__init__.py`) does not say
//! which package, and a full path does not fit a frame. A file under a recognisable
//! `sys.path` entry (`site-packages`, `dist-packages`, `lib/pythonX.Y`, Windows
//! `PythonXY\Lib`) is named by its import name; any other file by the shortest trailing
//! path that tells it apart from the profile's other such files; pseudo-files
//! (`<frozen runpy>`, `<string>`) as they are; builtins have none.
//!
//! Labels are per file, not per function: functions are sorted by key, so a file's
//! functions are one run, and the work is one pass over the functions plus a few
//! passes over the distinct files.

use std::hash::BuildHasher;

use super::{FuncId, FuncKey, Profile};

/// Per function of a profile, the label of its module ("" for builtins).
#[derive(Clone, Debug, Default)]
pub struct ModuleLabels {
    /// The labels of the distinct files, end to end.
    text: String,
    /// Per distinct file, the end of its label in `text`.
    ends: Vec<u32>,
    /// Per function, the index of its file's label (`NONE` for builtins).
    of: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl ModuleLabels {
    /// The module label of function `id`: "" for builtins.
    pub fn module(&self, id: FuncId) -> &str {
        match self.of[id as usize] {
            NONE => "",
            i => {
                let i = i as usize;
                let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
                &self.text[start..self.ends[i] as usize]
            }
        }
    }

    pub(super) fn compute(profile: &Profile) -> ModuleLabels {
        let functions = profile.functions();
        let mut of = Vec::with_capacity(functions.len());
        // The distinct files, in order (a file's functions are one run).
        let mut files: Vec<&str> = Vec::new();
        let mut last: Option<&FuncKey> = None;
        for f in functions {
            if f.key.is_builtin() {
                of.push(NONE);
                continue;
            }
            // Texts read from one marshal string share their bytes: most comparisons
            // end at the pointers.
            let same = last.is_some_and(|k| {
                k.file.slice_id() == f.key.file.slice_id() || k.file == f.key.file
            });
            if !same {
                files.push(f.key.file.as_str());
            }
            last = Some(&f.key);
            of.push(files.len() as u32 - 1);
        }
        let (text, ends) = file_labels(&files);
        ModuleLabels { text, ends, of }
    }
}

/// The labels of `files` (distinct file names), end to end, and where each ends.
fn file_labels(files: &[&str]) -> (String, Vec<u32>) {
    // A file's label is a piece of its name, or an import name made here.
    enum Label<'f> {
        Slice(&'f str),
        Made(std::ops::Range<usize>),
        /// File `.0` from byte `.1` on: resolved when copied, the only time its bytes are
        /// read.
        Tail(usize, usize),
    }
    let mut made = String::new();
    let mut labels: Vec<Label<'_>> = Vec::with_capacity(files.len());
    // Files with no import name: named by trailing paths, made longer where they clash;
    // their first trailing paths are measured while their names are in cache (they are
    // slices of the input, scattered over it).
    let hasher = foldhash::fast::FixedState::default();
    let mut plain: Vec<usize> = Vec::new();
    let mut tails: Vec<Tails> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        labels.push(if file.starts_with('<') && file.ends_with('>') {
            Label::Slice(file)
        } else if let Some(rest) = under_sys_path(file) {
            let start = made.len();
            if push_import_name(&mut made, rest) {
                Label::Made(start..made.len())
            } else {
                Label::Slice(rest)
            }
        } else {
            plain.push(i);
            tails.push(Tails::of(file, &hasher));
            Label::Slice(file)
        });
    }
    // Each round names the files still clashing by one more trailing component. Clashes
    // are found by sorting hashes of the candidate labels rather than by a map of the
    // strings (a profile may have 100,000s of files): a collision of two different
    // labels, one chance in 2^64 per pair, only makes their labels a component longer.
    // The hasher is fixed, so the output is the same on every run.
    let mut depth = vec![1usize; plain.len()];
    // Positions in `plain` of the files not named yet.
    let mut open: Vec<usize> = (0..plain.len()).collect();
    let mut keys: Vec<(u64, usize)> = Vec::with_capacity(plain.len());
    let tail = |j: usize, d: usize| match tails[j].get(d) {
        Some(known) => known,
        None => {
            let file = files[plain[j]];
            let label = trailing(file, d);
            (hasher.hash_one(label), file.len() - label.len())
        }
    };
    while !open.is_empty() {
        keys.clear();
        keys.extend(open.iter().map(|&j| (tail(j, depth[j]).0, j)));
        keys.sort_unstable();
        open.clear();
        for run in keys.chunk_by(|a, b| a.0 == b.0) {
            for &(_, j) in run {
                let start = tail(j, depth[j]).1;
                if run.len() > 1 && start > 0 {
                    depth[j] += 1;
                    open.push(j);
                } else {
                    labels[plain[j]] = Label::Tail(plain[j], start);
                }
            }
        }
    }
    let mut text = String::new();
    let mut ends = Vec::with_capacity(labels.len());
    for label in &labels {
        text.push_str(match label {
            Label::Slice(s) => s,
            Label::Made(r) => &made[r.clone()],
            Label::Tail(i, start) => &files[*i][*start..],
        });
        ends.push(text.len() as u32);
    }
    (text, ends)
}

fn is_separator(b: u8) -> bool {
    b == b'/' || b == b'\\'
}

/// How many trailing paths of a file [`Tails`] measures: real clashes rarely need more.
const TAILS: usize = 3;

/// A file's last 1..=[`TAILS`] components: the hash of each and where it starts.
struct Tails {
    hash: [u64; TAILS],
    start: [u32; TAILS],
}

impl Tails {
    fn of(file: &str, hasher: &foldhash::fast::FixedState) -> Tails {
        let mut t = Tails {
            hash: [0; TAILS],
            start: [0; TAILS],
        };
        for d in 1..=TAILS {
            let label = trailing(file, d);
            t.hash[d - 1] = hasher.hash_one(label);
            t.start[d - 1] = (file.len() - label.len()) as u32;
        }
        t
    }

    /// The hash and start of the last `d` components, if measured.
    fn get(&self, d: usize) -> Option<(u64, usize)> {
        let k = d.checked_sub(1).filter(|&k| k < TAILS)?;
        Some((self.hash[k], self.start[k] as usize))
    }
}

/// The last `n` components of `path` (all of it when it has no more).
fn trailing(path: &str, n: usize) -> &str {
    let bytes = path.as_bytes();
    let mut seen = 0;
    for i in (0..bytes.len()).rev() {
        // A separator at the very end ends no component.
        if is_separator(bytes[i]) && i + 1 < bytes.len() {
            seen += 1;
            if seen == n {
                return &path[i + 1..];
            }
        }
    }
    path
}

/// The part of `file` below the `sys.path` entry it was imported from, when that entry
/// can be recognised: the last `site-packages` or `dist-packages`, else the standard
/// library (`lib/python3.11`, `lib/pypy3.10`, Windows `Python311\Lib`).
fn under_sys_path(file: &str) -> Option<&str> {
    let starts_with =
        |c: &[u8], p: &[u8]| c.len() > p.len() && c[..p.len()].eq_ignore_ascii_case(p);
    // The directories of `file`, each with the offset just past it, without allocating:
    // this runs once per distinct file.
    let bytes = file.as_bytes();
    let mut start = 0;
    let (mut packages, mut stdlib) = (None, None);
    let mut previous: &[u8] = b"";
    for (i, &b) in bytes.iter().enumerate() {
        if !is_separator(b) {
            continue;
        }
        let c = &bytes[start..i];
        if c.eq_ignore_ascii_case(b"site-packages") || c.eq_ignore_ascii_case(b"dist-packages") {
            packages = Some(i + 1);
        } else if stdlib.is_none() {
            let unix = previous.eq_ignore_ascii_case(b"lib")
                && (starts_with(c, b"python") || starts_with(c, b"pypy"))
                && c.iter().any(u8::is_ascii_digit);
            let windows = starts_with(previous, b"python") && c.eq_ignore_ascii_case(b"lib");
            if unix || windows {
                stdlib = Some(i + 1);
            }
        }
        previous = c;
        start = i + 1;
    }
    // Separators are ASCII: every offset is a character boundary.
    Some(&file[packages.or(stdlib)?..]).filter(|r| !r.is_empty())
}

/// Appends the import name of `rest` to `out` (`pip/_internal/cli/main.py` →
/// `pip._internal.cli.main`, `json/__init__.py` → `json`) and returns true; returns
/// false, `out` unchanged, when `rest` is not a `.py` file whose path is made of
/// identifiers.
fn push_import_name(out: &mut String, rest: &str) -> bool {
    let Some(stem) = rest.strip_suffix(".py") else {
        return false;
    };
    let stem = match stem.rsplit_once(['/', '\\']) {
        Some((package, "__init__")) => package,
        _ => stem,
    };
    let identifier = |p: &str| {
        let mut chars = p.chars();
        chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
            && chars.all(|c| c == '_' || c.is_alphanumeric())
    };
    if !stem.split(['/', '\\']).all(identifier) {
        return false;
    }
    out.extend(
        stem.chars()
            .map(|c| if c == '/' || c == '\\' { '.' } else { c }),
    );
    true
}

/// Writes the label a function is shown with: `name (module:line)`, or for builtins
/// pstats' own name (`{built-in method builtins.exec}`). The function name comes first
/// so that a label cut to a narrow frame still says which function it is.
pub fn write_label(out: &mut String, key: &FuncKey, module: &str) {
    if key.is_builtin() {
        key.write_display(out);
        return;
    }
    let mut digits = [0u8; 21];
    out.push_str(key.name.as_str());
    out.push_str(" (");
    out.push_str(module);
    out.push(':');
    out.push_str(super::decimal(
        &mut digits,
        key.line.unsigned_abs(),
        key.line < 0,
    ));
    out.push(')');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(files: &[&str]) -> Vec<String> {
        let (text, ends) = file_labels(files);
        let mut start = 0;
        (ends.iter())
            .map(|&end| {
                let label = text[start..end as usize].to_string();
                start = end as usize;
                label
            })
            .collect()
    }

    #[test]
    fn files_on_sys_path_get_their_import_name() {
        assert_eq!(
            labels(&[
                "/usr/lib/python3.11/json/__init__.py",
                "/usr/lib/python3.11/re/__init__.py",
                "/home/u/.venv/lib/python3.12/site-packages/pip/_internal/cli/main.py",
                "/usr/lib/python3/dist-packages/yaml/reader.py",
                "C:\\Python311\\Lib\\json\\decoder.py",
                "C:\\Python311\\Lib\\site-packages\\attr\\_make.py",
                "/opt/pypy/lib/pypy3.10/os.py",
                "/usr/lib/python3.11/lib-dynload/x.py",
            ]),
            [
                "json",
                "re",
                "pip._internal.cli.main",
                "yaml.reader",
                "json.decoder",
                "attr._make",
                "os",
                "lib-dynload/x.py",
            ]
        );
    }

    #[test]
    fn pseudo_files_stay_and_other_files_are_told_apart_by_their_tails() {
        assert_eq!(
            labels(&[
                "<frozen importlib._bootstrap>",
                "<string>",
                "/home/me/app/small.py",
                "/home/me/app/a/util.py",
                "/home/me/app/b/util.py",
                "util.py",
                "/x/a/util.py",
                "/srv/app/cli/",
                "/p/q/r/s/t.py",
                "/z/q/r/s/t.py",
            ]),
            [
                "<frozen importlib._bootstrap>",
                "<string>",
                "small.py",
                "app/a/util.py",
                "b/util.py",
                "util.py",
                "x/a/util.py",
                "cli/",
                // Past the trailing paths measured up front.
                "p/q/r/s/t.py",
                "z/q/r/s/t.py",
            ]
        );
    }

    #[test]
    fn a_profile_labels_each_function_by_its_file_and_builtins_by_nothing() {
        use crate::model::{ProfileBuilder, Stats};
        let mut b = ProfileBuilder::new();
        for key in [
            FuncKey::new("/usr/lib/python3.11/json/__init__.py", 52, "format"),
            FuncKey::new("/usr/lib/python3.11/json/__init__.py", 299, "loads"),
            FuncKey::new("/usr/lib/python3.11/re/__init__.py", 225, "compile"),
            FuncKey::new("~", 0, "<built-in method builtins.exec>"),
        ] {
            b.add_function(key, Stats::default());
        }
        let p = b.finish();
        let shown: Vec<String> = (0..p.functions().len() as FuncId)
            .map(|id| p.label(id))
            .collect();
        assert_eq!(
            shown,
            [
                "format (json:52)",
                "loads (json:299)",
                "compile (re:225)",
                "{built-in method builtins.exec}",
            ]
        );
        assert_eq!(p.module_labels().module(3), "");
    }
}
