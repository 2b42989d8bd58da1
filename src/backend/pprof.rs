//! `-f pprof`: the flame tree as a gzipped `profile.proto`, the file `go tool pprof`,
//! Grafana Pyroscope and speedscope read.
//!
//! One `Function` and one `Location` per function written (in function-id order: ids
//! 1, 2, ...), and one `Sample` per flame-tree frame: its stack the locations from that
//! frame (first, the leaf) down to the root's child, its values the frame's own time
//! in nanoseconds (sample counts for collapsed stacks) and, for a profile of calls
//! whose counts are all known, the frame's calls; a `certainty` label (`exact`,
//! `close`, `guess`: see [`CallTree::certainty`](crate::tree::CallTree::certainty))
//! says how far the stack is estimated. These are the stacks of `-f speedscope` and
//! `-f log`, cut at [`log::MAX_DEPTH`] frames with the same warning.
//!
//! pprof's flat time is pstats' tottime, exactly: a tree's frames do not hold all of
//! a function's self time (frames too narrow to draw are cut, and an estimated frame's
//! own time is what its drawn children leave), so each function's frames share its
//! self time where they hold more, and what they lack (its "unplaced" time and calls)
//! is one more sample, graded `guess`, above a frame of one of its callers, or above
//! where a caller's own unplaced sample goes ([`Places`]). Without `--focus` only: a
//! focused tree leaves the rest out on purpose, and its samples are its frames' self
//! time as `-f log` writes it. Seconds become whole nanoseconds with the rounding error
//! carried from sample to sample.
//!
//! The messages are declared here (`prost`'s derive, no build step); the samples are
//! encoded and compressed one by one as the tree is walked (protobuf fields may come in
//! any order), so memory stays that of one stack plus the tables of functions and
//! strings. The gzip header has no time and no OS: the same input gives the same bytes.
//! Specified in `formats/pprof/README.md`.

use std::collections::HashMap;
use std::io::{self, Write};

use flate2::{Compression, GzBuilder};
use prost::Message;

use super::log::MAX_DEPTH;
use super::{Backend, Job, Trees};
use crate::model::{FuncId, Measure};
use crate::tree::{Certainty, StackStep};

inventory::submit! {
    Backend {
        name: "pprof",
        about: "the flame tree as a gzipped pprof profile.proto (go tool pprof, Pyroscope)",
        extension: "pb.gz",
        render,
        trees: |_| Trees::FLAME,
        options: &[],
    }
}

/// `perftools.profiles.Profile` (github.com/google/pprof, proto/profile.proto): the
/// fields flameprof writes. `sample` (2) is written apart, one at a time.
#[derive(Clone, PartialEq, Message)]
pub struct Profile {
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "3")]
    pub mapping: Vec<Mapping>,
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    pub string_table: Vec<String>,
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    pub period: i64,
    #[prost(int64, repeated, tag = "13")]
    pub comment: Vec<i64>,
    #[prost(int64, tag = "14")]
    pub default_sample_type: i64,
}

/// The tag of `Profile.sample`.
const SAMPLE_TAG: u32 = 2;

#[derive(Clone, PartialEq, Message)]
pub struct ValueType {
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Label {
    #[prost(int64, tag = "1")]
    pub key: i64,
    #[prost(int64, tag = "2")]
    pub str: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Mapping {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(bool, tag = "7")]
    pub has_functions: bool,
    #[prost(bool, tag = "8")]
    pub has_filenames: bool,
    #[prost(bool, tag = "9")]
    pub has_line_numbers: bool,
}

#[derive(Clone, PartialEq, Message)]
pub struct Location {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub mapping_id: u64,
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Line {
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    #[prost(int64, tag = "2")]
    pub line: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct Function {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(int64, tag = "2")]
    pub name: i64,
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    #[prost(int64, tag = "4")]
    pub filename: i64,
    #[prost(int64, tag = "5")]
    pub start_line: i64,
}

/// The string table: each string once, `""` first (as profile.proto requires).
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Strings {
        let mut s = Strings {
            table: Vec::new(),
            index: HashMap::new(),
        };
        s.intern("");
        s
    }

    /// A string no other entry will share (a function's label): not indexed, which
    /// spares a copy per function. profile.proto does not ask for unique strings.
    fn push(&mut self, s: &str) -> i64 {
        self.table.push(s.to_string());
        self.table.len() as i64 - 1
    }

    fn intern(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// Marks a function that no frame of the tree draws.
const UNUSED: u64 = 0;

/// Seconds to whole nanoseconds (or sample counts as they are: `scale` 1), carrying
/// each rounding error to the next value so that the values add up to the sum of the
/// seconds (within half a nanosecond).
struct Whole {
    scale: f64,
    exact: f64,
    written: i64,
}

impl Whole {
    fn next(&mut self, value: f64) -> i64 {
        self.exact += value * self.scale;
        // `as` saturates, and NaN becomes 0: never a panic on hostile times.
        let target = self.exact.round() as i64;
        let value = target.saturating_sub(self.written).max(0);
        self.written = self.written.saturating_add(value);
        value
    }
}

/// `x` where it is a positive number, else 0.
fn positive(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 { x } else { 0.0 }
}

/// How many callers without a drawn frame an unplaced sample is put above at most.
const MAX_HOPS: usize = 64;

/// Where each function's unplaced sample goes ([`Place`]), resolved once per function.
struct Places {
    place: Vec<Place>,
}

#[derive(Clone, Copy, PartialEq)]
enum Place {
    Unknown,
    /// Being resolved: met again, a cycle of callers.
    Busy,
    /// On its own, at the root.
    Root,
    /// On top of this drawn frame's stack: of the function's callers' frames, the one
    /// with the most time cut above it (where the time most likely went), else the
    /// widest.
    Frame(u32),
    /// Above where this caller goes (its heaviest, none of whose frames is drawn):
    /// a function cut with its caller stays under it.
    Above(FuncId),
}

impl Places {
    fn resolve(
        profile: &crate::model::Profile,
        frames: &[crate::tree::Frame],
        widest_cut: &[Option<u32>],
        unplaced: &[(FuncId, f64, i64)],
    ) -> Places {
        let mut place = vec![Place::Unknown; profile.functions().len()];
        let mut path: Vec<(FuncId, FuncId)> = Vec::new();
        for &(start, _, _) in unplaced {
            path.clear();
            let mut at = start;
            while place[at as usize] == Place::Unknown {
                let callers = profile.callers_of(at);
                let frame = (callers.iter())
                    .filter_map(|e| widest_cut[e.caller as usize])
                    .max_by(|&a, &b| {
                        let (a, b) = (&frames[a as usize], &frames[b as usize]);
                        (a.cut.total_cmp(&b.cut)).then(a.total.total_cmp(&b.total))
                    });
                if let Some(frame) = frame {
                    place[at as usize] = Place::Frame(frame);
                    break;
                }
                let weight = |e: &crate::model::Edge| match e.stats {
                    crate::model::EdgeStats::Timed(s) => s.ct,
                    crate::model::EdgeStats::Count(n) => n.get() as f64,
                };
                let heaviest = (callers.iter())
                    .filter(|e| e.caller != at)
                    .max_by(|a, b| {
                        weight(a)
                            .total_cmp(&weight(b))
                            .then(b.caller.cmp(&a.caller))
                    })
                    .map(|e| e.caller);
                match heaviest {
                    Some(c) if place[c as usize] != Place::Busy => {
                        place[at as usize] = Place::Busy;
                        path.push((at, c));
                        at = c;
                    }
                    _ => place[at as usize] = Place::Root,
                }
            }
            for &(f, c) in &path {
                place[f as usize] = Place::Above(c);
            }
        }
        Places { place }
    }

    /// Calls `each` with the functions an unplaced sample of `f` is put above, from
    /// `f`'s caller down ([`MAX_HOPS`] at most); returns the drawn frame under them.
    fn walk(&self, f: FuncId, mut each: impl FnMut(FuncId)) -> Option<u32> {
        let mut at = f;
        for _ in 0..MAX_HOPS {
            match self.place[at as usize] {
                Place::Frame(frame) => return Some(frame),
                Place::Above(c) => {
                    each(c);
                    at = c;
                }
                _ => return None,
            }
        }
        None
    }
}

fn render(job: &Job<'_>, out: &mut dyn Write) -> io::Result<()> {
    let profile = job.profile;
    let tree = job.flame();
    let frames = tree.frames();
    let mut strings = Strings::new();

    // What a sample's values are: the time (nanoseconds, or sample counts where the
    // input keeps no interval), then calls where the profile counts them all.
    let timed = profile.measure() != Measure::Samples { seconds: false };
    let calls = profile.measure() == Measure::Calls
        && profile.functions().iter().all(|f| f.stats.calls_known());
    let time_type = if timed {
        ValueType {
            r#type: strings.intern("wall"),
            unit: strings.intern("nanoseconds"),
        }
    } else {
        ValueType {
            r#type: strings.intern("samples"),
            unit: strings.intern("count"),
        }
    };
    let mut sample_type = vec![time_type.clone()];
    if calls {
        sample_type.push(ValueType {
            r#type: strings.intern("calls"),
            unit: strings.intern("count"),
        });
    }
    let certainty_key = strings.intern("certainty");
    let scale = if timed { 1e9 } else { 1.0 };
    let grades =
        [Certainty::Exact, Certainty::Close, Certainty::Guess].map(|c| strings.intern(c.name()));

    // Location and function ids by function, in function-id order: the same file for
    // the same tree however it was walked.
    let n_funcs = profile.functions().len();
    let mut ids = vec![UNUSED; n_funcs];
    // What the tree's samples give each function (their own time, their calls), and
    // each function's drawn frame with the most time cut above it (else the widest).
    let mut placed = vec![(0.0f64, 0.0f64); n_funcs];
    let mut widest_cut: Vec<Option<u32>> = vec![None; n_funcs];
    for (i, f) in frames.iter().enumerate().skip(1) {
        let Some(id) = f.func else { continue };
        ids[id as usize] = 1;
        if f.depth as usize > MAX_DEPTH {
            continue;
        }
        let p = &mut placed[id as usize];
        p.0 += positive(f.own_time());
        p.1 += positive(f.calls);
        let best = &mut widest_cut[id as usize];
        let key = |f: &crate::tree::Frame| (f.cut, f.total);
        if best.is_none_or(|b| key(&frames[b as usize]) < key(f)) {
            *best = Some(i as u32);
        }
    }
    // The time and calls of each function that no drawn frame holds: cut by the
    // threshold or the frame bound, or above the depth cut. Not under --focus, whose
    // tree leaves out the rest of the profile on purpose.
    let mut unplaced: Vec<(FuncId, f64, i64)> = Vec::new();
    // The share of its frames' own time each function's samples get: a reconstructed
    // frame's own time is what its drawn children leave, which an estimate may make
    // more than the function's self time; then its frames share that self time.
    // Likewise its calls, whose rounding error each function carries on its own, so
    // that its frames' calls add up to the share's.
    let mut share = vec![1.0f64; n_funcs];
    let mut calls_share = vec![1.0f64; n_funcs];
    let focus = job.options.tree.focus.is_some();
    if !focus {
        for (id, f) in profile.functions().iter().enumerate() {
            let tt = positive(f.stats.tt);
            if placed[id].0 > tt {
                share[id] = tt / placed[id].0;
            }
            let time = positive(tt - placed[id].0);
            let n = if calls {
                let nc = f.stats.nc.clamp(0, 1 << 53) as f64;
                if placed[id].1 > nc {
                    calls_share[id] = nc / placed[id].1;
                }
                (nc - placed[id].1.min(nc).round()) as i64
            } else {
                0
            };
            // Less than half a unit would round to nothing.
            if time * scale >= 0.5 || n > 0 {
                unplaced.push((id as FuncId, time, n.max(0)));
                ids[id] = 1;
            }
        }
    }
    // Where each unplaced sample goes, and the functions on its way there.
    let places = Places::resolve(profile, frames, &widest_cut, &unplaced);
    for &(id, _, _) in &unplaced {
        places.walk(id, |f| ids[f as usize] = 1);
    }
    let mut functions = Vec::new();
    let mut locations = Vec::new();
    let mut label = String::new();
    for (id, slot) in ids.iter_mut().enumerate() {
        if *slot == UNUSED {
            continue;
        }
        let pid = functions.len() as u64 + 1;
        *slot = pid;
        let key = &profile.function(id as FuncId).key;
        label.clear();
        profile.write_label(id as FuncId, &mut label);
        // Builtins (`~`, line 0) have no source file.
        let builtin = key.file.as_str() == "~";
        functions.push(Function {
            id: pid,
            name: strings.push(&label),
            system_name: strings.intern(key.name.as_str()),
            filename: if builtin {
                0
            } else {
                strings.intern(key.file.as_str())
            },
            start_line: if builtin { 0 } else { key.line },
        });
        locations.push(Location {
            id: pid,
            mapping_id: 1,
            line: vec![Line {
                function_id: pid,
                line: if builtin { 0 } else { key.line },
            }],
        });
    }

    // The fastest level: on a million edges it takes 40 % less time than the default
    // for a file a fifth larger.
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(out, Compression::fast());
    let mut buf = Vec::new();
    Profile {
        sample_type,
        ..Profile::default()
    }
    .encode(&mut buf)
    .map_err(io::Error::other)?;

    // One sample per frame walked, encoded as the walk reaches it. The frames walked
    // are those `walk_stacks` enters, in its pre-order: the frames no deeper than the
    // cut, which `shallow` yields in the same order (for their certainty and calls).
    let mut shallow = frames
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, f)| f.depth as usize <= MAX_DEPTH)
        .map(|(i, _)| i);
    let mut stack: Vec<u64> = Vec::new();
    let mut leaf = 0usize;
    let mut whole = Whole {
        scale,
        exact: 0.0,
        written: 0,
    };
    let mut sample = Sample::default();
    // Per function: its frames' calls so far, unrounded and as written.
    let mut calls_carry = vec![(0.0f64, 0i64); if calls { n_funcs } else { 0 }];
    let mut emit = |sample: &mut Sample,
                    stack: &mut dyn Iterator<Item = u64>,
                    time: i64,
                    n: i64,
                    grade: i64|
     -> io::Result<()> {
        if time == 0 && n == 0 {
            return Ok(());
        }
        sample.location_id.clear();
        sample.location_id.extend(stack.filter(|&l| l != UNUSED));
        sample.value.clear();
        sample.value.push(time);
        if calls {
            sample.value.push(n);
        }
        sample.label.clear();
        sample.label.push(Label {
            key: certainty_key,
            str: grade,
        });
        prost::encoding::message::encode(SAMPLE_TAG, &*sample, &mut buf);
        if buf.len() >= 1 << 16 {
            gz.write_all(&buf)?;
            buf.clear();
        }
        Ok(())
    };
    let (deep_frames, deep_time) = tree.walk_stacks(MAX_DEPTH, |step| -> io::Result<()> {
        match step {
            StackStep::Enter(depth, func) => {
                stack.truncate(depth - 1);
                stack.push(func.map_or(UNUSED, |id| ids[id as usize]));
                leaf = shallow.next().unwrap_or(0);
                Ok(())
            }
            // The frame's own time: the time of frames deeper than the cut, and of
            // children too narrow to draw, is its functions' unplaced time.
            // Under --focus (no unplaced time), the frame's self time as -f log has it.
            StackStep::Complete(self_time) => {
                let frame = &frames[leaf];
                let own = positive(frame.own_time());
                let time = whole.next(if focus {
                    positive(self_time)
                } else {
                    frame.func.map_or(own, |f| own * share[f as usize])
                });
                let n = match frame.func {
                    Some(f) if calls => {
                        let f = f as usize;
                        let c = &mut calls_carry[f];
                        c.0 += positive(frame.calls) * calls_share[f];
                        let n = (c.0.round() as i64 - c.1).max(0);
                        c.1 += n;
                        n
                    }
                    _ => 0,
                };
                let grade = tree.certainty(leaf as u32);
                let mut stack = stack.iter().rev().copied();
                emit(&mut sample, &mut stack, time, n, grades[grade as usize])
            }
        }
    })?;

    // Each function's unplaced time and calls: one sample where [`Places`] puts it, so
    // that each function's flat time is its whole self time. Graded a guess: where
    // it goes is.
    let mut chain: Vec<u64> = Vec::new();
    for &(id, time, n) in &unplaced {
        chain.clear();
        chain.push(ids[id as usize]);
        let anchor = places.walk(id, |f| chain.push(ids[f as usize]));
        let below = anchor.map(|p| tree.stack(p)).unwrap_or_default();
        let mut stack = chain.iter().copied().chain(
            below
                .iter()
                .rev()
                .map(|&i| frames[i as usize].func.map_or(UNUSED, |f| ids[f as usize])),
        );
        let time = whole.next(time);
        emit(
            &mut sample,
            &mut stack,
            time,
            n,
            grades[Certainty::Guess as usize],
        )?;
    }

    let total = tree.total();
    let duration = if timed && total.is_finite() && total > 0.0 {
        (total * 1e9).round() as i64
    } else {
        0
    };
    let mut comment = format!("flameprof {}", env!("CARGO_PKG_VERSION"));
    if !job.options.title.is_empty() {
        comment.push_str(": ");
        comment.push_str(&job.options.title);
    }
    let comment = vec![strings.intern(&comment)];
    let rest = Profile {
        sample_type: Vec::new(),
        // One mapping for every location, saying the functions, files and lines are
        // there already: pprof has nothing to symbolize.
        mapping: vec![Mapping {
            id: 1,
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
        }],
        location: locations,
        function: functions,
        string_table: Vec::new(),
        duration_nanos: duration,
        period_type: Some(time_type.clone()),
        period: 1,
        comment,
        default_sample_type: time_type.r#type,
    };
    rest.encode(&mut buf).map_err(io::Error::other)?;
    // The string table last, once every string is in it.
    for s in &strings.table {
        prost::encoding::string::encode(6, s, &mut buf);
    }
    gz.write_all(&buf)?;
    gz.finish()?.flush()?;
    if deep_frames > 0 {
        job.warn(format!(
            "-f pprof: stacks cut at {MAX_DEPTH} frames: the self time of {deep_frames} \
             deeper frames ({deep_time:.6}s) is written as their functions' unplaced \
             time; --max-depth cuts the tree itself"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rounding each value alone would lose up to half a nanosecond a sample: the
    /// error is carried, so the whole numbers add up to the sum of the seconds.
    #[test]
    fn nanoseconds_carry_their_rounding_error() {
        let mut whole = Whole {
            scale: 1e9,
            exact: 0.0,
            written: 0,
        };
        let values: Vec<i64> = (0..1000).map(|_| whole.next(0.4e-9)).collect();
        assert_eq!(values.iter().sum::<i64>(), 400);
        assert!(values.iter().all(|&v| v == 0 || v == 1));
        // Hostile values saturate, never panic or go negative.
        for v in [f64::MAX, f64::INFINITY, f64::NAN, -1.0] {
            assert!(whole.next(v) >= 0);
        }
    }

    #[test]
    fn the_string_table_starts_empty_and_keeps_each_string_once() {
        let mut s = Strings::new();
        assert_eq!(s.intern("a"), 1);
        assert_eq!(s.intern(""), 0);
        assert_eq!(s.intern("a"), 1);
        assert_eq!(s.push("a"), 2);
        assert_eq!(s.table, ["", "a", "a"]);
    }
}
