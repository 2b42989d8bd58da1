//! The command line's arguments: the clap definitions of the main command and its
//! subcommands, and their validation into [`Options`], free of clap types. Reads
//! nothing and writes nothing (the terminal's width and colour aside).

use std::ffi::OsString;
use std::io::{self, IsTerminal};
use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args as ClapArgs, CommandFactory, Parser, Subcommand};

use super::report::AppError;
use crate::backend::{self, Backend, FormatOptions, Graphs, RenderOptions};
use crate::input;
use crate::pipeline::display_name;
use crate::tree::TreeOptions;

/// Turn Python profile stats (python -m cProfile -o x.prof ...) into flame graphs.
///
/// Reads one or more stats files, or standard input when none is given (or `-`),
/// merges them as pstats.Stats.add does, and writes the format chosen by --format
/// to standard output or to --out.
#[derive(Parser, Debug)]
#[command(name = "flameprof", version, about, long_about)]
pub struct Args {
    /// Stats files to read (`-` or nothing: standard input). Several are merged. A
    /// directory is every profile under it; a quoted pattern ('profiles/*.prof') is
    /// expanded by flameprof, past the shell's argument limit. Files found there that
    /// hold no profile are skipped with a warning.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output format (see --list-formats) [default: the one -o's extension names, else
    /// svg].
    #[arg(short = 'f', long, value_parser = format_names())]
    pub format: Option<String>,

    /// Write to FILE (atomically: a failed run leaves any existing FILE untouched).
    /// Without -f, FILE's extension picks the format: .svg, .json, .speedscope.json,
    /// .pb.gz or .pprof (pprof), .txt (text), .folded, .collapsed or .log (log). Without
    /// -o, an SVG is never written to a terminal but to a file named after the input
    /// (app.prof: app.svg).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// List the output formats and exit.
    #[arg(long)]
    pub list_formats: bool,

    /// Sampled profiles and collapsed stacks: keep one frame per line executed, as the
    /// input keys them, instead of one per function.
    #[arg(long)]
    pub keep_lines: bool,

    /// Draw the stats' stacks from FILE, the stacks recorded (or sampled) beside them
    /// that `flameprof run --save-stacks FILE` kept, as `flameprof run` draws them (the
    /// stats files named must be that run's, its --save-prof).
    #[arg(long, value_name = "FILE")]
    pub stacks: Option<PathBuf>,

    /// Hide frames narrower than this percentage of the total time (their time is
    /// added to the parent's self time).
    #[arg(
        long,
        default_value = "0.1",
        value_name = "PERCENT",
        allow_negative_numbers = true
    )]
    pub threshold: String,

    /// Do not draw frames deeper than this (0: no limit).
    #[arg(
        long,
        default_value = "0",
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub max_depth: String,

    /// Image width in pixels (default: fluid, the SVG fills the window).
    #[arg(long, value_name = "PX", allow_negative_numbers = true)]
    pub width: Option<String>,

    /// Height of one row of frames, in pixels.
    #[arg(
        long,
        default_value = "24",
        value_name = "PX",
        allow_negative_numbers = true
    )]
    pub row_height: String,

    /// Font size of the labels, in pixels.
    #[arg(
        long,
        default_value = "12",
        value_name = "PX",
        allow_negative_numbers = true
    )]
    pub font_size: String,

    /// Title drawn at the top of the image.
    #[arg(long)]
    pub title: Option<String>,

    /// Second line under the title.
    #[arg(long)]
    pub subtitle: Option<String>,

    /// Draw only the flame graph (svg).
    #[arg(long, conflicts_with = "inverted_only")]
    pub flame_only: bool,

    /// Draw only the inverted (self time, callers beneath) graph (svg).
    #[arg(long)]
    pub inverted_only: bool,

    /// Leave the interactive script out of the SVG (for readable golden files).
    #[arg(long, hide = true)]
    pub no_script: bool,

    /// Multiplier from self seconds to the integer values of -f log.
    #[arg(
        long,
        default_value = "1000000",
        value_name = "X",
        allow_negative_numbers = true
    )]
    pub log_mult: String,

    /// Name frames by their module (`format (json:52)`) or their file, in -f text
    /// (default: module) and -f log (default: file, flameprof 0.4's file:line:name).
    #[arg(long, value_name = "KIND", value_parser = ["module", "file"])]
    pub labels: Option<String>,

    /// Keep only the stacks through functions whose name `file:line(function)`
    /// contains TEXT (a plain substring, case-sensitive; not a regular expression).
    #[arg(long, value_name = "TEXT")]
    pub focus: Option<String>,

    /// Sort key of -f stats, as pstats' sort_stats takes it (calls, cumulative,
    /// cumtime, filename, line, module, name, ncalls, nfl, pcalls, stdname, time,
    /// tottime, or an abbreviation pstats accepts, like `file` or `tot`), or `none`:
    /// the stats dict's order, as pstats prints it unsorted.
    #[arg(long, default_value = "cumulative", value_name = "KEY")]
    pub sort: String,

    /// With -f stats: print pstats' print_callers() view instead of the table.
    #[arg(long, conflicts_with = "callees")]
    pub callers: bool,

    /// With -f stats: print pstats' print_callees() view instead of the table.
    #[arg(long)]
    pub callees: bool,

    /// Drop the process and thread frames sampling profilers put at the root of each
    /// collapsed stack (py-spy --threads, austin, CPython's tid:N), merging the threads.
    #[arg(long)]
    pub no_thread_roots: bool,

    /// Running a program (0.4's -r/-m, --python, --cpu, --save-prof): see `commands`.
    #[command(flatten)]
    pub program: ProgramArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The main command's options that `flameprof run` does not take.
const NOT_FOR_SUBCOMMANDS: &[&str] = &["list_formats", "run_script", "run_module"];

/// The clap command: [`Args`], with every option made global so that `flameprof run`
/// takes all the render options, including ones added later.
pub fn command() -> clap::Command {
    Args::command()
        .mut_args(|a| {
            if a.is_positional() || NOT_FOR_SUBCOMMANDS.contains(&a.get_id().as_str()) {
                a
            } else {
                a.global(true)
            }
        })
        .override_usage(
            "flameprof [OPTIONS] [INPUT]...\n       \
             flameprof run [OPTIONS] [-m] TARGET [ARGS]...\n       \
             flameprof diff [OPTIONS] BASE NEW\n       \
             flameprof completions SHELL | flameprof man",
        )
        .disable_help_subcommand(true)
}

fn format_names() -> PossibleValuesParser {
    PossibleValuesParser::new(backend::registry().iter().map(|b| b.name))
}

/// Validated options: what the pipeline needs, free of clap types.
pub struct Options {
    pub inputs: Vec<PathBuf>,
    /// How the inputs are read (`--no-thread-roots`).
    pub read: input::ReadOptions,
    pub backend: &'static Backend,
    pub out: Option<PathBuf>,
    /// No `-o`, an SVG, and standard output a terminal: the SVG goes to a file named
    /// after the input instead (see `commands`), which is said on standard error.
    pub svg_to_terminal: bool,
    pub list_formats: bool,
    /// Keep a sampled profile's per-line keys apart (`--keep-lines`).
    pub keep_lines: bool,
    /// Stacks sampled beside the stats, to draw them from (`--stacks`).
    pub stacks: Option<PathBuf>,
    pub render: RenderOptions,
    /// Warnings about the command line itself (`-f` against `-o`'s extension), each
    /// one line, printed before anything is read.
    pub warnings: Vec<String>,
}

impl Args {
    pub fn into_options(self) -> Result<Options, AppError> {
        let threshold = percent("--threshold", &self.threshold)?;
        let max_depth = whole::<usize>(
            "--max-depth",
            &self.max_depth,
            "a whole number (0: no limit)",
        )?;
        let width = match &self.width {
            Some(w) => Some(whole::<u32>("--width", w, PIXELS)?),
            None => None,
        };
        let row_height = whole::<u32>("--row-height", &self.row_height, PIXELS)?;
        let font_size = whole::<u32>("--font-size", &self.font_size, PIXELS)?;
        // The options of one format or another: checked by the formats that read them.
        let mut format = FormatOptions::default();
        format.set("log-mult", self.log_mult);
        format.set("sort", self.sort);
        if let Some(labels) = self.labels {
            format.set("labels", labels);
        }
        format.set(
            "view",
            if self.callers {
                "callers"
            } else if self.callees {
                "callees"
            } else {
                "table"
            },
        );
        backend::check_options(&format).map_err(AppError::Usage)?;
        let (columns, color) = terminal();
        let mut warnings = Vec::new();
        let name = chosen_format(self.format.as_deref(), self.out.as_deref(), &mut warnings)?;
        let backend = backend::find(name)
            .ok_or_else(|| AppError::Usage(format!("unknown format '{name}'")))?;
        let names: Vec<String> = if self.inputs.is_empty() {
            vec![input::STDIN_NAME.to_string()]
        } else {
            self.inputs.iter().map(|p| display_name(p)).collect()
        };
        let title = self
            .title
            .unwrap_or_else(|| format!("Flame graph of {}", names.join(", ")));
        // Compressed binary data on a screen is of no use, and may upset the terminal.
        if self.out.is_none()
            && !self.list_formats
            && backend.name == "pprof"
            && io::stdout().is_terminal()
        {
            return Err(AppError::Usage(
                "-f pprof writes gzipped binary data: use -o FILE (x.pb.gz) or a pipe".into(),
            ));
        }
        let svg_to_terminal = self.out.is_none()
            && !self.list_formats
            && backend.name == "svg"
            && io::stdout().is_terminal();
        Ok(Options {
            inputs: self.inputs,
            read: input::ReadOptions {
                thread_roots: !self.no_thread_roots,
            },
            backend,
            out: self.out,
            svg_to_terminal,
            list_formats: self.list_formats,
            keep_lines: self.keep_lines,
            stacks: self.stacks,
            render: RenderOptions {
                tree: TreeOptions {
                    threshold: threshold / 100.0,
                    max_depth,
                    focus: self.focus.filter(|f| !f.is_empty()),
                    ..TreeOptions::default()
                },
                width,
                row_height,
                font_size,
                title,
                subtitle: self.subtitle,
                columns,
                color,
                graphs: match (self.flame_only, self.inverted_only) {
                    (true, _) => Graphs::FlameOnly,
                    (_, true) => Graphs::InvertedOnly,
                    _ => Graphs::Both,
                },
                script: !self.no_script,
                format,
            },
            warnings,
        })
    }
}

const PIXELS: &str = "a whole number of pixels (0 to 4294967295)";

/// The usage error of an option's value: one line naming the value, the option and
/// what it takes.
fn invalid(flag: &str, text: &str, takes: &str) -> AppError {
    AppError::Usage(format!(
        "invalid value '{text}' for '{flag}': must be {takes}"
    ))
}

/// A percentage between 0 and 100. Numeric options are taken as text, negative numbers
/// included, so that a value out of range gets this message rather than clap's
/// suggestion to pass `-1` after `--` (which would make it an INPUT).
pub(crate) fn percent(flag: &str, text: &str) -> Result<f64, AppError> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=100.0).contains(&x) => Ok(x),
        _ => Err(invalid(flag, text, "a percentage between 0 and 100")),
    }
}

pub(crate) fn whole<T: std::str::FromStr>(
    flag: &str,
    text: &str,
    takes: &str,
) -> Result<T, AppError> {
    text.parse::<T>().map_err(|_| invalid(flag, text, takes))
}

/// The formats `-o FILE`'s extension names (compared in lowercase) when `-f` is not
/// given. Not the backends' own `extension`: `.txt` is the usual name of both text
/// and stats output, and folded stacks go by three names. (`.speedscope.json` and
/// `.pb.gz`, two parts, are matched on the whole file name in `chosen_format`.)
pub(crate) const FORMAT_OF_EXTENSION: &[(&str, &str)] = &[
    ("svg", "svg"),
    ("json", "json"),
    ("txt", "text"),
    ("folded", "log"),
    ("collapsed", "log"),
    ("log", "log"),
    ("pprof", "pprof"),
];

/// Extensions of profile stats files, which no output format writes: `-o x.prof`
/// without `-f` is more likely a mix-up with `--save-prof` than a wish for an SVG
/// under that name.
const STATS_EXTENSIONS: &[&str] = &["prof", "pstats", "pstat", "cprof"];

/// The format to write: `-f` if given (with a warning when `-o`'s extension names
/// another), else the one `-o`'s extension names, else svg.
fn chosen_format<'a>(
    given: Option<&'a str>,
    out: Option<&std::path::Path>,
    warnings: &mut Vec<String>,
) -> Result<&'a str, AppError> {
    let ext = out
        .and_then(|p| p.extension())
        .map(|e| e.to_string_lossy().to_lowercase());
    // `x.speedscope.json` is speedscope's own naming, and a one-part extension
    // cannot tell it from `-f json`'s.
    let speedscope = out.and_then(|p| p.file_name()).is_some_and(|n| {
        n.to_string_lossy()
            .to_lowercase()
            .ends_with(".speedscope.json")
    });
    // Likewise `x.pb.gz`, pprof's own naming (`go tool pprof` saves `pprof.*.pb.gz`).
    let pprof = out
        .and_then(|p| p.file_name())
        .is_some_and(|n| n.to_string_lossy().to_lowercase().ends_with(".pb.gz"));
    let named = ext.as_deref().and_then(|e| {
        if speedscope {
            return Some("speedscope");
        }
        if pprof {
            return Some("pprof");
        }
        FORMAT_OF_EXTENSION
            .iter()
            .find(|(x, _)| *x == e)
            .map(|&(_, f)| f)
    });
    let stats_file = ext
        .as_deref()
        .is_some_and(|e| STATS_EXTENSIONS.contains(&e));
    let shown = || out.map(|p| p.display().to_string()).unwrap_or_default();
    match given {
        Some(f) => {
            // `.txt` says plain text, which every format but svg and pprof writes: only the
            // default it picks (text) is particular to it.
            // Likewise `.json` says JSON, which json and speedscope both write.
            let agrees = |n: &str| {
                n == f
                    || (ext.as_deref() == Some("txt") && !["svg", "pprof"].contains(&f))
                    || (ext.as_deref() == Some("json") && ["json", "speedscope"].contains(&f))
            };
            if let Some(n) = named.filter(|&n| !agrees(n)) {
                warnings.push(format!(
                    "-o {}: the extension is for -f {n}, but -f {f} was given; writing {f}",
                    shown()
                ));
            } else if stats_file {
                warnings.push(format!(
                    "-o {}: the extension is for profile stats files; writing {f}",
                    shown()
                ));
            }
            Ok(f)
        }
        None if stats_file => Err(AppError::Usage(format!(
            "-o {} would hold an SVG, not profile stats: name the format (-f svg, -f stats, \
             ...), or keep the stats of flameprof run with --save-prof",
            shown()
        ))),
        None => Ok(named.unwrap_or("svg")),
    }
}

/// The width and colour of text output: `COLUMNS` if set, else the terminal's width
/// when stdout is a terminal, else 100; colour when stdout is a terminal and
/// `NO_COLOR` is unset or empty (<https://no-color.org>).
pub(crate) fn terminal() -> (usize, bool) {
    let tty = io::stdout().is_terminal();
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    let columns = from_env
        .or_else(|| {
            if tty {
                terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))
            } else {
                None
            }
        })
        .unwrap_or(100);
    let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    (columns, color)
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Profile a Python script (or -m module) and render the profile
    ///
    /// Runs `PYTHON TARGET ARGS...` (or `PYTHON -m TARGET ARGS...`) under cProfile, with
    /// its standard input, output and error passed through, then renders the stats with
    /// the usual options. Everything after TARGET goes to the program.
    ///
    /// Without -o the rendering is written to standard output after the program has
    /// ended, following whatever the program printed there: use -o FILE to keep them
    /// apart. An SVG for a terminal goes to SCRIPT.svg (or MODULE.svg) instead.
    ///
    /// flameprof exits with the program's status (128+N if it was killed by signal N);
    /// the profile is rendered even when the program fails or is stopped with Ctrl-C.
    /// SIGTERM and SIGHUP are passed on to the program, after which flameprof ends
    /// without rendering.
    #[command(override_usage = "flameprof run [OPTIONS] [-m] TARGET [ARGS]...")]
    Run(RunArgs),
    /// Compare two profiles: did NEW get faster or slower than BASE, and where?
    ///
    /// Reads BASE and NEW (each may be `-`, standard input, on one side), matches their
    /// functions by file, line and name and their flame graphs' frames by stack, and
    /// writes the functions and stacks whose time changed most (-f text, the default),
    /// differential folded stacks for flamegraph.pl or inferno-flamegraph (-f log), or
    /// both sides' numbers (-f json). A frame is kept when it is wider than --threshold
    /// on either side. Profiles of calls and of samples are not compared.
    ///
    /// With --fail-above PERCENT, the exit status is 3 when NEW's total time exceeds
    /// BASE's by more than PERCENT (the output is written all the same).
    #[command(override_usage = "flameprof diff [OPTIONS] BASE NEW")]
    Diff(DiffArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. flameprof man > flameprof.1
    ///
    /// With PAGE, the page of that subcommand: flameprof man run prints flameprof-run(1),
    /// the page flameprof(1) refers to.
    Man {
        /// The subcommand whose page to print.
        #[arg(value_name = "PAGE", value_parser = MAN_PAGES)]
        page: Option<String>,
    },
}

/// The subcommands with a page of their own, `flameprof-NAME(1)`, which the main page
/// lists.
pub const MAN_PAGES: [&str; 4] = ["run", "diff", "completions", "man"];

/// The arguments of `flameprof diff`.
#[derive(ClapArgs, Debug)]
pub struct DiffArgs {
    /// The profile before the change (`-`: standard input).
    #[arg(value_name = "BASE")]
    pub base: PathBuf,

    /// The profile after the change (`-`: standard input, if BASE is not).
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    /// Another stats file merged into BASE (repeatable), as several inputs are merged.
    #[arg(long, value_name = "FILE")]
    pub base_also: Vec<PathBuf>,

    /// Another stats file merged into NEW (repeatable).
    #[arg(long, value_name = "FILE")]
    pub new_also: Vec<PathBuf>,

    /// Compare each side's share of its own total instead of its time (in -f log,
    /// NEW's values are scaled to BASE's total). -f json is not changed.
    #[arg(long)]
    pub normalize: bool,

    /// Exit with status 3 when NEW's total time exceeds BASE's by more than PERCENT
    /// (the raw totals, with or without --normalize).
    #[arg(long, value_name = "PERCENT", allow_negative_numbers = true)]
    pub fail_above: Option<String>,

    /// Rows of each table of -f text.
    #[arg(long, default_value = "30", value_name = "N")]
    pub top: String,
}

/// The arguments of `flameprof run`.
#[derive(ClapArgs, Debug)]
pub struct RunArgs {
    /// Run TARGET as a module, like python -m (e.g. flameprof run -m pytest tests/).
    #[arg(short = 'm', long = "module")]
    pub module: bool,

    /// The script (or module with -m), then its arguments. Options after TARGET are the
    /// program's.
    #[arg(value_name = "TARGET", required = true, num_args = 1.., trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

/// Options for running a program, on the main command (with 0.4's `-r`/`-m`) and,
/// being global, on `flameprof run`.
#[derive(ClapArgs, Debug, Default)]
pub struct ProgramArgs {
    /// flameprof 0.4: run the first INPUT as a Python script, the other INPUTs being its
    /// arguments (use `--` before arguments that start with `-`). Same as flameprof run.
    #[arg(short = 'r', long = "run", conflicts_with = "run_module")]
    pub run_script: bool,

    /// flameprof 0.4: run the first INPUT as a Python module (python -m), the other
    /// INPUTs being its arguments. Same as flameprof run -m.
    #[arg(short = 'm', long = "run-module")]
    pub run_module: bool,

    /// With run, -r or -m: the Python interpreter [default: the python3 or python beside
    /// the flameprof binary (the environment pip installed it into), else
    /// $VIRTUAL_ENV/bin/python if a virtual environment is active, else python3].
    #[arg(long, value_name = "PATH", global = true)]
    pub python: Option<OsString>,

    /// With run, -r or -m: measure process CPU time (time.process_time) instead of
    /// wall-clock time, so time spent waiting (I/O, sleep) does not count.
    #[arg(long, global = true)]
    pub cpu: bool,

    /// With run, -r or -m: also keep the profile stats in FILE (a cProfile file that
    /// flameprof, pstats or snakeviz can read later).
    #[arg(long, value_name = "FILE", visible_alias = "pstat", global = true)]
    pub save_prof: Option<PathBuf>,

    /// With run, -r or -m: also keep the program's stacks, recorded beside cProfile,
    /// in FILE (its call paths; folded stacks where they were sampled), which --stacks
    /// FILE draws again with the --save-prof file.
    #[arg(long, value_name = "FILE", global = true)]
    pub save_stacks: Option<PathBuf>,

    /// With run, -r or -m: do not record the program's stacks; draw from cProfile's
    /// stats alone, the stacks estimated as for any stats file.
    #[arg(
        long,
        global = true,
        conflicts_with = "save_stacks",
        alias = "no-samples"
    )]
    pub no_stacks: bool,
}

impl ProgramArgs {
    pub fn any(&self) -> bool {
        self.run_script
            || self.run_module
            || self.python.is_some()
            || self.cpu
            || self.save_prof.is_some()
            || self.save_stacks.is_some()
            || self.no_stacks
    }
}
