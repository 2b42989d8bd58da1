//! Collapsed ("folded") stacks → [`Profile`]: one line per stack, `frame;frame;... COUNT`,
//! as flamegraph.pl, inferno, py-spy (`--format raw`), austin (through `mojo2austin`),
//! CPython 3.15's `profiling.sampling --collapsed` and our own `-f log` write them.
//! Specified in `formats/collapsed/README.md`.
//!
//! Recognised from the content, never the file name ([`looks_collapsed`]). Each frame is
//! read on its own, so one file may mix dialects: `name (file:line)` (py-spy),
//! `file:line:name` (our `-f log`), `file:function:line` (austin, CPython), or a bare
//! name (flamegraph.pl's generic frames, CPython's `<GC>`), kept as `~:0(name)` as
//! pstats names its builtins. The frames a profiler puts under the stacks for the
//! process and the thread are kept as roots, or dropped on request
//! ([`ReadOptions::thread_roots`]).
//!
//! austin's values are its metric, not samples: its `# mode:` header says which. In
//! `wall` and `cpu` mode they are microseconds, read as such
//! ([`StackValue::Microseconds`]); `full` mode writes `time,+mem,-mem`, of which the time
//! is read and a warning says the memory was left out; `memory` mode (bytes) is refused,
//! as the model measures samples and seconds only. austin's `:INVALID:` frame (a sample
//! it could not read) is kept as the sampler frame `~:0(<INVALID>)`, shown `{INVALID}`.
//!
//! Bad input is refused with the line number and the problem; nothing is allocated
//! beyond a few times the input (four bytes per frame, a key per distinct frame).

use std::collections::HashMap;

use bytes::Bytes;

use super::pstats::{MAX_TEXT_BYTES, ReadProfile};
use crate::model::{FuncKey, Profile, RawStacks, StackValue, Text, shortened_str};

/// What reading an input may change, whatever its format.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Keep the process and thread frames sampling profilers write at the root of each
    /// stack (py-spy's `thread (0x...)`, austin's `P123;T0:456`, CPython's `tid:123`);
    /// without them, every thread's stacks are merged.
    pub thread_roots: bool,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions { thread_roots: true }
    }
}

/// True when `head` (the first bytes of an input) is text: valid UTF-8 (a character
/// cut at the end aside) without control characters but tab and line breaks. A stats
/// file never is: its first bytes hold type codes and lengths.
pub fn is_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => match std::str::from_utf8(&head[..e.valid_up_to()]) {
            Ok(t) => t,
            Err(_) => return false,
        },
        Err(_) => return false,
    };
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// How far [`looks_collapsed`] looks.
const SNIFF_BYTES: usize = 4096;

/// Whether `data` reads as collapsed stacks: its first line (past blank lines and `#`
/// comments) is text, and ends with a number after a space, or holds a `;`.
pub fn looks_collapsed(data: &[u8]) -> bool {
    let head = &data[..data.len().min(SNIFF_BYTES)];
    let Some(line) = head
        .split(|&b| b == b'\n')
        .map(trim_cr)
        .find(|l| !l.iter().all(u8::is_ascii_whitespace) && !l.starts_with(b"#"))
    else {
        return false;
    };
    // Only the first line need be text: a bad byte further on is an error on its line.
    if !is_text(line) {
        return false;
    }
    // A line longer than the window: its frames decide.
    let complete = line.len() < head.len() || head.len() == data.len();
    let numeric_tail = match line.iter().rposition(|&b| b == b' ' || b == b'\t') {
        Some(at) if at > 0 => {
            let tail = &line[at + 1..];
            tail.first()
                .is_some_and(|b| b.is_ascii_digit() || *b == b'-')
                && tail
                    .iter()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        }
        _ => false,
    };
    (complete && numeric_tail) || line.contains(&b';')
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads the collapsed stacks in `data`.
pub fn load(data: &Bytes, options: &ReadOptions) -> Result<ReadProfile, String> {
    let mut reader = Reader::default();
    let mut raw = RawStacks::default();
    let mut frames: Vec<u32> = Vec::new();
    let (mut frameless, mut frameless_lines) = (0u64, 0usize);
    // austin's `full` mode: values are `time,+mem,-mem`, the time read.
    let mut full = false;
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        let line = trim_cr(line);
        let fail = |problem: String| format!("line {}: {problem}", n + 1);
        if let Some(mode) = line.strip_prefix(b"# mode:") {
            let mode = String::from_utf8_lossy(mode);
            (raw.unit, full) = austin_mode(mode.trim()).map_err(fail)?;
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) || line.starts_with(b"#") {
            continue;
        }
        let text = std::str::from_utf8(line).map_err(|e| {
            fail(format!(
                "not valid UTF-8 (byte 0x{:02x} at column {})",
                line[e.valid_up_to()],
                e.valid_up_to() + 1
            ))
        })?;
        if let Some((i, c)) = text
            .char_indices()
            .find(|&(_, c)| c.is_control() && c != '\t')
        {
            return Err(fail(format!(
                "a control character (U+{:04X}) at column {}",
                c as u32,
                i + 1
            )));
        }
        let (stack, count) = split_count(text, full).map_err(fail)?;
        if count == 0 {
            continue;
        }
        if stack.is_empty() {
            // py-spy writes the samples of a thread with no Python frame this way.
            frameless = frameless.saturating_add(count);
            frameless_lines += 1;
            continue;
        }
        frames.clear();
        let mut in_roots = true;
        let mut process = false;
        for (k, frame) in stack.split(';').enumerate() {
            if frame.is_empty() {
                return Err(fail(format!("frame {} is empty", k + 1)));
            }
            // Our -f log writes a root frame as a builtin's: `~:0:thread (…)`.
            let bare = frame.strip_prefix("~:0:").unwrap_or(frame);
            if in_roots && k < 2 && root_frame(bare, k, process) {
                process = k == 0 && bare.starts_with('P');
                if options.thread_roots {
                    frames.push(reader.intern_bare(bare));
                }
            } else {
                in_roots = false;
                frames.push(reader.intern(frame));
            }
        }
        if frames.is_empty() {
            // Only thread frames, dropped: a thread with no Python frame.
            frameless = frameless.saturating_add(count);
            frameless_lines += 1;
            continue;
        }
        raw.push(frames.iter().copied(), count);
    }
    let mut warnings = Vec::new();
    if full {
        warnings.push(
            "austin's full mode: the time of each sample was read, its memory \
             (allocated and freed bytes) left out"
                .to_string(),
        );
    }
    if frameless > 0 {
        warnings.push(format!(
            "{frameless} samples with no frames (a thread running no Python code) left \
             out, on {frameless_lines} {}",
            if frameless_lines == 1 {
                "line"
            } else {
                "lines"
            }
        ));
    }
    if reader.shortened > 0 {
        warnings.push(format!(
            "{} file or function names longer than {MAX_TEXT_BYTES} bytes were shortened",
            reader.shortened
        ));
    }
    Ok(ReadProfile {
        profile: Profile::from_stacks(reader.keys, raw),
        warnings,
    })
}

/// What austin's `# mode:` header makes of the values: microseconds for `wall` and
/// `cpu`, and for `full` (its three values) the first, the time. `memory` mode's bytes
/// are refused: the model has no unit for them.
fn austin_mode(mode: &str) -> Result<(StackValue, bool), String> {
    match mode {
        "wall" | "cpu" => Ok((StackValue::Microseconds, false)),
        "full" => Ok((StackValue::Microseconds, true)),
        "memory" => Err("austin's memory mode (values are bytes) is not read; \
                         record in wall or cpu mode"
            .into()),
        other => Err(format!(
            "unknown austin mode '{}' (wall, cpu, full or memory)",
            shortened_str(other, 40).unwrap_or_else(|| other.to_string())
        )),
    }
}

/// Splits `stack COUNT` at the last space or tab; the count is a whole number of
/// samples (of microseconds for austin). With `full` (austin's full mode) the count is
/// the first of `time,+mem,-mem`.
fn split_count(text: &str, full: bool) -> Result<(&str, u64), String> {
    let text = text.trim_end();
    let Some(at) = text.rfind([' ', '\t']) else {
        return Err("no sample count at the end (a line is `frame;frame;... COUNT`)".into());
    };
    let (stack, token) = (text[..at].trim_end(), &text[at + 1..]);
    let token = if full {
        token.split(',').next().unwrap_or(token)
    } else {
        token
    };
    let shown = || shortened_str(token, 40).unwrap_or_else(|| token.to_string());
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        let numeric = token
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            && token.bytes().any(|b| b.is_ascii_digit());
        return Err(if !numeric {
            "no sample count at the end (a line is `frame;frame;... COUNT`)".into()
        } else if token.starts_with('-') {
            format!("negative sample count '{}'", shown())
        } else {
            format!("sample count '{}' is not a whole number", shown())
        });
    }
    let count = token.parse::<u64>().map_err(|_| {
        format!(
            "sample count '{}' is larger than {}, the most flameprof reads",
            shown(),
            u64::MAX
        )
    })?;
    Ok((stack.trim_start(), count))
}

/// Whether `frame`, the `position`th of its stack (0 or 1), names a process or thread
/// rather than code: py-spy's `process 123:"cmd"` and `thread (0x7f..)` (with
/// `: name`), austin's `P123` and, after it, `T0:456`, CPython's `tid:123`.
fn root_frame(frame: &str, position: usize, after_austin_process: bool) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(rest) = frame.strip_prefix("thread (") {
        let id = rest.split(')').next().unwrap_or("");
        return digits(id) || id.strip_prefix("0x").is_some_and(hex);
    }
    if let Some(rest) = frame.strip_prefix("process ") {
        return rest.split(':').next().is_some_and(digits);
    }
    if let Some(rest) = frame.strip_prefix("tid:") {
        return digits(rest);
    }
    if let Some(rest) = frame.strip_prefix('P') {
        return position == 0 && digits(rest);
    }
    if let Some(rest) = frame.strip_prefix('T') {
        return position == 1
            && after_austin_process
            && rest
                .split(':')
                .all(|p| hex(p) || p.strip_prefix("0x").is_some_and(hex));
    }
    false
}

/// Frame texts to keys, each distinct text parsed once: the distinct functions of
/// stacks, as their frames name them.
#[derive(Default)]
pub(super) struct Reader {
    by_text: HashMap<Box<str>, u32>,
    by_key: HashMap<FuncKey, u32>,
    pub(super) keys: Vec<FuncKey>,
    /// How many names were too long and shortened.
    pub(super) shortened: usize,
}

impl Reader {
    /// The function a frame names (see [`parse_frame`]), numbered from 0 as first
    /// seen; frames naming the same key are the same function.
    pub(super) fn intern(&mut self, frame: &str) -> u32 {
        self.intern_with(frame, parse_frame)
    }

    /// A process or thread frame: its text is its name.
    fn intern_bare(&mut self, frame: &str) -> u32 {
        self.intern_with(frame, |f| ("~", 0, f))
    }

    fn intern_with<'a>(
        &mut self,
        frame: &'a str,
        parse: impl Fn(&'a str) -> (&'a str, i64, &'a str),
    ) -> u32 {
        if let Some(&id) = self.by_text.get(frame) {
            return id;
        }
        let (file, line, name) = parse(frame);
        let key = FuncKey::new(self.text(file), line, self.text(name));
        let next = self.keys.len() as u32;
        let id = *self.by_key.entry(key.clone()).or_insert(next);
        if id == next {
            self.keys.push(key);
        }
        self.by_text.insert(frame.into(), id);
        id
    }

    fn text(&mut self, s: &str) -> Text {
        match shortened_str(s, MAX_TEXT_BYTES) {
            Some(short) => {
                self.shortened += 1;
                Text::from(short)
            }
            None => Text::from(s),
        }
    }
}

/// A frame's `(file, line, name)`, whichever dialect wrote it (see the module comment).
/// `file:LINE:name` is tried first: our own output must read back into the keys it was
/// written from, whatever its names hold (`~:0:thread (1): MainThread` ends as py-spy's
/// frames do).
fn parse_frame(frame: &str) -> (&str, i64, &str) {
    let int = |s: &str| -> Option<i64> {
        let digits = s.strip_prefix('-').unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    // `file:line:name` (our -f log): the first `:LINE:` in it (a file may hold `:`).
    let mut colons = frame.match_indices(':').map(|(i, _)| i);
    let mut prev = colons.next();
    for at in colons.by_ref().take(64) {
        if let Some(line) = prev.and_then(|p| int(&frame[p + 1..at])) {
            return (&frame[..prev.unwrap_or(0)], line, &frame[at + 1..]);
        }
        prev = Some(at);
    }
    // py-spy: `name (file:line)`, or `name (file)` without line numbers.
    if frame.ends_with(')')
        && let Some(open) = frame.rfind(" (")
    {
        let (name, inner) = (&frame[..open], &frame[open + 2..frame.len() - 1]);
        if !name.is_empty() && !inner.is_empty() {
            return match inner.rsplit_once(':').and_then(|(f, l)| Some((f, int(l)?))) {
                Some((file, line)) => (file, line, name),
                None => (inner, 0, name),
            };
        }
    }
    // austin's sample it could not read: a sampler frame, as CPython's `<GC>`.
    if frame == ":INVALID:" {
        return ("~", 0, "<INVALID>");
    }
    // `file:function:line` (austin, CPython 3.15): a line at the end.
    if let Some((rest, line)) = frame.rsplit_once(':')
        && let Some(line) = int(line)
        && let Some((file, name)) = rest.rsplit_once(':')
    {
        return (file, line, name);
    }
    ("~", 0, frame)
}
