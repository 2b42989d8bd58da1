//! The call paths `flameprof run` records beside cProfile → [`Profile`] with exact
//! stacks: every distinct path from the root, its own time in nanoseconds and the
//! calls of its last frame on it ([`crate::model::Stacks::calls`]). Specified in `formats/call-paths/README.md`; written by the bootstrap's
//! recorder (`runner/recorder.c`), read back to guide the stats of the same run
//! ([`crate::pipeline::guided`]).
//!
//! Read alone ([`load_recorded`]), it is the whole profile of its run: the stats
//! cProfile would have written and the stacks. Read beside a stats file (`--stacks`,
//! [`load`]), its stacks guide them.
//!
//! Recognised by its first line ([`is_call_paths`]). Its numbers are checked as read,
//! so that bad input is an error with its line number. A path names its parent by
//! number, and a parent comes before its children, so the file holds each frame once
//! while the stacks it describes repeat their prefixes (a recursion n deep, n(n+1)/2
//! frames): the stacks are made only up to [`frame_bound`] frames, a small multiple of
//! the file; past it, a recording is drawn from its stats alone, with a warning.

use bytes::Bytes;

use super::collapsed::Reader;
use super::pstats::{MAX_TEXT_BYTES, ReadProfile};
use std::collections::HashMap;

use crate::model::{
    Backing, Count, EdgeStats, FuncKey, Profile, ProfileBuilder, RawStacks, StackValue, Stats,
};

/// The first line of a call-paths file, its version after it.
pub const MAGIC: &str = "# flameprof call paths ";

/// The version this reads.
const VERSION: &str = "1";

/// At most this many frames in all the stacks of a file of `len` bytes (four bytes a
/// frame): 16 per byte of the file, or 4 M frames for a small file. A real program's
/// recording takes a few per byte (pip list's: 3); a deep recursion recorded at every
/// depth takes more.
pub fn frame_bound(len: usize) -> usize {
    len.saturating_mul(16).max(1 << 22)
}

/// Whether `data` starts as a call-paths file (any version).
pub fn is_call_paths(data: &[u8]) -> bool {
    data.starts_with(MAGIC.as_bytes())
}

/// Reads the call paths in `data`: the profile of their stacks (see
/// [`CallPaths::stacks`]), to guide the stats of the same run.
pub fn load(data: &Bytes) -> Result<ReadProfile, String> {
    let paths = CallPaths::parse(data)?;
    let Some(profile) = paths.stacks() else {
        return Err(paths.too_deep());
    };
    Ok(ReadProfile {
        profile,
        warnings: paths.warnings(),
    })
}

/// Reads the call paths in `data` as the whole profile of their run: the stats
/// cProfile would have written ([`CallPaths::stats`]) drawn from the paths' own
/// stacks, which agree with them, every frame exact ([`Profile::guided_by`]).
pub fn load_recorded(data: &Bytes) -> Result<ReadProfile, String> {
    let paths = CallPaths::parse(data)?;
    let mut warnings = paths.warnings();
    let stats = paths.stats();
    let Some(stacks) = paths.stacks() else {
        warnings.push(format!("{}; drawn from the stats alone", paths.too_deep()));
        return Ok(ReadProfile {
            profile: stats,
            warnings,
        });
    };
    drop(paths);
    let profile = (stats.drawn_from(&stacks))
        .or_else(|| stats.guided_by(&stacks, Backing::Recorded, &|_| Vec::new()))
        .unwrap_or(stats);
    Ok(ReadProfile { profile, warnings })
}

/// A recording: its functions and paths.
pub struct CallPaths {
    keys: Vec<FuncKey>,
    /// Per path (from 1; 0 is the root): its parent, function and depth.
    paths: Vec<(u32, u32, u32)>,
    /// Per path: its calls and own time (nanoseconds).
    measured: Vec<(u64, u64)>,
    /// The frames of the stacks of the paths of some time.
    frames: usize,
    /// The most frames its stacks may take ([`frame_bound`]).
    bound: usize,
    /// Names too long, shortened.
    shortened: usize,
}

impl CallPaths {
    /// Reads the call paths in `data`. Refuses another version, a path before its
    /// parent or naming an unknown function.
    pub fn parse(data: &Bytes) -> Result<CallPaths, String> {
        parse(data)
    }

    /// What reading them warns of.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.shortened > 0 {
            warnings.push(format!(
                "{} file or function names longer than {MAX_TEXT_BYTES} bytes were shortened",
                self.shortened
            ));
        }
        warnings
    }

    /// The profile of the paths' stacks, each path's own time in nanoseconds on its
    /// stack ([`StackValue::Nanoseconds`]) with its calls, paths of no time left out;
    /// stacks only ([`Profile::stacks_only`]), to guide [`CallPaths::stats`]. `None`
    /// when they would take more than [`frame_bound`] frames.
    pub fn stacks(&self) -> Option<Profile> {
        if self.frames > self.bound {
            return None;
        }
        let raw = stacks_in_order(&self.paths, &self.measured, &self.keys, self.frames);
        Some(Profile::stacks_only(self.keys.clone(), raw))
    }

    /// Why [`CallPaths::stacks`] gave none.
    pub fn too_deep(&self) -> String {
        format!(
            "the paths' stacks would hold {} frames, more than {} for a file this size",
            self.frames, self.bound
        )
    }

    /// The stats cProfile would have written for the recorded run, with no stacks:
    /// per function its calls, primitive calls (those not made within another call
    /// of it), own time and cumulative time (summed over the calls not made within
    /// another call of it), and per caller→callee the same four, a call being
    /// primitive there unless made within another call of that same caller→callee
    /// (cProfile's sub-entry recursion). Rows in the order of their first call.
    pub fn stats(&self) -> Profile {
        let n = self.paths.len();
        // Each path's time: its own and its descendants' (children follow parents).
        let mut total: Vec<u64> = self.measured.iter().map(|m| m.1).collect();
        for i in (1..n).rev() {
            let parent = self.paths[i].0 as usize;
            if parent != 0 {
                total[parent] = total[parent].saturating_add(total[i]);
            }
        }
        let mut functions: Vec<Stats> = vec![Stats::default(); self.keys.len()];
        let mut order: Vec<u32> = Vec::new();
        let mut listed = vec![false; self.keys.len()];
        let mut edges: HashMap<(u32, u32), Stats> = HashMap::new();
        let mut edge_order: Vec<(u32, u32)> = Vec::new();
        // Depth first, with what is open above each path: its functions, and its
        // caller→callee pairs.
        let children = Children::new(&self.paths);
        let mut open_functions = vec![0u32; self.keys.len()];
        let mut open_pairs: HashMap<(u32, u32), u32> = HashMap::new();
        let mut line: Vec<u32> = Vec::new();
        let seconds = |ns: u64| ns as f64 * 1e-9;
        let mut pending: Vec<std::ops::Range<usize>> = Vec::new();
        pending.push(children.of(0));
        while let Some(range) = pending.last_mut() {
            let Some(at) = range.next() else {
                pending.pop();
                if let Some(done) = line.pop() {
                    let f = self.paths[done as usize].1;
                    open_functions[f as usize] -= 1;
                    if let Some(&caller) = line.last() {
                        let pair = (self.paths[caller as usize].1, f);
                        if let Some(k) = open_pairs.get_mut(&pair) {
                            *k -= 1;
                        }
                    }
                }
                continue;
            };
            let path = children.list[at] as usize;
            let (_, f, _) = self.paths[path];
            let (calls, own) = self.measured[path];
            let calls = Count::from(calls);
            if !listed[f as usize] {
                listed[f as usize] = true;
                order.push(f);
            }
            let s = &mut functions[f as usize];
            let outermost = open_functions[f as usize] == 0;
            s.nc += calls;
            s.tt += seconds(own);
            if outermost {
                s.cc += calls;
                s.ct += seconds(total[path]);
            }
            if let Some(&caller) = line.last() {
                let pair = (self.paths[caller as usize].1, f);
                let open = open_pairs.entry(pair).or_default();
                let e = edges.entry(pair).or_insert_with(|| {
                    edge_order.push(pair);
                    Stats::default()
                });
                e.nc += calls;
                e.tt += seconds(own);
                if *open == 0 {
                    e.cc += calls;
                    e.ct += seconds(total[path]);
                }
                *open += 1;
            }
            open_functions[f as usize] += 1;
            line.push(path as u32);
            pending.push(children.of(path));
        }
        let mut b = ProfileBuilder::new();
        for &f in &order {
            b.add_function(self.keys[f as usize].clone(), functions[f as usize]);
        }
        for pair in edge_order {
            let key = |f: u32| self.keys[f as usize].clone();
            b.add_edge(key(pair.0), key(pair.1), EdgeStats::Timed(edges[&pair]));
        }
        b.finish()
    }
}

/// Each path's children, in file order: `list[first[p]..first[p + 1]]`.
struct Children {
    first: Vec<usize>,
    list: Vec<u32>,
}

impl Children {
    fn new(paths: &[(u32, u32, u32)]) -> Children {
        let mut first = vec![0usize; paths.len() + 1];
        for &(parent, ..) in &paths[1..] {
            first[parent as usize + 1] += 1;
        }
        for i in 1..first.len() {
            first[i] += first[i - 1];
        }
        let mut list = vec![0u32; paths.len() - 1];
        let mut filled = first.clone();
        for (i, &(parent, ..)) in paths.iter().enumerate().skip(1) {
            list[filled[parent as usize]] = i as u32;
            filled[parent as usize] += 1;
        }
        Children { first, list }
    }

    fn of(&self, path: usize) -> std::ops::Range<usize> {
        self.first[path]..self.first[path + 1]
    }
}

fn parse(data: &Bytes) -> Result<CallPaths, String> {
    let mut functions = Reader::default();
    // Per function line, its function; per path (from 1; 0 is the root), its parent,
    // function and depth, and its calls and own time.
    let mut listed: Vec<u32> = Vec::new();
    let mut paths: Vec<(u32, u32, u32)> = vec![(0, 0, 0)];
    let mut measured: Vec<(u64, u64)> = vec![(0, 0)];
    let mut frames = 0usize;
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let fail = |problem: &str| format!("line {}: {problem}", n + 1);
        if n == 0 {
            let version = line.strip_prefix(MAGIC.as_bytes()).unwrap_or(b"");
            if version != VERSION.as_bytes() {
                return Err(fail(&format!(
                    "call paths of version '{}', which this flameprof cannot read (it reads {VERSION})",
                    String::from_utf8_lossy(version)
                )));
            }
            continue;
        }
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let text = std::str::from_utf8(line).map_err(|e| {
            fail(&format!(
                "not valid UTF-8 (byte 0x{:02x} at column {})",
                line[e.valid_up_to()],
                e.valid_up_to() + 1
            ))
        })?;
        if let Some(frame) = text.strip_prefix("f ") {
            if frame.is_empty() || frame.chars().any(char::is_control) {
                return Err(fail(
                    "a function's frame is empty or holds a control character",
                ));
            }
            listed.push(functions.intern(frame));
        } else if let Some(fields) = text.strip_prefix("n ") {
            let mut numbers = fields.split(' ').map(|f| f.parse::<u64>().ok());
            let (
                Some(Some(parent)),
                Some(Some(function)),
                Some(Some(calls)),
                Some(Some(own)),
                None,
            ) = (
                numbers.next(),
                numbers.next(),
                numbers.next(),
                numbers.next(),
                numbers.next(),
            )
            else {
                return Err(fail(
                    "a path is `n PARENT FUNCTION CALLS OWN`, four whole numbers",
                ));
            };
            let Some(&func) = usize::try_from(function).ok().and_then(|f| listed.get(f)) else {
                return Err(fail(&format!(
                    "path {} names function {function}, not listed before it",
                    paths.len()
                )));
            };
            let Some(&(_, _, parent_depth)) =
                usize::try_from(parent).ok().and_then(|p| paths.get(p))
            else {
                return Err(fail(&format!(
                    "path {} extends path {parent}, not before it",
                    paths.len()
                )));
            };
            let depth = parent_depth + 1;
            if own > 0 {
                frames = frames.saturating_add(depth as usize);
            }
            paths.push((parent as u32, func, depth));
            measured.push((calls.min(u64::MAX - 1), own));
        } else {
            return Err(fail(
                "not a function (`f FRAME`) nor a path (`n PARENT FUNCTION CALLS OWN`)",
            ));
        }
    }
    Ok(CallPaths {
        bound: frame_bound(data.len()),
        shortened: functions.shortened,
        keys: functions.keys,
        paths,
        measured,
        frames,
    })
}

/// The stacks of the paths of some time, in the order [`Profile::from_stacks`] sorts
/// them into (by their functions' keys, a prefix first), so that its sort only checks:
/// the paths walked depth first, each path's children in the order of their
/// functions' keys. `paths` are `(parent, function, depth)`, `measured` `(calls,
/// own)`, both from path 0 (the root); `frames` is the frames of all the stacks.
fn stacks_in_order(
    paths: &[(u32, u32, u32)],
    measured: &[(u64, u64)],
    keys: &[FuncKey],
    frames: usize,
) -> RawStacks {
    let mut rank = vec![0u32; keys.len()];
    let mut by_key: Vec<usize> = (0..keys.len()).collect();
    by_key.sort_unstable_by(|&a, &b| keys[a].cmp(&keys[b]));
    for (r, &f) in by_key.iter().enumerate() {
        rank[f] = r as u32;
    }
    // Each path's children, in the order of their functions' keys (then of the file).
    let mut children = Children::new(paths);
    for p in 0..paths.len() {
        let range = children.of(p);
        children.list[range].sort_by_key(|&c| (rank[paths[c as usize].1 as usize], c));
    }
    let mut raw = RawStacks {
        unit: StackValue::Nanoseconds,
        frames: Vec::with_capacity(frames),
        ..RawStacks::default()
    };
    // Depth first: the current path's functions, and per level the children left.
    let mut stack: Vec<u32> = Vec::new();
    let mut pending: Vec<std::ops::Range<usize>> = Vec::new();
    pending.push(children.of(0));
    while let Some(range) = pending.last_mut() {
        let Some(at) = range.next() else {
            pending.pop();
            stack.pop();
            continue;
        };
        let path = children.list[at] as usize;
        stack.truncate(paths[path].2 as usize - 1);
        stack.push(paths[path].1);
        let (calls, own) = measured[path];
        if own > 0 {
            raw.push_called(stack.iter().copied(), own, calls);
        }
        pending.push(children.of(path));
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ReadProfile, String> {
        load(&Bytes::from(text.to_string()))
    }

    fn stacks_of(text: &str) -> Vec<(Vec<String>, u64)> {
        let p = read(text).unwrap().profile;
        let s = p.stacks().unwrap();
        (0..s.len())
            .map(|i| {
                let (frames, v) = s.get(i);
                let names = frames
                    .iter()
                    .map(|&f| p.function(f).key.name.to_string())
                    .collect();
                (names, v)
            })
            .collect()
    }

    #[test]
    fn paths_become_the_stacks_of_their_own_time() {
        let text = "# flameprof call paths 1\n# mode: wall\nf a.py:1:main\nf a.py:5:load\n\
                    f a.py:9:process\nf ~:0:<built-in method builtins.len>\n\
                    n 0 0 1 100\nn 1 1 1 50\nn 2 2 3 0\nn 3 3 3 7\nn 1 2 2 20\n";
        assert_eq!(
            stacks_of(text),
            [
                (vec!["main".to_string()], 100),
                (vec!["main".into(), "load".into()], 50),
                (
                    vec![
                        "main".into(),
                        "load".into(),
                        "process".into(),
                        "<built-in method builtins.len>".into()
                    ],
                    7
                ),
                (vec!["main".into(), "process".into()], 20),
            ]
        );
        let p = read(text).unwrap().profile;
        let s = p.stacks().unwrap();
        assert!(s.is_estimated(), "nanoseconds guide a profile of calls");
        // Each stack's calls are its path's own (path 3, of no time, has none).
        let calls: Vec<Option<f64>> = (0..s.len()).map(|i| s.calls(i)).collect();
        assert_eq!(calls, [Some(1.0), Some(1.0), Some(3.0), Some(2.0)]);
    }

    #[test]
    fn a_recursion_s_frames_keep_their_own_paths_calls() {
        // main (1 call) calls len 3 times and itself twice, which calls len once:
        // cProfile counts main 3 times, the flame graph's outer main once.
        let text = "# flameprof call paths 1\n# mode: wall\nf a.py:1:main\n\
                    f ~:0:<built-in method len>\n\
                    n 0 0 1 100\nn 1 1 3 50\nn 1 0 2 0\nn 3 1 1 5\n";
        let p = crate::input::load("rec.paths", Bytes::from(text))
            .unwrap()
            .profile;
        let main =
            (0..p.functions().len() as u32).find(|&f| p.function(f).key.name.as_str() == "main");
        let nc = p.function(main.unwrap()).stats.nc;
        assert_eq!(nc, 3);
        let tree = crate::tree::flame_tree(&p, &crate::tree::TreeOptions::default());
        let frames: Vec<(Vec<String>, f64, bool)> = (1..tree.frames().len() as u32)
            .map(|i| {
                let stack = tree.stack_of(i);
                let names = stack.iter().map(|&f| p.function(f).key.name.to_string());
                let f = &tree.frames()[i as usize];
                (names.collect(), f.calls, f.exact)
            })
            .collect();
        let calls = |path: &[&str]| {
            let found = frames.iter().find(|(names, _, _)| names == path);
            found
                .unwrap_or_else(|| panic!("no {path:?} in {frames:?}"))
                .1
                .round()
        };
        assert_eq!(calls(&["main"]), 1.0, "{frames:?}");
        assert_eq!(calls(&["main", "main"]), 2.0, "{frames:?}");
        assert_eq!(calls(&["main", "<built-in method len>"]), 3.0);
        assert_eq!(calls(&["main", "main", "<built-in method len>"]), 1.0);
        assert!(frames.iter().all(|f| f.2), "every frame exact: {frames:?}");
        // The inverted tree: each function with its calls, each under its callers
        // with the calls between them (len: 3 from the outer main, 1 from the inner).
        let inverted = crate::tree::inverted_tree(&p, &crate::tree::TreeOptions::default());
        let rows: Vec<(Vec<String>, f64)> = (1..inverted.frames().len() as u32)
            .map(|i| {
                let stack = inverted.stack_of(i);
                let names = stack.iter().map(|&f| p.function(f).key.name.to_string());
                (names.collect(), inverted.frames()[i as usize].calls.round())
            })
            .collect();
        let calls = |path: &[&str]| {
            let found = rows.iter().find(|(names, _)| names == path);
            found.unwrap_or_else(|| panic!("no {path:?} in {rows:?}")).1
        };
        assert_eq!(calls(&["main"]), 3.0, "{rows:?}");
        assert_eq!(calls(&["<built-in method len>"]), 4.0, "{rows:?}");
        assert_eq!(calls(&["<built-in method len>", "main"]), 4.0, "{rows:?}");
    }

    #[test]
    fn bad_paths_are_refused_with_their_line() {
        let head = "# flameprof call paths 1\nf a.py:1:main\n";
        for (body, problem) in [
            (
                "n 2 0 1 1\n",
                "line 3: path 1 extends path 2, not before it",
            ),
            (
                "n 0 1 1 1\n",
                "line 3: path 1 names function 1, not listed before it",
            ),
            ("n 0 0 1\n", "line 3: a path is"),
            ("n 0 0 1 x\n", "line 3: a path is"),
            ("n 0 0 1 1 1\n", "line 3: a path is"),
            ("n 0 0 1 -1\n", "line 3: a path is"),
            ("z\n", "line 3: not a function"),
            ("f \n", "line 3: a function's frame is empty"),
        ] {
            let err = read(&format!("{head}{body}")).err().unwrap_or_default();
            assert!(err.starts_with(problem), "{body:?}: {err}");
        }
        let err = read("# flameprof call paths 2\n").err().unwrap();
        assert!(err.contains("version '2'"), "{err}");
    }

    #[test]
    fn stacks_past_a_small_multiple_of_the_file_are_not_made() {
        // A chain 3,000 deep with time at every depth: 4.5 M frames from 40 KB.
        let mut text = String::from("# flameprof call paths 1\nf a.py:1:f\nn 0 0 1 5\n");
        for i in 1..3000 {
            text.push_str(&format!("n {i} 0 1 5\n"));
        }
        let data = Bytes::from(text);
        assert!(data.len() * 16 < 4_500_000 && 4_500_000 > 1 << 22);
        let err = load(&data).err().unwrap();
        assert!(err.contains("4501500 frames"), "{err}");
        let read = load_recorded(&data).unwrap();
        assert!(read.profile.stacks().is_none());
        assert!(
            read.warnings[0].ends_with("drawn from the stats alone"),
            "{:?}",
            read.warnings
        );
        // The stats are whole: 3,000 calls of f, one of them primitive.
        let f = &read.profile.functions()[0].stats;
        assert_eq!((f.nc, f.cc), (3000, 1));
    }

    #[test]
    fn a_path_is_its_own_parent_only_after_it_exists() {
        // Path 1 naming itself as parent would loop when walked up.
        let err = read("# flameprof call paths 1\nf a:1:x\nn 1 0 1 1\n")
            .err()
            .unwrap();
        assert!(err.contains("extends path 1, not before it"), "{err}");
    }
}
