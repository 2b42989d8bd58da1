//! What the command line carries out: the plain render (read the inputs, render them
//! into standard output or `-o FILE`, print the warnings), the subcommands (`run`,
//! `completions`, `man`) and flameprof 0.4's `-r`/`-m` spellings of `run`.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::args::{self, Args, Command, Options};
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
    let profile = pipeline::read_all(&options.inputs, &mut |w| report::warn(w))?;
    render(options, &profile)?;
    Ok(ExitCode::SUCCESS)
}

fn list_formats(out: &mut dyn Write) -> io::Result<()> {
    for b in backend::registry() {
        writeln!(out, "{:<8} {}", b.name, b.about)?;
    }
    Ok(())
}

/// Renders `profile` with the chosen backend into the sink, then prints the warnings.
fn render(options: &Options, profile: &Profile) -> Result<(), AppError> {
    pipeline::render_with(
        profile,
        options.backend,
        &options.render,
        |render| write_output(options.out.as_deref(), render),
        &mut |w| report::warn(w),
    )
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
        Some(Command::Man) => {
            no_inputs(&args, "man")?;
            let out = args.out.clone();
            write_output(out.as_deref(), |w| {
                clap_mangen::Man::new(args::command()).render(w)
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
            write_output(Some(path), |w| w.write_all(&stats))?;
        }
        let loaded = input::load(&format!("profile of {shown}"), stats.into())?;
        for w in &loaded.warnings {
            report::warn(&format!("profile of {shown}: {w}"));
        }
        render(&options, &loaded.profile)
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
