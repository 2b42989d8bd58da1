//! The subcommands (`run`, `completions`, `man`) and flameprof 0.4's `-r`/`-m`
//! spellings: their clap arguments, and how each is carried out with the render
//! pipeline of [`cli`](crate::cli).
//!
//! Subcommand names are only recognised as the first word that is not an option:
//! `flameprof run x.py` runs a program, while a stats file literally named `run` is
//! read as `flameprof ./run`. Every render option of the main command is also
//! accepted by `run` (see `cli::command`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};

use crate::cli::{self, AppError, Args};
use crate::input;
use crate::runner::{self, Program, Target};

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
    /// apart.
    ///
    /// flameprof exits with the program's status (128+N if it was killed by signal N);
    /// the profile is rendered even when the program fails or is stopped with Ctrl-C.
    /// SIGTERM and SIGHUP are passed on to the program, after which flameprof ends
    /// without rendering.
    #[command(override_usage = "flameprof run [OPTIONS] [-m] TARGET [ARGS]...")]
    Run(RunArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. flameprof man > flameprof.1
    Man,
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

    /// With run, -r or -m: the Python interpreter [default: $VIRTUAL_ENV/bin/python if
    /// a virtual environment is active, else python3].
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
}

impl ProgramArgs {
    fn any(&self) -> bool {
        self.run_script
            || self.run_module
            || self.python.is_some()
            || self.cpu
            || self.save_prof.is_some()
    }
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
            cli::write_output(out.as_deref(), |w| {
                clap_complete::generate(shell, &mut cli::command(), "flameprof", w);
                Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => {
            no_inputs(&args, "man")?;
            let out = args.out.clone();
            cli::write_output(out.as_deref(), |w| {
                clap_mangen::Man::new(cli::command()).render(w)
            })?;
            Ok(ExitCode::SUCCESS)
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
    };
    let save = args.program.save_prof.take();
    // Validate the render options before running anything.
    let options = args.into_options()?;

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
    let Some(stats) = outcome.stats else {
        return Err(AppError::Program {
            code: if code == 0 { 1 } else { code },
            message: format!("{shown}: no profile was written (exit status {code})"),
        });
    };
    let rendered = (|| {
        if let Some(path) = &save {
            cli::write_output(Some(path), |w| w.write_all(&stats))?;
        }
        let loaded = input::load(&format!("profile of {shown}"), stats.into())?;
        for w in &loaded.warnings {
            cli::warn(&format!("profile of {shown}: {w}"));
        }
        cli::render(&options, &loaded.profile)
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

    /// Options added to the main command later are `run`'s too (`cli::command`).
    #[test]
    fn run_takes_every_render_option_of_the_main_command() {
        let mut cmd = cli::command();
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
