//! What the command line carries out: the plain render (read the inputs, render them
//! into standard output or `-o FILE`, print the warnings), the subcommands (`run`,
//! `diff`, `completions`, `man`) and flameprof 0.4's `-r`/`-m` spellings of `run`.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::args::{self, Args, Command, DiffArgs, Options};
use super::report::{self, AppError, write_output};
use crate::backend;
use crate::input;
use crate::model::Profile;
use crate::pipeline;
use crate::runner::{self, Program, Target};

/// The plain render: `--list-formats`, or every input read, merged and rendered.
pub fn render_inputs(options: &Options) -> Result<ExitCode, AppError> {
    if options.list_formats {
        return write_output(None, list_formats).map(|_| ExitCode::SUCCESS);
    }
    for w in &options.warnings {
        report::warn(w);
    }
    let profile =
        pipeline::read_all_with(&options.inputs, &options.read, &mut |w| report::warn(w))?;
    let profile = pipeline::by_function(profile, options.keep_lines);
    let profile = match &options.stacks {
        Some(path) => {
            let (name, stacks) = input::read_bytes(Some(path))?;
            pipeline::guided(profile, &name, stacks, &mut |w| report::warn(w))?
        }
        None => profile,
    };
    render(options, &profile, || svg_file_for_inputs(&options.inputs))?;
    Ok(ExitCode::SUCCESS)
}

/// The file an SVG goes to instead of a terminal: next to the one input, named after
/// it with `.svg`; `flameprof.svg` in the current directory for standard input, several
/// inputs, or an input that is not a regular file (`<(cat x.prof)` is `/dev/fd/63`).
/// Never the input itself: `x.svg` gives `x.svg.svg`.
fn svg_file_for_inputs(inputs: &[PathBuf]) -> PathBuf {
    let fallback = PathBuf::from("flameprof.svg");
    let [input] = inputs else {
        return fallback;
    };
    if input.as_os_str() == "-" || !std::fs::metadata(input).is_ok_and(|m| m.is_file()) {
        return fallback;
    }
    if input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
    {
        let mut name = input.clone().into_os_string();
        name.push(".svg");
        return PathBuf::from(name);
    }
    input.with_extension("svg")
}

/// The file an SVG of `flameprof run` goes to instead of a terminal: the script's name
/// with `.svg` (`tools/app.py`: `app.svg`), or the module's (`pytest.svg`), in the
/// current directory, where the program ran.
fn svg_file_for_program(target: &Target) -> PathBuf {
    let stem = match target {
        Target::Script(s) => Path::new(s).file_stem().map(OsString::from),
        Target::Module(m) => Some(m.clone()),
    };
    match stem {
        Some(mut s) if !s.is_empty() && Path::new(&s).components().nth(1).is_none() => {
            s.push(".svg");
            PathBuf::from(s)
        }
        _ => PathBuf::from("flameprof.svg"),
    }
}

fn list_formats(out: &mut dyn Write) -> io::Result<()> {
    for b in backend::registry() {
        writeln!(out, "{:<8} {}", b.name, b.about)?;
    }
    Ok(())
}

/// Renders `profile` with the chosen backend into the sink, then prints the warnings.
/// An SVG meant for a terminal goes to the file `svg_file` names, and a line on
/// standard error says so: hundreds of kilobytes of markup are of no use on a screen.
fn render(
    options: &Options,
    profile: &Profile,
    svg_file: impl FnOnce() -> PathBuf,
) -> Result<(), AppError> {
    let instead = options.svg_to_terminal.then(svg_file);
    let out = options.out.as_deref().or(instead.as_deref());
    pipeline::render_with(
        profile,
        options.backend,
        &options.render,
        |render| write_output(out, render),
        &mut |w| report::warn(w),
    )?;
    if let Some(path) = &instead {
        report::note(&format!(
            "wrote {} (standard output is a terminal; use -o FILE or a pipe)",
            path.display()
        ));
    }
    Ok(())
}

/// Whether `args` asks for something [`run`] carries out rather than the plain render.
pub fn handles(args: &Args) -> bool {
    args.command.is_some() || args.program.any()
}

/// Carries out a subcommand or a 0.4 `-r`/`-m` run.
pub fn run(mut args: Args) -> Result<ExitCode, AppError> {
    match args.command.take() {
        Some(Command::Completions { shell }) => {
            no_inputs(&args, "completions")?;
            let out = args.out.clone();
            write_output(out.as_deref(), |w| {
                clap_complete::generate(shell, &mut args::command(), "flameprof", w);
                Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man { page }) => {
            no_inputs(&args, "man")?;
            let out = args.out.clone();
            write_output(out.as_deref(), |w| man_page(page.as_deref(), w))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Diff(diff)) => {
            no_inputs(&args, "diff")?;
            if args.program.any() {
                return Err(AppError::Usage(
                    "-r, -m, --python, --cpu and --save-prof are not used with flameprof diff"
                        .into(),
                ));
            }
            compare(args, diff)
        }
        Some(Command::Run(run)) => {
            no_inputs(&args, "run")?;
            if args.program.run_script || args.program.run_module {
                return Err(AppError::Usage(
                    "-r/--run and --run-module are not used with flameprof run (use run -m)".into(),
                ));
            }
            let mut command = run.command.into_iter();
            let target = command.next().expect("clap requires TARGET");
            let target = if run.module {
                Target::Module(target)
            } else {
                Target::Script(target)
            };
            profile_and_render(args, target, command.collect())
        }
        None => {
            let p = &args.program;
            if !(p.run_script || p.run_module) {
                return Err(AppError::Usage(
                    "--python, --cpu and --save-prof only apply when running a program: flameprof run [OPTIONS] SCRIPT"
                        .into(),
                ));
            }
            let mut inputs = std::mem::take(&mut args.inputs)
                .into_iter()
                .map(PathBuf::into_os_string);
            let Some(target) = inputs.next() else {
                let flag = if p.run_script {
                    "-r/--run"
                } else {
                    "-m/--run-module"
                };
                return Err(AppError::Usage(format!(
                    "{flag} needs the program to run: flameprof {flag} TARGET [-- ARGS...]"
                )));
            };
            let target = if p.run_module {
                Target::Module(target)
            } else {
                Target::Script(target)
            };
            profile_and_render(args, target, inputs.collect())
        }
    }
}

/// The exit status of `flameprof diff --fail-above` when NEW is slower than allowed:
/// apart from errors (1) and usage (2), so that CI can tell a regression from a
/// broken run.
pub const REGRESSION_EXIT: u8 = 3;

/// `flameprof diff`: reads both sides, writes the comparison, and with `--fail-above`
/// exits [`REGRESSION_EXIT`] when NEW's total grew by more than the limit.
fn compare(mut args: Args, diff: DiffArgs) -> Result<ExitCode, AppError> {
    let fail_above = match &diff.fail_above {
        Some(text) => match text.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Some(x),
            _ => {
                return Err(AppError::Usage(format!(
                    "invalid value '{text}' for '--fail-above': must be a percentage, 0 or more"
                )));
            }
        },
        None => None,
    };
    let top = args::whole::<usize>("--top", &diff.top, "a whole number")?;
    let base: Vec<PathBuf> = std::iter::once(diff.base.clone())
        .chain(diff.base_also.iter().cloned())
        .collect();
    let new: Vec<PathBuf> = std::iter::once(diff.new.clone())
        .chain(diff.new_also.iter().cloned())
        .collect();
    if base
        .iter()
        .chain(&new)
        .filter(|p| p.as_os_str() == "-")
        .count()
        > 1
    {
        return Err(AppError::Usage(
            "standard input (-) can be read only once: give it to one side".into(),
        ));
    }
    // The format: -f, else -o's extension, else text: what a reader at a terminal wants
    // first is the list of what changed; the picture is asked for (-f svg, -o x.svg).
    if args.format.is_none() {
        let ext = (args.out.as_deref())
            .and_then(|p| p.extension())
            .map(|e| e.to_string_lossy().to_lowercase());
        let named = (args::FORMAT_OF_EXTENSION.iter())
            .find(|(x, _)| Some(*x) == ext.as_deref())
            .map(|&(_, f)| f);
        args.format = Some(named.unwrap_or("text").to_string());
    }
    if args.title.is_none() {
        args.title = Some(format!(
            "Diff of {} → {}",
            pipeline::display_name(&diff.base),
            pipeline::display_name(&diff.new)
        ));
    }
    let options = args.into_options()?;
    let format = options.backend.name;
    if !backend::diff::FORMATS.contains(&format) {
        return Err(AppError::Usage(format!(
            "diff -f {format} is not available; use -f text, -f log, -f json or -f svg"
        )));
    }
    for w in &options.warnings {
        report::warn(w);
    }
    let (before, after) =
        pipeline::read_sides(&base, &new, &options.read, options.keep_lines, &mut |w| {
            report::warn(w)
        })?;
    // Only the picture draws the inverted graph: the other formats compare stacks.
    let inverted = format == "svg" && options.render.graphs != backend::Graphs::FlameOnly;
    let tree = &options.render.tree;
    let compared = crate::tree::diff::diff(&before, &after, tree, inverted).map_err(|e| {
        input::InputError {
            file: pipeline::display_name(&diff.new),
            message: format!(
                "{} cannot be compared with '{}', {}",
                e.after.described(),
                pipeline::display_name(&diff.base),
                e.before.described()
            ),
        }
    })?;
    if compared.truncated {
        report::warn(
            &"a flame tree stopped at its bound on frames; raise --threshold for a complete comparison",
        );
    }
    let render = &options.render;
    let diff_options = backend::diff::DiffOptions {
        title: render.title.clone(),
        normalize: diff.normalize,
        top,
        columns: render.columns,
        color: render.color,
        format: render.format.clone(),
        totals: (0.0, 0.0),
        render: render.clone(),
    };
    // As with one profile, an SVG is not written to a terminal.
    let instead = options.svg_to_terminal.then(|| PathBuf::from("diff.svg"));
    write_output(options.out.as_deref().or(instead.as_deref()), |w| {
        backend::diff::render(&compared, format, &diff_options, w)
    })?;
    if let Some(path) = &instead {
        report::note(&format!(
            "wrote {} (standard output is a terminal; use -o FILE or a pipe)",
            path.display()
        ));
    }
    let Some(limit) = fail_above else {
        return Ok(ExitCode::SUCCESS);
    };
    let (b, a) = (compared.before_total, compared.after_total);
    let grew = if b > 0.0 {
        100.0 * (a - b) / b
    } else if a > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    if grew <= limit {
        return Ok(ExitCode::SUCCESS);
    }
    let time = backend::diff::time_text;
    let most: Vec<String> = (compared.grew_most(3).iter())
        .map(|(f, d)| format!("{} {}", f.label, time(*d, true)))
        .collect();
    report::note(&format!(
        "NEW's total {} is {:.1}% above BASE's {} (--fail-above {limit}){}{}",
        time(a, false),
        grew,
        time(b, false),
        if most.is_empty() { "" } else { "; grew most: " },
        most.join(", ")
    ));
    Ok(ExitCode::from(REGRESSION_EXIT))
}

/// The man page flameprof(1), or flameprof-PAGE(1) for a subcommand, as clap_mangen
/// renders them, with an EXAMPLES section before VERSION.
fn man_page(page: Option<&str>, w: &mut dyn Write) -> io::Result<()> {
    let mut cmd = args::command();
    // Built, a subcommand is named `flameprof-run` and carries the global options.
    cmd.build();
    let (cmd, examples) = match page {
        None => (cmd, MAIN_EXAMPLES),
        Some(name) => {
            let sub = cmd
                .find_subcommand(name)
                .ok_or_else(|| io::Error::other(format!("no subcommand '{name}'")))?
                .clone();
            let examples = match name {
                "run" => RUN_EXAMPLES,
                "diff" => DIFF_EXAMPLES,
                "completions" => COMPLETIONS_EXAMPLES,
                _ => MAN_EXAMPLES,
            };
            (sub, examples)
        }
    };
    let has_version = cmd.get_version().is_some();
    let has_options = cmd.get_arguments().any(|a| !a.is_hide_set());
    let has_subcommands = cmd.has_subcommands();
    let source = format!("flameprof {}", env!("CARGO_PKG_VERSION"));
    let man = clap_mangen::Man::new(cmd).source(source);
    // Each section rendered alone repeats the page's preamble: kept once, at the top.
    type Section = fn(&clap_mangen::Man, &mut dyn Write) -> io::Result<()>;
    let mut sections: Vec<Section> = vec![
        clap_mangen::Man::render_title,
        clap_mangen::Man::render_name_section,
        clap_mangen::Man::render_synopsis_section,
        clap_mangen::Man::render_description_section,
    ];
    if has_options {
        sections.push(clap_mangen::Man::render_options_section);
    }
    if has_subcommands {
        sections.push(clap_mangen::Man::render_subcommands_section);
    }
    let mut page = Vec::new();
    for (i, section) in sections.iter().enumerate() {
        let mut text = Vec::new();
        section(&man, &mut text)?;
        let body = match text.strip_prefix(MAN_PREAMBLE.as_bytes()) {
            Some(body) if i > 0 => body,
            _ => &text,
        };
        page.extend_from_slice(body);
    }
    page.extend_from_slice(b".SH EXAMPLES\n");
    for (what, lines) in examples {
        page.extend_from_slice(format!(".PP\n{}\n.RS 4\n.nf\n", roff_line(what)).as_bytes());
        for line in *lines {
            page.extend_from_slice(roff_line(line).as_bytes());
            page.push(b'\n');
        }
        page.extend_from_slice(b".fi\n.RE\n");
    }
    if has_version {
        let mut text = Vec::new();
        man.render_version_section(&mut text)?;
        page.extend_from_slice(text.strip_prefix(MAN_PREAMBLE.as_bytes()).unwrap_or(&text));
    }
    w.write_all(&page)
}

/// What clap_mangen writes at the top of every piece it renders (the `Aq` string).
const MAN_PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

/// One line of text for roff: backslashes and hyphens escaped, and a leading `.` or
/// `'` (which would make it a request) guarded.
fn roff_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    if text.starts_with(['.', '\'']) {
        out.push_str("\\&");
    }
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            c => out.push(c),
        }
    }
    out
}

/// Examples of a man page: what each shows, and the command lines.
type Examples = &'static [(&'static str, &'static [&'static str])];

const MAIN_EXAMPLES: Examples = &[
    (
        "Profile a program, draw the flame graph, and open it in a browser:",
        &[
            "python -m cProfile -o app.prof app.py",
            "flameprof app.prof -o app.svg",
            "xdg-open app.svg        # macOS: open app.svg",
        ],
    ),
    (
        "Profile and draw in one go (see flameprof-run(1)):",
        &["flameprof run -o app.svg app.py --its-args"],
    ),
    (
        "Folded stacks for flamegraph.pl or inferno-flamegraph:",
        &["flameprof -f log app.prof | flamegraph.pl > fg.svg"],
    ),
    (
        "A call tree in the terminal, eight levels deep:",
        &["flameprof -f text --max-depth 8 app.prof"],
    ),
    (
        "The ten functions with the most own time, with jq:",
        &[
            "flameprof -f json app.prof | jq '.functions | sort_by(-.tt) | .[:10][] | {display, tt}'",
        ],
    ),
    (
        "What python -m pstats prints, and several profiles merged:",
        &[
            "flameprof -f stats --sort tottime app.prof",
            "flameprof a.prof b.prof c.prof -o all.svg",
        ],
    ),
];

const RUN_EXAMPLES: Examples = &[
    (
        "Profile a script with its arguments, and draw it:",
        &["flameprof run -o app.svg app.py --its-args"],
    ),
    (
        "Profile a test suite run as a module:",
        &["flameprof run -o tests.svg -m pytest tests/"],
    ),
    (
        "Count CPU time only, and keep the stats for later:",
        &["flameprof run --cpu --save-prof app.prof -o app.svg app.py"],
    ),
];

const DIFF_EXAMPLES: Examples = &[
    (
        "What got slower between two runs, and where:",
        &["flameprof diff before.prof after.prof"],
    ),
    (
        "An interactive differential flame graph (red: slower, blue: faster):",
        &["flameprof diff -o diff.svg before.prof after.prof"],
    ),
    (
        "In CI: fail (exit status 3) when the run got more than 5 % slower:",
        &["flameprof diff --fail-above 5 main.prof branch.prof"],
    ),
];

const COMPLETIONS_EXAMPLES: Examples = &[(
    "Install the completions of bash, zsh or fish:",
    &[
        "flameprof completions bash > ~/.local/share/bash-completion/completions/flameprof",
        "flameprof completions zsh > ~/.zfunc/_flameprof",
        "flameprof completions fish > ~/.config/fish/completions/flameprof.fish",
    ],
)];

const MAN_EXAMPLES: Examples = &[(
    "Install the man pages:",
    &[
        "flameprof man > ~/.local/share/man/man1/flameprof.1",
        "flameprof man run > ~/.local/share/man/man1/flameprof-run.1",
    ],
)];

fn no_inputs(args: &Args, name: &str) -> Result<(), AppError> {
    if let Some(first) = args.inputs.first() {
        return Err(AppError::Usage(format!(
            "'{name}' is a subcommand and cannot follow INPUT '{}'; to read a file named '{name}', write ./{name}",
            first.display()
        )));
    }
    if args.list_formats {
        return Err(AppError::Usage(format!(
            "--list-formats cannot be used with '{name}'"
        )));
    }
    Ok(())
}

/// Runs the program, keeps the stats if asked, renders them with the usual options,
/// and exits with the program's status.
fn profile_and_render(
    mut args: Args,
    target: Target,
    program_args: Vec<OsString>,
) -> Result<ExitCode, AppError> {
    let shown = describe(&target, &program_args);
    if args.title.is_none() {
        args.title = Some(format!("Flame graph of {shown}"));
    }
    let program = Program {
        python: args
            .program
            .python
            .take()
            .unwrap_or_else(runner::default_python),
        target,
        args: program_args,
        cpu: args.program.cpu,
        record_stacks: !args.program.no_stacks,
    };
    let save = args.program.save_prof.take();
    let save_stacks = args.program.save_stacks.take();
    // Validate the render options before running anything.
    let options = args.into_options()?;
    for w in &options.warnings {
        report::warn(w);
    }
    let svg_file = svg_file_for_program(&program.target);

    let outcome = match runner::profile(&program) {
        Ok(outcome) => outcome,
        Err(runner::RunError::Signalled(sig)) => runner::die_of(sig),
        Err(e) => {
            return Err(AppError::Program {
                code: e.exit_code(),
                message: e.to_string(),
            });
        }
    };
    let code = runner::exit_code(outcome.status);
    let recorded = outcome.stats.is_none()
        && (outcome.stacks.as_deref()).is_some_and(input::call_paths::is_call_paths);
    if outcome.stats.is_none() && !recorded {
        return Err(AppError::Program {
            code: if code == 0 { 1 } else { code },
            message: format!("{shown}: no profile was written (exit status {code})"),
        });
    }
    let rendered = (|| {
        if let (Some(path), Some(stacks)) = (&save_stacks, &outcome.stacks) {
            write_output(Some(path), |w| w.write_all(stacks))?;
        }
        let profile = match (outcome.stats, outcome.stacks) {
            // Recorded in cProfile's place: the stats follow from the paths.
            (None, Some(paths)) => {
                let loaded = input::load(&format!("call paths of {shown}"), paths.into())?;
                for w in &loaded.warnings {
                    report::warn(w);
                }
                loaded.profile
            }
            (stats, stacks) => {
                let stats = stats.unwrap_or_default();
                if let Some(path) = &save {
                    write_output(Some(path), |w| w.write_all(&stats))?;
                }
                let loaded = input::load(&format!("profile of {shown}"), stats.into())?;
                for w in &loaded.warnings {
                    report::warn(&format!("profile of {shown}: {w}"));
                }
                match stacks {
                    Some(stacks) => pipeline::guided(
                        loaded.profile,
                        &format!("stacks of {shown}"),
                        stacks.into(),
                        &mut |w| report::warn(w),
                    )?,
                    None => loaded.profile,
                }
            }
        };
        if recorded && let Some(path) = &save {
            write_output(Some(path), |w| {
                w.write_all(&input::stats_file::write(&profile))
            })?;
        }
        render(&options, &profile, || svg_file)
    })();
    match rendered {
        Ok(()) => Ok(ExitCode::from(code)),
        // The reader of our output left (`flameprof run x.py | head`): silent, as for
        // the plain render, and the program's status still decides, so that a failing
        // program never looks successful in a pipeline.
        Err(AppError::Write { error, .. }) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(ExitCode::from(code))
        }
        // Any other failure to keep or render the profile is reported; a failing
        // program's status is kept over flameprof's own 1.
        Err(e) if code != 0 => Err(AppError::Program {
            code,
            message: e.to_string(),
        }),
        Err(e) => Err(e),
    }
}

/// The program as shown in the title and messages: `script.py a b` or `-m pytest a`,
/// cut to a reasonable length.
fn describe(target: &Target, args: &[OsString]) -> String {
    let mut s = match target {
        Target::Script(t) => t.to_string_lossy().into_owned(),
        Target::Module(m) => format!("-m {}", m.to_string_lossy()),
    };
    for a in args {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    const MAX: usize = 80;
    if s.chars().count() > MAX {
        s = s.chars().take(MAX - 1).collect::<String>() + "…";
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Options added to the main command later are `run`'s too (`args::command`).
    #[test]
    fn run_takes_every_render_option_of_the_main_command() {
        let mut cmd = args::command();
        cmd.build();
        let run = cmd.find_subcommand("run").expect("run subcommand");
        let own = [
            "list_formats",
            "run_script",
            "run_module",
            "help",
            "version",
        ];
        let mut checked = 0;
        for a in cmd.get_arguments().filter(|a| !a.is_positional()) {
            if own.contains(&a.get_id().as_str()) {
                continue;
            }
            assert!(
                run.get_arguments().any(|b| b.get_id() == a.get_id()),
                "flameprof run lacks {}",
                a.get_id()
            );
            checked += 1;
        }
        assert!(checked >= 10, "only {checked} options checked");
    }

    #[test]
    fn describe_names_the_program_and_cuts_long_lines() {
        assert_eq!(
            describe(&Target::Script("a.py".into()), &["x".into()]),
            "a.py x"
        );
        assert_eq!(describe(&Target::Module("pytest".into()), &[]), "-m pytest");
        let long = describe(&Target::Script("a.py".into()), &["y".repeat(200).into()]);
        assert_eq!(long.chars().count(), 80);
        assert!(long.ends_with('…'));
    }
}
