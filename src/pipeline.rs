//! The pipeline from stats files to one rendered format: read and merge the inputs,
//! render with a backend while the data checks (and the second tree a format reads)
//! run on a second thread for a large profile, then give every warning in a fixed
//! order. Owns that order and the choice of one thread or two; knows nothing of the
//! command line, files it writes, or how warnings are shown.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::backend::{Backend, Job, RenderOptions};
use crate::input::{self, InputError};
use crate::model::{Profile, StackValue};
use crate::warning::{Warning, WarningKind};

/// Reads every input (`-`, or no input at all: standard input) and merges them as
/// `pstats.Stats.add` does. Each input's reading warnings go to `warn` as it is read.
/// Inputs that measure different things (calls and samples) are refused: their
/// counts and times cannot be added up.
pub fn read_all(inputs: &[PathBuf], warn: &mut dyn FnMut(&Warning)) -> Result<Profile, InputError> {
    read_all_with(inputs, &input::ReadOptions::default(), warn)
}

/// [`read_all`], with the reading options. Inputs that measure different things
/// (sampled stacks, sampled pstats, cProfile's calls) are refused rather than merged:
/// their numbers do not add up.
pub fn read_all_with(
    inputs: &[PathBuf],
    options: &input::ReadOptions,
    warn: &mut dyn FnMut(&Warning),
) -> Result<Profile, InputError> {
    let stdin_only = [PathBuf::from("-")];
    let inputs = if inputs.is_empty() {
        &stdin_only[..]
    } else {
        inputs
    };
    let mut profiles: Vec<Profile> = Vec::with_capacity(inputs.len());
    for path in inputs {
        let loaded = input::load_file_with(path, options)?;
        for w in &loaded.warnings {
            warn(w);
        }
        if let Some(first) = profiles.first()
            && kind(first) != kind(&loaded.profile)
        {
            return Err(InputError {
                file: display_name(path),
                message: format!(
                    "{} cannot be merged with '{}', {}",
                    kind(&loaded.profile),
                    display_name(&inputs[0]),
                    kind(first)
                ),
            });
        }
        profiles.push(loaded.profile);
    }
    Ok(Profile::merge(profiles))
}

/// The two sides of `flameprof diff`, each read and merged as [`read_all_with`] does
/// and grouped [`by_function`]. Sides that measure different things are refused as
/// merging them is, the error naming NEW's first file.
pub fn read_sides(
    base: &[PathBuf],
    new: &[PathBuf],
    options: &input::ReadOptions,
    keep_lines: bool,
    warn: &mut dyn FnMut(&Warning),
) -> Result<(Profile, Profile), InputError> {
    // One side on a second thread: reading is most of the time of a diff. Each side's
    // warnings are kept and given in order, BASE's first, as one thread would.
    let read = |paths: &[PathBuf]| {
        let mut warnings = Vec::new();
        let profile = read_all_with(paths, options, &mut |w| warnings.push(w.clone()));
        (profile.map(|p| by_function(p, keep_lines)), warnings)
    };
    let (base_side, new_side) = std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .spawn_scoped(scope, || read(base))
            .ok();
        let new_side = read(new);
        let base_side = match helper {
            Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => read(base),
        };
        (base_side, new_side)
    });
    for w in &base_side.1 {
        warn(w);
    }
    let before = base_side.0?;
    for w in &new_side.1 {
        warn(w);
    }
    let after = new_side.0?;
    if kind(&before) != kind(&after) {
        return Err(InputError {
            file: display_name(&new[0]),
            message: format!(
                "{} cannot be compared with '{}', {}",
                kind(&after),
                display_name(&base[0]),
                kind(&before)
            ),
        });
    }
    Ok((before, after))
}

/// What a profile's numbers are, for merging and its refusal: austin's stacks (times,
/// counts unknown) and a sampled stats file (times and samples) share a measure, but
/// their counts do not add up.
fn kind(profile: &Profile) -> &'static str {
    match profile.stacks().map(|s| s.unit()) {
        Some(StackValue::Microseconds) => "austin's stacks (times, sample counts unknown)",
        _ => profile.measure().described(),
    }
}

/// The profile as the outputs show it: a sampled profile's per-line keys made one
/// function each unless `keep_lines` (collapsed stacks by rekeying their frames,
/// [`Profile::group_stack_lines`], so that the trees stay exact; sampled stats files by
/// [`Profile::group_lines`]); a profile of calls as it is.
pub fn by_function(profile: Profile, keep_lines: bool) -> Profile {
    if !profile.measure().is_samples() || keep_lines {
        profile
    } else if profile.stacks().is_some() {
        profile.group_stack_lines()
    } else {
        profile.group_lines()
    }
}

/// From this many edges on, the checks and the inverted tree go to a second core. Below
/// it they take about as long as waking an idle core does, so a second thread saves
/// nothing (the measurements: docs/performance.md).
pub const SECOND_CORE_FROM_EDGES: usize = 200_000;

/// Renders `profile` in `format` into `out`, then gives the warnings: the data checks,
/// what the format changed, the trees it cut.
pub fn render(
    profile: &Profile,
    format: &Backend,
    options: &RenderOptions,
    out: &mut dyn Write,
    warn: &mut dyn FnMut(&Warning),
) -> io::Result<()> {
    render_with(profile, format, options, |render| render(out), warn)
}

/// [`render`], with the writing handed to `write`: it gets the function that renders
/// into a writer and runs it once (into a buffered standard output, or a temporary
/// file it renames into place only when everything was written). If `write` fails,
/// the data checks' warnings are given, the others not, and its error is returned.
pub fn render_with<E>(
    profile: &Profile,
    format: &Backend,
    options: &RenderOptions,
    write: impl FnOnce(&dyn Fn(&mut dyn Write) -> io::Result<()>) -> Result<(), E>,
    warn: &mut dyn FnMut(&Warning),
) -> Result<(), E> {
    let second_core = profile.edges().len() >= SECOND_CORE_FROM_EDGES;
    render_on(profile, format, options, second_core, write, warn)
}

/// [`render_with`], on one core or two.
///
/// With `second_core`, a second thread runs the checks, then builds the inverted tree
/// when the backend reads both trees, while this thread builds the flame tree and
/// renders. The trees are the same whichever thread builds them, and the warnings come
/// in the same order either way, once both threads are done. Without a thread to be
/// had, the work runs here.
fn render_on<E>(
    profile: &Profile,
    format: &Backend,
    options: &RenderOptions,
    second_core: bool,
    write: impl FnOnce(&dyn Fn(&mut dyn Write) -> io::Result<()>) -> Result<(), E>,
    warn: &mut dyn FnMut(&Warning),
) -> Result<(), E> {
    if profile.listed_count() == 0 {
        warn(&Warning::new(
            WarningKind::Empty,
            "the profile holds no functions; the output is empty",
        ));
    }
    let job = Job::new(profile, options);
    let trees = (format.trees)(options);
    let ahead = || {
        let warnings = input::checks::check(profile);
        if trees.flame && trees.inverted {
            job.inverted();
        }
        warnings
    };
    let render = |w: &mut dyn Write| (format.render)(&job, w);
    let (warnings, written) = std::thread::scope(|scope| {
        let helper = second_core
            .then(|| std::thread::Builder::new().spawn_scoped(scope, ahead).ok())
            .flatten();
        match helper {
            Some(handle) => {
                let written = write(&render);
                let warnings = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (warnings, written)
            }
            None => (ahead(), write(&render)),
        }
    });
    for w in warnings {
        warn(&w.into());
    }
    written?;
    for w in job.warnings() {
        warn(&Warning::new(WarningKind::Output, w));
    }
    for (name, tree) in job.built_trees() {
        if tree.truncated {
            warn(&Warning::new(
                WarningKind::Truncated,
                format!(
                    "{name}: stopped at {} frames (the bound for a profile this size); {} frames \
                     were not expanded further; raise --threshold for a complete picture",
                    tree.len(),
                    tree.unexpanded
                ),
            ));
        }
    }
    Ok(())
}

/// The name of an input in titles and messages: its path, or `<stdin>` for `-`.
pub fn display_name(p: &Path) -> String {
    if p.as_os_str() == "-" {
        input::STDIN_NAME.to_string()
    } else {
        p.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend;

    /// The second core changes when work is done, never what is written: every format
    /// gives the same bytes and the same warnings, in the same order, on one core or two.
    #[test]
    fn one_core_or_two_give_the_same_output_and_warnings() {
        for fixture in [
            "synth_zero_negative_inconsistent.prof",
            "real_yappi_threads_wall_builtins.prof",
            "../real/pip_list.prof",
        ] {
            let data = std::fs::read(format!("tests/data/pstats/{fixture}")).unwrap();
            let profile = input::load(fixture, data.into()).unwrap().profile;
            let options = RenderOptions::default();
            for format in backend::registry() {
                let mut seen = Vec::new();
                for second_core in [false, true] {
                    let mut out = Vec::new();
                    let mut warnings = Vec::new();
                    render_on(
                        &profile,
                        format,
                        &options,
                        second_core,
                        |render| render(&mut out),
                        &mut |w| warnings.push(w.clone()),
                    )
                    .unwrap();
                    seen.push((out, warnings));
                }
                assert!(!seen[0].0.is_empty(), "{fixture} -f {}", format.name);
                assert!(
                    seen[0] == seen[1],
                    "{fixture} -f {}: one core gave {:?}, two gave {:?}",
                    format.name,
                    seen[0].1,
                    seen[1].1
                );
            }
        }
    }
}
