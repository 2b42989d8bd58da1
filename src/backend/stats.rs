//! `-f stats`: the table `python -m pstats` prints, byte for byte.
//!
//! `pstats.Stats(file).sort_stats(KEY).print_stats()` (or `print_callers()` /
//! `print_callees()` with `--callers` / `--callees`), minus the lines that name the
//! input file and its modification time (the `ctime    path` line and the blank line
//! after it): they depend on the machine, not on the profile. Everything else is
//! reproduced: the totals line, `Ordered by:`, the column layout, `%8.3f` numbers,
//! `nc/cc` for recursive functions, blank percall cells when a count is zero.
//!
//! Order: pstats sorts the stats dict's items with a stable sort, so ties keep the
//! dict's order (the order the profiler met the functions), and without a sort
//! (`--sort none`) it prints the dict as it is; the model keeps that order
//! ([`Profile::listing_order`]) for this. The callers or callees under a row are
//! sorted by key, as pstats sorts them. NaN times compare below every number (pstats'
//! comparisons are inconsistent on NaN, so its order then depends on its sort
//! algorithm). Specified in `formats/stats/README.md`.

use std::cmp::Ordering;
use std::io::{self, Write};

use super::output::Output;
use super::{Backend, FormatOption, Job, StringTable, Trees};
use crate::model::{EdgeStats, FuncId, Function, Profile};
use crate::printable;

inventory::submit! {
    Backend {
        name: "stats",
        about: "the table python -m pstats prints (--sort, --callers, --callees)",
        extension: "txt",
        render,
        trees: |_| Trees::NONE,
        options: &[
            FormatOption {
                name: "sort",
                check: |v| sort_key(v).map(drop),
            },
            FormatOption {
                name: "view",
                check: |v| view(v).map(drop),
            },
        ],
    }
}

/// The `sort` option: a `sort_stats` key (default `cumulative`), or `none`.
fn sort_key(word: &str) -> Result<SortKey, String> {
    SortKey::parse(word).ok_or_else(|| {
        format!(
            "--sort: unknown key '{word}' (one of: {})",
            SortKey::words().collect::<Vec<_>>().join(", ")
        )
    })
}

/// The `view` option: which report, `table` (the default), `callers` or `callees`.
fn view(word: &str) -> Result<StatsView, String> {
    match word {
        "table" => Ok(StatsView::Table),
        "callers" => Ok(StatsView::Callers),
        "callees" => Ok(StatsView::Callees),
        _ => Err(format!(
            "view: unknown report '{word}' (one of: table, callers, callees)"
        )),
    }
}

/// One column pstats can sort on, with its direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    /// Primitive calls, descending.
    Cc,
    /// Total calls, descending.
    Nc,
    /// Own time, descending.
    Tt,
    /// Cumulative time, descending.
    Ct,
    /// File name, ascending.
    File,
    /// Line number, ascending.
    Line,
    /// Function name, ascending.
    Name,
    /// `func_std_string`, ascending.
    StdName,
}

/// A `sort_stats` key: pstats' `sort_arg_dict_default`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// The canonical word (`cumulative`, `tottime`...).
    pub word: &'static str,
    fields: &'static [Field],
    /// What `Ordered by:` says.
    description: &'static str,
}

/// In the order of pstats 3.11's `sort_arg_dict_default`: the order matters for the
/// abbreviations (see [`SortKey::parse`]).
const SORT_KEYS: &[SortKey] = &[
    SortKey {
        word: "calls",
        fields: &[Field::Nc],
        description: "call count",
    },
    SortKey {
        word: "ncalls",
        fields: &[Field::Nc],
        description: "call count",
    },
    SortKey {
        word: "cumtime",
        fields: &[Field::Ct],
        description: "cumulative time",
    },
    SortKey {
        word: "cumulative",
        fields: &[Field::Ct],
        description: "cumulative time",
    },
    SortKey {
        word: "filename",
        fields: &[Field::File],
        description: "file name",
    },
    SortKey {
        word: "line",
        fields: &[Field::Line],
        description: "line number",
    },
    SortKey {
        word: "module",
        fields: &[Field::File],
        description: "file name",
    },
    SortKey {
        word: "name",
        fields: &[Field::Name],
        description: "function name",
    },
    SortKey {
        word: "nfl",
        fields: &[Field::Name, Field::File, Field::Line],
        description: "name/file/line",
    },
    SortKey {
        word: "pcalls",
        fields: &[Field::Cc],
        description: "primitive call count",
    },
    SortKey {
        word: "stdname",
        fields: &[Field::StdName],
        description: "standard name",
    },
    SortKey {
        word: "time",
        fields: &[Field::Tt],
        description: "internal time",
    },
    SortKey {
        word: "tottime",
        fields: &[Field::Tt],
        description: "internal time",
    },
];

/// No sort: `sort_stats()` without a key, the stats dict's order.
const UNSORTED: SortKey = SortKey {
    word: "none",
    fields: &[],
    description: "",
};

impl SortKey {
    /// The key for `word`: `none`, a full key, or an abbreviation exactly as pstats'
    /// `get_sort_arg_defs` expands them: each word in turn claims its prefixes, longest
    /// first, until it meets a prefix already claimed; that prefix is then dropped
    /// (`cumt` → cumtime, `file` → filename, but `cum` and `c` are refused).
    pub fn parse(word: &str) -> Option<SortKey> {
        if word == UNSORTED.word {
            return Some(UNSORTED);
        }
        let mut claimed: Vec<(&str, usize)> = Vec::new();
        let mut bad: Vec<&str> = Vec::new();
        for (i, k) in SORT_KEYS.iter().enumerate() {
            let mut end = k.word.len();
            while end > 0 {
                let fragment = &k.word[..end];
                if claimed.iter().any(|(f, _)| *f == fragment) {
                    bad.push(fragment);
                    break;
                }
                claimed.push((fragment, i));
                end -= 1;
            }
        }
        if bad.contains(&word) {
            return None;
        }
        claimed
            .iter()
            .find(|(f, _)| *f == word)
            .map(|&(_, i)| SORT_KEYS[i])
    }

    /// Every full key word, and `none`, for help texts.
    pub fn words() -> impl Iterator<Item = &'static str> {
        SORT_KEYS.iter().chain([&UNSORTED]).map(|k| k.word)
    }

    /// The line `get_print_list` starts a report with.
    fn heading(&self) -> String {
        if self.fields.is_empty() {
            "   Random listing order was used".to_string()
        } else {
            format!("   Ordered by: {}", self.description)
        }
    }
}

impl Default for SortKey {
    fn default() -> SortKey {
        SORT_KEYS[3]
    }
}

/// Which pstats report to print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatsView {
    /// `print_stats()`.
    #[default]
    Table,
    /// `print_callers()`.
    Callers,
    /// `print_callees()`.
    Callees,
}

/// pstats' `f8`: `"%8.3f" % x`, with Python's spelling of NaN.
fn f8(out: &mut Output<'_>, x: f64) {
    if x.is_nan() {
        out.str("     nan");
    } else {
        out.fixed_padded(x, 3, 8);
    }
}

/// Python's `"%.3f"` without width.
fn f3(out: &mut Output<'_>, x: f64) {
    if x.is_nan() {
        out.str("nan");
    } else {
        out.fixed(x, 3);
    }
}

/// Floats compared as pstats does, except that NaN is below every number (a total
/// order, so the sort is well defined).
fn cmp_f64(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Every function's `func_std_string` (its `display`), made once, as printed (control
/// characters escaped) with its printed length as Python counts it (code points); and
/// as read, for sorting as pstats sorts.
struct Names {
    raw: StringTable,
    /// The printed names, when some name needs escaping (else the raw ones are printed).
    shown: Option<StringTable>,
    chars: Vec<usize>,
}

impl Names {
    fn of(profile: &Profile) -> Names {
        let n = profile.functions().len();
        let raw = StringTable::build(n, |id, buf| {
            profile.function(id as FuncId).key.write_display(buf);
        });
        let shown = (0..n)
            .any(|id| raw.get(id).chars().any(printable::is_unsafe))
            .then(|| StringTable::build(n, |id, buf| printable::push_escaped(buf, raw.get(id))));
        let printed = shown.as_ref().unwrap_or(&raw);
        let chars = (0..n).map(|id| printed.get(id).chars().count()).collect();
        Names { raw, shown, chars }
    }

    /// The name as printed.
    fn get(&self, id: FuncId) -> &str {
        self.shown.as_ref().unwrap_or(&self.raw).get(id as usize)
    }

    /// The name as read, for sorting.
    fn raw(&self, id: FuncId) -> &str {
        self.raw.get(id as usize)
    }
}

/// `format!("{calls}")` of a row: `nc/cc` for recursive functions, else `nc`,
/// right-aligned in `width` (Python's `str.rjust`).
fn calls(out: &mut Output<'_>, nc: i128, cc: i128, width: usize) {
    let start = out.position();
    out.i128(nc);
    if nc != cc {
        out.byte(b'/');
        out.i128(cc);
    }
    out.pad_since(start, width);
}

/// The functions of the stats dict, sorted as `sort_stats(key)` sorts them: stably,
/// from the dict's order, so that ties keep it.
fn sorted_functions(profile: &Profile, names: &Names, key: SortKey) -> Vec<FuncId> {
    let functions = profile.functions();
    let mut ids: Vec<FuncId> = profile.listing_order().to_vec();
    if key.fields.is_empty() {
        return ids;
    }
    let cmp = |a: &FuncId, b: &FuncId| {
        let (fa, fb) = (&functions[*a as usize], &functions[*b as usize]);
        for field in key.fields {
            let o = match field {
                Field::Cc => { fb.stats.cc }.cmp(&{ fa.stats.cc }),
                Field::Nc => { fb.stats.nc }.cmp(&{ fa.stats.nc }),
                Field::Tt => cmp_f64(fb.stats.tt, fa.stats.tt),
                Field::Ct => cmp_f64(fb.stats.ct, fa.stats.ct),
                Field::File => fa.key.file.cmp(&fb.key.file),
                Field::Line => fa.key.line.cmp(&fb.key.line),
                Field::Name => fa.key.name.cmp(&fb.key.name),
                Field::StdName => names.raw(*a).cmp(names.raw(*b)),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    };
    ids.sort_by(cmp);
    ids
}

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    let options = &job.options.format;
    let sort = options.get("sort").map_or(Ok(SortKey::default()), sort_key);
    let report = options.get("view").map_or(Ok(StatsView::Table), view);
    write_report(
        job.profile,
        sort.map_err(super::refused)?,
        report.map_err(super::refused)?,
        out,
    )
}

/// Writes the report for `profile`. Public for the tests and for other backends.
pub fn write_report(
    profile: &Profile,
    key: SortKey,
    view: StatsView,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut out = Output::new(out);
    write_report_into(profile, key, view, &mut out)?;
    out.finish()
}

fn write_report_into(
    profile: &Profile,
    key: SortKey,
    view: StatsView,
    out: &mut Output<'_>,
) -> io::Result<()> {
    let functions = profile.functions();
    let listed: Vec<&Function> = (profile.listing_order().iter())
        .map(|&id| profile.function(id))
        .collect();
    if view == StatsView::Table {
        write_totals(profile, &listed, out)?;
    }
    if listed.is_empty() {
        // pstats refuses an empty stats dict; print nothing more than the totals.
        return Ok(());
    }
    let names = Names::of(profile);
    let ids = sorted_functions(profile, &names, key);
    writeln!(out, "{}\n", key.heading())?;
    match view {
        StatsView::Table => {
            // CPython's `pstats.SampledStats` (the sampling profiler's) names the
            // columns for samples in its `print_title`; the rest is `Stats`'.
            writeln!(
                out,
                "{}",
                if profile.measure().is_samples() {
                    " nsamples  tottime persample cumtime persample filename:lineno(function)"
                } else {
                    "   ncalls  tottime  percall  cumtime  percall filename:lineno(function)"
                }
            )?;
            for &id in &ids {
                write_line(profile.function(id), names.get(id), out);
                out.end_record()?;
            }
        }
        StatsView::Callers | StatsView::Callees => {
            let width = (0..functions.len())
                .filter(|&id| functions[id].listed)
                .map(|id| names.chars[id])
                .max()
                .unwrap_or(0)
                + 2;
            let callers = view == StatsView::Callers;
            let title = if callers {
                "was called by..."
            } else {
                "called..."
            };
            writeln!(out, "{}{}", ljust("Function ", width), title)?;
            if timed_subheader(profile) {
                let counts = if profile.measure().is_samples() {
                    "nsamples"
                } else {
                    "ncalls"
                };
                writeln!(out, "{}    {counts}  tottime  cumtime", " ".repeat(width))?;
            }
            let mut edges = Vec::new();
            for &id in &ids {
                write_call_line(profile, &names, id, callers, width, &mut edges, out);
                out.end_record()?;
            }
        }
    }
    writeln!(out)?;
    writeln!(out)
}

/// Python's `str.ljust(width)`.
fn ljust(s: &str, width: usize) -> String {
    let n = s.chars().count();
    let mut out = String::with_capacity(s.len() + width.saturating_sub(n));
    out.push_str(s);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    out
}

/// `print_stats`' first lines (after the file line): the `jprofile` top-level names,
/// the totals (summed in dict order, as pstats sums them: a float sum depends on its
/// order), a blank line.
fn write_totals(profile: &Profile, listed: &[&Function], out: &mut Output<'_>) -> io::Result<()> {
    let (mut nc, mut cc, mut tt): (i128, i128, f64) = (0, 0, 0.0);
    for f in listed {
        nc = nc.saturating_add(f.stats.nc);
        cc = cc.saturating_add(f.stats.cc);
        tt += f.stats.tt;
    }
    // yappi's pseudo-caller of top-level functions; checked once per function.
    let jprofile: Vec<bool> = profile
        .functions()
        .iter()
        .map(|f| {
            let k = &f.key;
            k.line == 0 && k.file.as_str() == "jprofile" && k.name.as_str() == "profiler"
        })
        .collect();
    for (id, f) in profile.functions().iter().enumerate() {
        let top = profile
            .callers_of(id as FuncId)
            .iter()
            .any(|e| jprofile[e.caller as usize]);
        if top && f.listed {
            writeln!(out, "         {}", printable::escaped(f.key.name.as_str()))?;
        }
    }
    write!(out, "         {nc} function calls ")?;
    if nc != cc {
        write!(out, "({cc} primitive calls) ")?;
    }
    out.str("in ");
    f3(out, tt);
    out.str(" seconds\n\n");
    Ok(())
}

/// One row of `print_stats`.
fn write_line(f: &Function, name: &str, out: &mut Output<'_>) {
    let s = &f.stats;
    calls(out, s.nc, s.cc, 9);
    out.byte(b' ');
    f8(out, s.tt);
    out.byte(b' ');
    if s.nc == 0 {
        out.spaces(8);
    } else {
        f8(out, s.tt / s.nc as f64);
    }
    out.byte(b' ');
    f8(out, s.ct);
    out.byte(b' ');
    if s.cc == 0 {
        out.spaces(8);
    } else {
        f8(out, s.ct / s.cc as f64);
    }
    out.byte(b' ');
    out.str(name);
    out.byte(b'\n');
}

/// pstats prints the `ncalls tottime cumtime` sub-header when the first function with
/// callers, in dict order, has a timed first caller (in its callers dict's order).
fn timed_subheader(profile: &Profile) -> bool {
    let Some((callee, caller)) =
        (profile.listing_order().iter()).find_map(|&id| Some((id, profile.first_caller(id)?)))
    else {
        return false;
    };
    let callers = profile.callers_of(callee);
    callers
        .binary_search_by_key(&caller, |e| e.caller)
        .is_ok_and(|i| matches!(callers[i].stats, EdgeStats::Timed(_)))
}

/// One entry of `print_callers` / `print_callees`: the function, an arrow, and its
/// callers (or callees) sorted by key, one per line.
fn write_call_line(
    profile: &Profile,
    names: &Names,
    id: FuncId,
    callers: bool,
    width: usize,
    edges: &mut Vec<(FuncId, EdgeStats)>,
    out: &mut Output<'_>,
) {
    out.str(names.get(id));
    out.spaces(width.saturating_sub(names.chars[id as usize]));
    out.str(if callers { "<- " } else { "-> " });
    // Callers of a function, or callees among the functions of the stats dict (pstats
    // builds its callee lists from the dict's callers entries).
    edges.clear();
    if callers {
        edges.extend(profile.callers_of(id).iter().map(|e| (e.caller, e.stats)));
    } else {
        edges.extend(
            profile
                .callees_of(id)
                .filter(|e| profile.function(e.callee).listed)
                .map(|e| (e.callee, e.stats)),
        );
    }
    if edges.is_empty() {
        out.byte(b'\n');
        return;
    }
    for (i, &(other, stats)) in edges.iter().enumerate() {
        let name = names.get(other);
        let indent = i > 0;
        match stats {
            EdgeStats::Timed(s) => {
                if indent {
                    out.spaces(width + 1);
                }
                calls(out, s.nc, s.cc, if indent { 9 } else { 7 });
                out.byte(b' ');
                f8(out, s.tt);
                out.byte(b' ');
                f8(out, s.ct);
                out.str("  ");
                out.str(name);
                out.byte(b'\n');
            }
            EdgeStats::Count(n) => {
                if indent {
                    out.spaces(width + 3);
                }
                // pstats prints the cumulative time of the function on the other side
                // (a KeyError in pstats when that function is not in the dict; 0 here).
                out.str(name);
                out.byte(b'(');
                out.i128(n.get());
                out.str(") ");
                f8(out, profile.function(other).stats.ct);
                out.byte(b'\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FuncKey, ProfileBuilder, Stats};

    fn st(cc: i128, nc: i128, tt: f64, ct: f64) -> Stats {
        Stats { cc, nc, tt, ct }
    }

    fn report(p: &Profile, key: &str, view: StatsView) -> String {
        let mut out = Vec::new();
        write_report(p, SortKey::parse(key).unwrap(), view, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn sample() -> Profile {
        let mut b = ProfileBuilder::new();
        let main = FuncKey::new("a.py", 1, "main");
        let fib = FuncKey::new("a.py", 5, "fib");
        let len = FuncKey::new("~", 0, "<built-in method builtins.len>");
        b.add_function(main.clone(), st(1, 1, 0.5, 2.0));
        b.add_function(fib.clone(), st(1, 30, 1.25, 1.5));
        b.add_function(len.clone(), st(0, 0, 0.0, 0.0));
        b.add_edge(
            main.clone(),
            fib.clone(),
            EdgeStats::Timed(st(1, 1, 0.25, 1.5)),
        );
        b.add_edge(
            fib.clone(),
            fib.clone(),
            EdgeStats::Timed(st(1, 29, 1.0, 1.25)),
        );
        b.add_edge(main, len, EdgeStats::Timed(st(0, 0, 0.0, 0.0)));
        b.finish()
    }

    #[test]
    fn table_matches_pstats_layout() {
        let got = report(&sample(), "cumulative", StatsView::Table);
        let want = "         31 function calls (2 primitive calls) in 1.750 seconds\n\n   Ordered by: cumulative time\n\n   ncalls  tottime  percall  cumtime  percall filename:lineno(function)\n        1    0.500    0.500    2.000    2.000 a.py:1(main)\n     30/1    1.250    0.042    1.500    1.500 a.py:5(fib)\n        0    0.000             0.000          {built-in method builtins.len}\n\n\n";
        assert_eq!(got, want);
    }

    #[test]
    fn callers_view_indents_like_pstats() {
        let got = report(&sample(), "name", StatsView::Callers);
        assert!(got.starts_with("   Ordered by: function name\n\n"), "{got}");
        assert!(
            got.contains(
                "a.py:5(fib)                     <-       1    0.250    1.500  a.py:1(main)\n"
            ),
            "{got}"
        );
        assert!(
            got.contains(
                "                                      29/1    1.000    1.250  a.py:5(fib)\n"
            ),
            "{got}"
        );
    }

    #[test]
    fn ties_and_unsorted_reports_keep_the_dict_order() {
        let mut b = ProfileBuilder::new();
        for line in [7, 3, 5] {
            b.add_function(FuncKey::new("a.py", line, "f"), st(1, 1, 1.0, 1.0));
        }
        let p = b.finish();
        // The heading, and the names of the rows in order.
        let rows = |key| {
            let got = report(&p, key, StatsView::Table);
            let lines: Vec<&str> = got.lines().collect();
            let names = lines[5..8].iter().map(|l| l.rsplit(' ').next().unwrap());
            (
                lines[2].to_string(),
                names.map(str::to_string).collect::<Vec<_>>(),
            )
        };
        let dict = ["a.py:7(f)", "a.py:3(f)", "a.py:5(f)"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            rows("calls"),
            ("   Ordered by: call count".into(), dict.clone())
        );
        assert_eq!(
            rows("none"),
            ("   Random listing order was used".into(), dict)
        );
        assert_eq!(rows("line").1, ["a.py:3(f)", "a.py:5(f)", "a.py:7(f)"]);
    }

    #[test]
    fn sort_key_abbreviations_follow_pstats() {
        assert!(SortKey::parse("cum").is_none());
        assert_eq!(SortKey::parse("cumt").map(|k| k.word), Some("cumtime"));
        assert_eq!(SortKey::parse("cumu").map(|k| k.word), Some("cumulative"));
        assert_eq!(SortKey::parse("file").map(|k| k.word), Some("filename"));
        assert_eq!(SortKey::parse("tot").map(|k| k.word), Some("tottime"));
        assert!(SortKey::parse("c").is_none());
        assert!(SortKey::parse("bogus").is_none());
    }

    #[test]
    fn nan_and_infinite_times_do_not_panic() {
        let mut b = ProfileBuilder::new();
        b.add_function(
            FuncKey::new("a.py", 1, "f"),
            st(1, 1, f64::NAN, f64::INFINITY),
        );
        b.add_function(
            FuncKey::new("a.py", 2, "g"),
            st(1, 1, 1.0, f64::NEG_INFINITY),
        );
        let p = b.finish();
        for k in SortKey::words() {
            let got = report(&p, k, StatsView::Table);
            assert!(
                got.contains("     nan") && got.contains("    -inf"),
                "{got}"
            );
        }
    }
}
