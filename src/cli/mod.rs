//! The `flameprof` command line, on top of the library: [`args`] turns the command
//! line into options, [`commands`] carries them out with the [`pipeline`](crate::pipeline),
//! and [`report`] owns what is printed besides the output, and the exit codes.
//!
//! Subcommand names are only recognised as the first word that is not an option:
//! `flameprof run x.py` runs a program, while a stats file literally named `run` is
//! read as `flameprof ./run`. Every render option of the main command is also
//! accepted by `run` (see [`args::command`]).

pub mod args;
pub mod commands;
pub mod report;

use std::process::ExitCode;

use clap::FromArgMatches;

use self::args::Args;

/// Entry point of the binary: parses, runs, prints the error if any.
pub fn main() -> ExitCode {
    let args = Args::from_arg_matches(&args::command().get_matches()).unwrap_or_else(|e| e.exit());
    let result = if commands::handles(&args) {
        commands::run(args)
    } else {
        args.into_options()
            .and_then(|o| commands::render_inputs(&o))
    };
    let code = match result {
        Ok(code) => code,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            report::error(&e);
            ExitCode::from(e.exit_code())
        }
    };
    if code == ExitCode::SUCCESS && report::unreported() {
        ExitCode::FAILURE
    } else {
        code
    }
}
