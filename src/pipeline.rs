//! The pipeline from stats files to one rendered format: read and merge the inputs,
//! render with a backend while the data checks (and the second tree a format reads)
//! run on a second thread for a large profile, then give every warning in a fixed
//! order. Owns that order and the choice of one thread or two; knows nothing of the
//! command line, files it writes, or how warnings are shown.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::backend::{Backend, Job, RenderOptions};
use crate::input::{self, InputError};
use crate::model::{Backing, FuncId, Merger, Profile, StackValue};
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
    let sources = input::sources::expand(inputs)?;
    let mut merger = Merger::new();
    let mut first: Option<(&'static str, String)> = None;
    let mut skipped: Vec<&Path> = Vec::new();
    let mut failed: Option<InputError> = None;
    let read = |i: usize| read_source(&sources[i], options);
    in_order(sources.len(), read_threads(), read, |i, read| {
        let loaded = match read {
            Err(e) => {
                failed = Some(e);
                return false;
            }
            Ok(None) => {
                skipped.push(&sources[i].path);
                return true;
            }
            Ok(Some(loaded)) => loaded,
        };
        for w in &loaded.warnings {
            warn(w);
        }
        let this = kind(&loaded.profile);
        match &first {
            None => first = Some((this, display_name(&sources[i].path))),
            Some((first_kind, first_name)) if *first_kind != this => {
                failed = Some(InputError {
                    file: display_name(&sources[i].path),
                    message: format!("{this} cannot be merged with '{first_name}', {first_kind}"),
                });
                return false;
            }
            Some(_) => {}
        }
        merger.add(loaded.profile);
        true
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if !skipped.is_empty() {
        warn(&skipped_warning(&skipped));
    }
    if merger.is_empty() {
        return Err(InputError {
            file: display_name(&inputs[0]),
            message: format!("none of its {} files is a profile", sources.len()),
        });
    }
    Ok(merger.finish())
}

/// Reads and decodes one input; `None` for a file met under a directory or through a
/// pattern that holds no profile at all.
fn read_source(
    source: &input::sources::Source,
    options: &input::ReadOptions,
) -> Result<Option<input::Loaded>, InputError> {
    let (name, data) = input::read_bytes(Some(&source.path))?;
    if source.found && !input::could_be_profile(&data) {
        return Ok(None);
    }
    input::load_with(&name, data, options).map(Some)
}

/// One warning for every file skipped as no profile, naming the first few.
fn skipped_warning(skipped: &[&Path]) -> Warning {
    const NAMED: usize = 3;
    let mut names: Vec<String> = (skipped.iter().take(NAMED))
        .map(|p| format!("'{}'", display_name(p)))
        .collect();
    if skipped.len() > NAMED {
        names.push(format!("and {} more", skipped.len() - NAMED));
    }
    let files = if skipped.len() == 1 {
        "file that holds"
    } else {
        "files that hold"
    };
    Warning::new(
        WarningKind::Read,
        format!(
            "skipped {} {files} no profile: {}",
            skipped.len(),
            names.join(", ")
        ),
    )
}

/// The most threads that read and decode inputs: past this, reading is bound by the
/// disk and merging, and each thread holds inputs in flight.
const MAX_READ_THREADS: usize = 8;

/// Threads to read inputs on: one per core but one, which merges (at least one, at
/// most [`MAX_READ_THREADS`]).
fn read_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .clamp(1, MAX_READ_THREADS)
}

/// Runs `read` on `0..count` on `threads` threads and hands each result to `take` on
/// this thread, in order, until `take` returns false. The readers run at most one
/// result each ahead of `take`, so that a few results in flight, not the inputs, bound
/// the memory. One input, or no thread to be had, is read here.
fn in_order<T: Send>(
    count: usize,
    threads: usize,
    read: impl Fn(usize) -> T + Sync,
    mut take: impl FnMut(usize, T) -> bool,
) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex, mpsc};
    let threads = threads.min(count);
    if count <= 1 || threads == 0 {
        for i in 0..count {
            if !take(i, read(i)) {
                return;
            }
        }
        return;
    }
    let ahead = threads;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // How many results `take` has had, and the readers waiting to run ahead of it.
    let taken = (Mutex::new(0usize), Condvar::new());
    let (send, results) = mpsc::channel::<(usize, T)>();
    std::thread::scope(|scope| {
        let reader = |send: mpsc::Sender<(usize, T)>| {
            let (next, stop, taken, read) = (&next, &stop, &taken, &read);
            move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return;
                    }
                    {
                        let mut done = taken.0.lock().unwrap_or_else(|e| e.into_inner());
                        while i >= *done + ahead && !stop.load(Ordering::Relaxed) {
                            done = taken.1.wait(done).unwrap_or_else(|e| e.into_inner());
                        }
                    }
                    if stop.load(Ordering::Relaxed) || send.send((i, read(i))).is_err() {
                        return;
                    }
                }
            }
        };
        let spawned = (0..threads)
            .filter(|_| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, reader(send.clone()))
                    .is_ok()
            })
            .count();
        drop(send);
        let mut want = 0usize;
        if spawned == 0 {
            // No thread to be had: read here, in order.
            while want < count && take(want, read(want)) {
                want += 1;
            }
            return;
        }
        let mut waiting = std::collections::BTreeMap::new();
        'results: for (i, result) in results.iter() {
            waiting.insert(i, result);
            while let Some(result) = waiting.remove(&want) {
                if !take(want, result) {
                    break 'results;
                }
                want += 1;
                *taken.0.lock().unwrap_or_else(|e| e.into_inner()) = want;
                taken.1.notify_all();
            }
        }
        // Under the lock, so that no reader checks `stop` and then misses the wake-up.
        {
            let _done = taken.0.lock().unwrap_or_else(|e| e.into_inner());
            stop.store(true, Ordering::Relaxed);
        }
        taken.1.notify_all();
        drop(waiting);
        drop(results);
    });
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

/// `profile` drawn from the stacks recorded or sampled beside it (`flameprof run`'s,
/// or a file `--save-stacks` kept), made to agree with it ([`Profile::guided_by`]):
/// `stacks` is the call paths or the folded text, named `name` in errors. The profile as it is, with a warning, when
/// the samples hold nothing of it; an error when they cannot be read.
pub fn guided(
    profile: Profile,
    name: &str,
    stacks: bytes::Bytes,
    warn: &mut dyn FnMut(&Warning),
) -> Result<Profile, InputError> {
    let (loaded, backing) = if input::call_paths::is_call_paths(&stacks) {
        let loaded = input::load_call_paths(name, &stacks)?;
        (loaded, Backing::Recorded)
    } else {
        let samples = sample_count(&stacks);
        let blank_or_comment = |l: &[u8]| l.trim_ascii().is_empty() || l.starts_with(b"#");
        if stacks.split(|&b| b == b'\n').all(blank_or_comment) {
            // A program too short to be sampled: the stats alone, estimated as always.
            return Ok(profile);
        }
        let loaded = input::load_with(name, stacks, &input::ReadOptions::default())?;
        if loaded.profile.stacks().is_none() {
            return Err(InputError {
                file: name.to_string(),
                message: "not folded stacks, nor call paths".into(),
            });
        }
        (loaded, Backing::Sampled(samples))
    };
    for w in &loaded.warnings {
        warn(w);
    }
    if loaded.profile.stacks().is_none_or(|s| s.is_empty()) {
        // No call recorded any time: the stats alone, estimated as always.
        return Ok(profile);
    }
    // Own time no sample saw is spread as the stats alone would draw it (at the
    // default threshold: a function narrower has no frame there, and goes under its
    // callers' stacks instead).
    let estimate = crate::tree::flame_tree(&profile, &crate::tree::TreeOptions::default());
    let mut frames_of: HashMap<FuncId, Vec<u32>> = HashMap::new();
    for (i, f) in estimate.frames().iter().enumerate().skip(1) {
        if let Some(func) = f.func {
            frames_of.entry(func).or_default().push(i as u32);
        }
    }
    let unseen = |func: FuncId| -> Vec<(Vec<FuncId>, f64)> {
        let frames = frames_of.get(&func).map_or(&[][..], Vec::as_slice);
        frames
            .iter()
            .map(|&i| (estimate.stack_of(i), estimate.frame(i).own_time()))
            .filter(|s| s.1 > 0.0)
            .collect()
    };
    match profile.guided_by(&loaded.profile, backing, &unseen) {
        Some(guided) => Ok(guided),
        None => {
            warn(&Warning::read(
                name,
                "the samples hold no time of the profile's functions; the stacks are \
                 estimated from the profile alone",
            ));
            Ok(profile)
        }
    }
}

/// The samples a stacks file of `flameprof run` counts in its header
/// (`# samples: N, ...`), if it has one.
fn sample_count(stacks: &[u8]) -> Option<u64> {
    let head = &stacks[..stacks.len().min(4096)];
    head.split(|&b| b == b'\n')
        .take_while(|l| l.starts_with(b"#"))
        .find_map(|l| {
            let rest = l.strip_prefix(b"# samples: ")?;
            let digits: Vec<u8> = rest
                .iter()
                .copied()
                .take_while(u8::is_ascii_digit)
                .collect();
            std::str::from_utf8(&digits).ok()?.parse().ok()
        })
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

    #[test]
    fn inputs_read_on_many_threads_are_taken_in_order_and_a_stop_is_kept() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for threads in [0, 1, 2, 5] {
            let mut got = Vec::new();
            // Later inputs read faster: out of order unless put back in it.
            let read = |i: usize| {
                std::thread::sleep(std::time::Duration::from_micros(((50 - i) * 20) as u64));
                i * 10
            };
            in_order(50, threads, read, |i, v| {
                got.push((i, v));
                true
            });
            assert_eq!(got, (0..50).map(|i| (i, i * 10)).collect::<Vec<_>>());
            let reads = AtomicUsize::new(0);
            let mut taken = 0;
            let counted = |i: usize| {
                reads.fetch_add(1, Ordering::Relaxed);
                i
            };
            in_order(1000, threads, counted, |i, _| {
                taken += 1;
                i < 9
            });
            assert_eq!(taken, 10, "with {threads} threads");
            // The readers ran at most one result each ahead, and some in progress.
            let read = reads.load(Ordering::Relaxed);
            assert!(
                read <= 10 + 2 * threads.max(1),
                "{read} read with {threads} threads"
            );
        }
    }

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
