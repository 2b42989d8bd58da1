//! The command line: clap arguments, validated into options, then the pipeline
//! (read every input, merge, render with the chosen backend into the sink, on a large
//! profile with the checks and the inverted tree on a second thread). Owns exit codes
//! and the one place errors and warnings are printed.

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::builder::PossibleValuesParser;
use clap::{CommandFactory, FromArgMatches, Parser};

use crate::backend::stats::{SortKey, StatsView};
use crate::backend::{self, Backend, Graphs, Job, RenderOptions};
use crate::input::{self, InputError};
use crate::model::Profile;
use crate::output_file;
use crate::printable;
use crate::tree::TreeOptions;

/// Turn Python profile stats (python -m cProfile -o x.prof ...) into flame graphs.
///
/// Reads one or more stats files, or standard input when none is given (or `-`),
/// merges them as pstats.Stats.add does, and writes the format chosen by --format
/// to standard output or to --out.
#[derive(Parser, Debug)]
#[command(name = "flameprof", version, about, long_about)]
pub struct Args {
    /// Stats files to read (`-` or nothing: standard input). Several are merged.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output format (see --list-formats).
    #[arg(short = 'f', long, default_value = "svg", value_parser = format_names())]
    pub format: String,

    /// Write to FILE (atomically: a failed run leaves any existing FILE untouched).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// List the output formats and exit.
    #[arg(long)]
    pub list_formats: bool,

    /// Hide frames narrower than this percentage of the total time (their time is
    /// added to the parent's self time).
    #[arg(long, default_value_t = 0.1, value_name = "PERCENT")]
    pub threshold: f64,

    /// Do not draw frames deeper than this (0: no limit).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_depth: usize,

    /// Image width in pixels (default: fluid, the SVG fills the window).
    #[arg(long, value_name = "PX")]
    pub width: Option<u32>,

    /// Height of one row of frames, in pixels.
    #[arg(long, default_value_t = 24, value_name = "PX")]
    pub row_height: u32,

    /// Font size of the labels, in pixels.
    #[arg(long, default_value_t = 12, value_name = "PX")]
    pub font_size: u32,

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
    #[arg(long, default_value_t = 1_000_000.0, value_name = "X")]
    pub log_mult: f64,

    /// Keep only the stacks through functions whose name `file:line(function)`
    /// contains TEXT (a plain substring, case-sensitive; not a regular expression).
    #[arg(long, value_name = "TEXT")]
    pub focus: Option<String>,

    /// Sort key of -f stats, as pstats' sort_stats takes it (calls, cumulative,
    /// cumtime, filename, line, module, name, ncalls, nfl, pcalls, stdname, time,
    /// tottime, or an abbreviation pstats accepts, like `file` or `tot`).
    #[arg(long, default_value = "cumulative", value_name = "KEY")]
    pub sort: String,

    /// With -f stats: print pstats' print_callers() view instead of the table.
    #[arg(long, conflicts_with = "callees")]
    pub callers: bool,

    /// With -f stats: print pstats' print_callees() view instead of the table.
    #[arg(long)]
    pub callees: bool,

    /// Running a program (0.4's -r/-m, --python, --cpu, --save-prof): see `commands`.
    #[command(flatten)]
    pub program: crate::commands::ProgramArgs,

    #[command(subcommand)]
    pub command: Option<crate::commands::Command>,
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
    pub backend: &'static Backend,
    pub out: Option<PathBuf>,
    pub list_formats: bool,
    pub render: RenderOptions,
}

impl Args {
    pub fn into_options(self) -> Result<Options, AppError> {
        if !(self.threshold.is_finite() && (0.0..=100.0).contains(&self.threshold)) {
            return Err(AppError::Usage(format!(
                "--threshold must be a percentage between 0 and 100, not {}",
                self.threshold
            )));
        }
        if !(self.log_mult.is_finite() && self.log_mult > 0.0) {
            return Err(AppError::Usage(format!(
                "--log-mult must be a positive number, not {}",
                self.log_mult
            )));
        }
        let sort = SortKey::parse(&self.sort).ok_or_else(|| {
            AppError::Usage(format!(
                "--sort: unknown key '{}' (one of: {})",
                self.sort,
                SortKey::words().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let stats_view = if self.callers {
            StatsView::Callers
        } else if self.callees {
            StatsView::Callees
        } else {
            StatsView::Table
        };
        let (columns, color) = terminal();
        let backend = backend::find(&self.format)
            .ok_or_else(|| AppError::Usage(format!("unknown format '{}'", self.format)))?;
        let names: Vec<String> = if self.inputs.is_empty() {
            vec![input::STDIN_NAME.to_string()]
        } else {
            self.inputs.iter().map(|p| display_name(p)).collect()
        };
        let title = self
            .title
            .unwrap_or_else(|| format!("Flame graph of {}", names.join(", ")));
        Ok(Options {
            inputs: self.inputs,
            backend,
            out: self.out,
            list_formats: self.list_formats,
            render: RenderOptions {
                tree: TreeOptions {
                    threshold: self.threshold / 100.0,
                    max_depth: self.max_depth,
                    focus: self.focus.filter(|f| !f.is_empty()),
                    ..TreeOptions::default()
                },
                width: self.width,
                row_height: self.row_height,
                font_size: self.font_size,
                title,
                subtitle: self.subtitle,
                log_mult: self.log_mult,
                columns,
                color,
                sort,
                stats_view,
                graphs: match (self.flame_only, self.inverted_only) {
                    (true, _) => Graphs::FlameOnly,
                    (_, true) => Graphs::InvertedOnly,
                    _ => Graphs::Both,
                },
                script: !self.no_script,
            },
        })
    }
}

/// The width and colour of text output: `COLUMNS` if set, else the terminal's width
/// when stdout is a terminal, else 100; colour when stdout is a terminal and
/// `NO_COLOR` is unset or empty (https://no-color.org).
fn terminal() -> (usize, bool) {
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

fn display_name(p: &Path) -> String {
    if p.as_os_str() == "-" {
        input::STDIN_NAME.to_string()
    } else {
        p.display().to_string()
    }
}

/// Everything that ends a run with exit code 1 (or 2 for usage).
#[derive(Debug)]
pub enum AppError {
    Input(InputError),
    Write {
        target: String,
        error: io::Error,
    },
    Usage(String),
    /// Running a program failed, or it wrote no profile: exit with `code`.
    Program {
        code: u8,
        message: String,
    },
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Input(e) => e.fmt(f),
            AppError::Write { target, error } => write!(f, "cannot write '{target}': {error}"),
            AppError::Usage(m) => f.write_str(m),
            AppError::Program { message, .. } => f.write_str(message),
        }
    }
}

impl From<InputError> for AppError {
    fn from(e: InputError) -> AppError {
        AppError::Input(e)
    }
}

/// Entry point of the binary: parses, runs, prints the error if any.
pub fn main() -> ExitCode {
    let args = Args::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit());
    let result = if crate::commands::handles(&args) {
        crate::commands::run(args)
    } else {
        args.into_options().and_then(|o| run(&o))
    };
    let code = match result {
        Ok(code) => code,
        Err(AppError::Write { error, .. }) if error.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            report("", &e.to_string());
            ExitCode::from(match e {
                AppError::Usage(_) => 2,
                AppError::Program { code, .. } => code,
                _ => 1,
            })
        }
    };
    if code == ExitCode::SUCCESS && UNREPORTED.load(Ordering::Relaxed) {
        ExitCode::FAILURE
    } else {
        code
    }
}

/// Set when a warning or error could not be written to standard error: a run that
/// otherwise succeeded then exits 1, so that the loss is not silent.
static UNREPORTED: AtomicBool = AtomicBool::new(false);

pub fn warn(message: &str) {
    report("warning: ", message);
}

/// Writes `flameprof: {kind}{message}` as one line on standard error, with control
/// characters escaped (messages carry function and file names from the user's data).
/// Never panics: a closed pipe is ignored as it is on standard output, any other
/// failure sets [`UNREPORTED`].
fn report(kind: &str, message: &str) {
    let mut line = String::with_capacity(12 + kind.len() + message.len());
    line.push_str("flameprof: ");
    line.push_str(kind);
    printable::push_escaped(&mut line, message);
    line.push('\n');
    match io::stderr().lock().write_all(line.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            UNREPORTED.store(true, Ordering::Relaxed)
        }
        _ => {}
    }
}

/// Reads every input and merges them.
pub fn load_inputs(inputs: &[PathBuf]) -> Result<Profile, AppError> {
    let stdin_only = [PathBuf::from("-")];
    let inputs = if inputs.is_empty() {
        &stdin_only[..]
    } else {
        inputs
    };
    let mut profiles = Vec::with_capacity(inputs.len());
    for path in inputs {
        let (name, data) = input::read_bytes(Some(path))?;
        let loaded = input::load(&name, data)?;
        for w in &loaded.warnings {
            warn(&format!("{name}: {w}"));
        }
        profiles.push(loaded.profile);
    }
    Ok(Profile::merge(profiles))
}

pub fn run(options: &Options) -> Result<ExitCode, AppError> {
    if options.list_formats {
        return write_output(None, list_formats).map(|_| ExitCode::SUCCESS);
    }
    let profile = load_inputs(&options.inputs)?;
    render(options, &profile)?;
    Ok(ExitCode::SUCCESS)
}

/// From this many edges on, the checks and the inverted tree go to a second core. On a
/// small profile they take about as long as an idle core of a VM takes to wake (0.1 to
/// 0.7 ms, sometimes more); measured on the 2-core test machine, side by side with one
/// core, a second thread saved nothing at 100,000 edges, 3 % at 300,000 and 2-7 % at
/// 1,000,000 (README, Performance).
pub const SECOND_CORE_FROM_EDGES: usize = 200_000;

/// Renders `profile` with the chosen backend into the sink, then warns about odd data
/// (the checks) and cut trees.
pub fn render(options: &Options, profile: &Profile) -> Result<(), AppError> {
    let second_core = profile.edges().len() >= SECOND_CORE_FROM_EDGES;
    render_on(options, profile, second_core, &mut |w| warn(w))
}

/// [`render`], on one core or two, with the warnings going to `warn`.
///
/// With `second_core`, a second thread runs the checks, then builds the inverted tree
/// when the backend reads both trees, while this thread builds the flame tree and
/// renders. The trees are the same whichever thread builds them, and the warnings come
/// in the same order either way, once both threads are done. Without a thread to be
/// had, the work runs here.
fn render_on(
    options: &Options,
    profile: &Profile,
    second_core: bool,
    warn: &mut dyn FnMut(&str),
) -> Result<(), AppError> {
    if profile.listed_count() == 0 {
        warn("the profile holds no functions; the output is empty");
    }
    let job = Job::new(profile, &options.render);
    let trees = (options.backend.trees)(&options.render);
    let ahead = || {
        let warnings = input::checks::check(profile);
        if trees.flame && trees.inverted {
            job.inverted();
        }
        warnings
    };
    let render = |w: &mut dyn Write| (options.backend.render)(&job, w);
    let (warnings, written) = std::thread::scope(|scope| {
        let helper = second_core
            .then(|| std::thread::Builder::new().spawn_scoped(scope, ahead).ok())
            .flatten();
        match helper {
            Some(handle) => {
                let written = write_output(options.out.as_deref(), render);
                let warnings = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (warnings, written)
            }
            None => (ahead(), write_output(options.out.as_deref(), render)),
        }
    });
    for w in warnings {
        warn(&w.message);
    }
    written?;
    for w in job.warnings() {
        warn(&w);
    }
    for (name, tree) in job.built_trees() {
        if tree.truncated {
            warn(&format!(
                "{name}: stopped at {} frames (the bound for a profile this size); {} frames were not \
                 expanded further; raise --threshold for a complete picture",
                tree.len(),
                tree.unexpanded
            ));
        }
    }
    Ok(())
}

fn list_formats(out: &mut dyn Write) -> io::Result<()> {
    for b in backend::registry() {
        writeln!(out, "{:<8} {}", b.name, b.about)?;
    }
    Ok(())
}

/// Runs `render` into standard output, or into the file at `path` (see [`output_file`]:
/// atomically, through a temporary renamed over it only when everything was written).
pub fn write_output(
    path: Option<&Path>,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), AppError> {
    match path {
        None => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
            render(&mut out)
                .and_then(|_| out.flush())
                .map_err(|error| AppError::Write {
                    target: "<stdout>".into(),
                    error,
                })
        }
        Some(path) => output_file::write_file(path, render).map_err(|error| AppError::Write {
            target: path.display().to_string(),
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(args: &[&str]) -> Options {
        let matches = command().try_get_matches_from(args).unwrap();
        let args = Args::from_arg_matches(&matches).unwrap();
        args.into_options().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The second core changes when work is done, never what is written: every format
    /// gives the same bytes and the same warnings, in the same order, on one core or two.
    #[test]
    fn one_core_or_two_give_the_same_output_and_warnings() {
        let dir = tempfile::tempdir().unwrap();
        for fixture in [
            "synth_zero_negative_inconsistent.prof",
            "real_yappi_threads_wall_builtins.prof",
            "../real/pip_list.prof",
        ] {
            let data = std::fs::read(format!("tests/data/pstats/{fixture}")).unwrap();
            let profile = input::load(fixture, data.into()).unwrap().profile;
            for backend in backend::registry() {
                let mut seen = Vec::new();
                for second_core in [false, true] {
                    let out = dir.path().join(format!("{}-{second_core}", backend.name));
                    let out = out.to_str().unwrap();
                    let options = options(&["flameprof", "-f", backend.name, "-o", out]);
                    let mut warnings = Vec::new();
                    render_on(&options, &profile, second_core, &mut |w| {
                        warnings.push(w.to_string())
                    })
                    .unwrap();
                    seen.push((std::fs::read(out).unwrap(), warnings));
                }
                assert!(!seen[0].0.is_empty(), "{fixture} -f {}", backend.name);
                assert!(
                    seen[0] == seen[1],
                    "{fixture} -f {}: one core gave {:?}, two gave {:?}",
                    backend.name,
                    seen[0].1,
                    seen[1].1
                );
            }
        }
    }
}
