//! The call paths `flameprof run` records beside cProfile → [`Profile`] with exact
//! stacks: every distinct path from the root, its calls and its own time in
//! nanoseconds. Specified in `formats/call-paths/README.md`; written by the bootstrap's
//! recorder (`runner/recorder.c`), read back to guide the stats of the same run
//! ([`crate::pipeline::guided`]).
//!
//! Recognised by its first line ([`is_call_paths`]). A path names its parent by
//! number, and a parent comes before its children, so the file holds each frame once
//! while the stacks it describes repeat their prefixes: the stacks are bounded
//! instead by [`MAX_FRAMES`], past which the file is refused, and its numbers are
//! checked as read, so that bad input is an error with its line number.

use bytes::Bytes;

use super::collapsed::Reader;
use super::pstats::{MAX_TEXT_BYTES, ReadProfile};
use crate::model::{Profile, RawStacks, StackValue};

/// The first line of a call-paths file, its version after it.
pub const MAGIC: &str = "# flameprof call paths ";

/// The version this reads.
const VERSION: &str = "1";

/// At most this many frames in all the stacks (four bytes each): a path is as deep as
/// the program's deepest call, and a file of deep paths would otherwise ask for their
/// depth times their number.
pub const MAX_FRAMES: usize = 1 << 28;

/// Whether `data` starts as a call-paths file (any version).
pub fn is_call_paths(data: &[u8]) -> bool {
    data.starts_with(MAGIC.as_bytes())
}

/// Reads the call paths in `data`: the profile of their stacks, each path's own time
/// in nanoseconds on its stack ([`StackValue::Nanoseconds`]), paths of no time left
/// out. Refuses another version, a path before its parent or naming an unknown
/// function, and more than [`MAX_FRAMES`] frames.
pub fn load(data: &Bytes) -> Result<ReadProfile, String> {
    let mut functions = Reader::default();
    // Per function line, its function; per path (from 1; 0 is the root), its parent,
    // function and depth.
    let mut listed: Vec<u32> = Vec::new();
    let mut paths: Vec<(u32, u32, u32)> = vec![(0, 0, 0)];
    let mut raw = RawStacks {
        unit: StackValue::Nanoseconds,
        ..RawStacks::default()
    };
    let mut stack: Vec<u32> = Vec::new();
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
                return Err(fail("a function's frame is empty or holds a control character"));
            }
            listed.push(functions.intern(frame));
        } else if let Some(fields) = text.strip_prefix("n ") {
            let mut numbers = fields.split(' ').map(|f| f.parse::<u64>().ok());
            let (Some(Some(parent)), Some(Some(function)), Some(Some(_calls)), Some(Some(own)), None) = (
                numbers.next(),
                numbers.next(),
                numbers.next(),
                numbers.next(),
                numbers.next(),
            ) else {
                return Err(fail("a path is `n PARENT FUNCTION CALLS OWN`, four whole numbers"));
            };
            let Some(&func) = usize::try_from(function).ok().and_then(|f| listed.get(f)) else {
                return Err(fail(&format!("path {} names function {function}, not listed before it", paths.len())));
            };
            let Some(&(_, _, parent_depth)) = usize::try_from(parent).ok().and_then(|p| paths.get(p)) else {
                return Err(fail(&format!("path {} extends path {parent}, not before it", paths.len())));
            };
            let depth = parent_depth + 1;
            paths.push((parent as u32, func, depth));
            if own == 0 {
                continue;
            }
            if raw.frames.len() + depth as usize > MAX_FRAMES {
                return Err(fail(&format!("the paths hold more than {MAX_FRAMES} frames")));
            }
            stack.clear();
            let mut at = paths.len() - 1;
            while at != 0 {
                let (parent, func, _) = paths[at];
                stack.push(func);
                at = parent as usize;
            }
            raw.push(stack.iter().rev().copied(), own);
        } else {
            return Err(fail("not a function (`f FRAME`) nor a path (`n PARENT FUNCTION CALLS OWN`)"));
        }
    }
    let mut warnings = Vec::new();
    if functions.shortened > 0 {
        warnings.push(format!(
            "{} file or function names longer than {MAX_TEXT_BYTES} bytes were shortened",
            functions.shortened
        ));
    }
    Ok(ReadProfile {
        profile: Profile::from_stacks(functions.keys, raw),
        warnings,
    })
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
                let names = frames.iter().map(|&f| p.function(f).key.name.to_string()).collect();
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
                (vec!["main".into(), "load".into(), "process".into(), "<built-in method builtins.len>".into()], 7),
                (vec!["main".into(), "process".into()], 20),
            ]
        );
        let p = read(text).unwrap().profile;
        assert!(p.stacks().unwrap().is_estimated(), "nanoseconds guide a profile of calls");
    }

    #[test]
    fn bad_paths_are_refused_with_their_line() {
        let head = "# flameprof call paths 1\nf a.py:1:main\n";
        for (body, problem) in [
            ("n 2 0 1 1\n", "line 3: path 1 extends path 2, not before it"),
            ("n 0 1 1 1\n", "line 3: path 1 names function 1, not listed before it"),
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
    fn a_path_is_its_own_parent_only_after_it_exists() {
        // Path 1 naming itself as parent would loop when walked up.
        let err = read("# flameprof call paths 1\nf a:1:x\nn 1 0 1 1\n").err().unwrap();
        assert!(err.contains("extends path 1, not before it"), "{err}");
    }
}
