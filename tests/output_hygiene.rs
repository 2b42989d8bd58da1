//! What reaches a terminal or a downstream tool from hostile or absurd profiles: names
//! carrying escape sequences and line breaks, times whose sum overflows, and call
//! chains deep enough to multiply the size of folded output.

use crate::util::{Run, run_in};

/// A pstats file (a marshalled dict) built from rows.
pub(crate) struct Prof(Vec<u8>, usize);

/// One caller→callee record: the caller's key and `(cc, nc, tt, ct)`.
pub(crate) type Caller<'a> = ((&'a str, i32, &'a str), (i32, i32, f64, f64));

impl Prof {
    pub(crate) fn new() -> Prof {
        Prof(vec![b'{'], 0)
    }

    fn str(&mut self, s: &str) {
        // Marshal's `u` (UTF-8, 32-bit length).
        self.0.push(b'u');
        self.0.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn int(&mut self, n: i32) {
        self.0.push(b'i');
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    fn float(&mut self, x: f64) {
        self.0.push(b'g');
        self.0.extend_from_slice(&x.to_le_bytes());
    }

    fn key(&mut self, (file, line, name): (&str, i32, &str)) {
        self.0.extend([b')', 3]);
        self.str(file);
        self.int(line);
        self.str(name);
    }

    fn numbers(&mut self, (cc, nc, tt, ct): (i32, i32, f64, f64)) {
        self.int(cc);
        self.int(nc);
        self.float(tt);
        self.float(ct);
    }

    /// Adds the row of `key`: `(cc, nc, tt, ct)` and its callers.
    pub(crate) fn row(
        &mut self,
        key: (&str, i32, &str),
        stats: (i32, i32, f64, f64),
        callers: &[Caller<'_>],
    ) -> &mut Prof {
        self.key(key);
        self.0.extend([b')', 5]);
        self.numbers(stats);
        self.0.push(b'{');
        for &(k, s) in callers {
            self.key(k);
            self.0.extend([b')', 4]);
            self.numbers(s);
        }
        self.0.push(b'0');
        self.1 += 1;
        self
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        let mut v = self.0.clone();
        v.push(b'0');
        v
    }
}

fn flameprof(args: &[&str], profile: &Prof) -> Run {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    run_in(dir, args, Some(profile.bytes())).ok()
}

/// Characters that act on a terminal: C0 controls other than the line feed ending
/// each line, DEL, and C1 controls.
fn terminal_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && c.is_control())
        .collect()
}

const HOSTILE: &str = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\r\nforged 1;x\t\u{7f}";

fn hostile_profile() -> Prof {
    let mut p = Prof::new();
    p.row(("a.py", 1, "main"), (1, 1, 0.25, 1.0), &[]);
    p.row(
        ("a.py", 2, HOSTILE),
        (1, 1, 0.5, 0.5),
        &[(("a.py", 1, "main"), (1, 1, 0.5, 0.5))],
    );
    p.row(
        ("b\u{1b}[1m.py", 3, "ok"),
        (1, 1, 0.25, 0.25),
        &[(("a.py", 1, "main"), (1, 1, 0.25, 0.25))],
    );
    p
}

/// Every `\` of `text` starts a whole escape (`\xNN`, `\n`, `\r`, `\t`): a middle cut
/// never leaves half of one.
fn assert_whole_escapes(text: &str) {
    let b = text.as_bytes();
    for (i, _) in text.match_indices('\\') {
        let whole = match b.get(i + 1) {
            Some(b'n' | b'r' | b't') => true,
            Some(b'x') => b.len() >= i + 4 && b[i + 2..i + 4].iter().all(u8::is_ascii_hexdigit),
            _ => false,
        };
        assert!(whole, "cut escape at byte {i} of {text:?}");
    }
}

#[test]
fn names_with_escape_sequences_reach_a_terminal_escaped() {
    let p = hostile_profile();
    for format in ["text", "log", "stats"] {
        for view in [&[][..], &["--callers"][..], &["--callees"][..]] {
            if format != "stats" && !view.is_empty() {
                continue;
            }
            let mut args = vec!["-f", format];
            args.extend_from_slice(view);
            let out = flameprof(&args, &p).stdout_text();
            assert_eq!(terminal_controls(&out), [], "-f {format} {view:?}:\n{out}");
            assert!(out.contains("b\\x1b[1m.py"), "{out}");
            if format == "stats" {
                assert!(
                    out.contains(
                        "(evil\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\r\\nforged 1;x\\t\\x7f)"
                    ),
                    "{out}"
                );
            }
            assert_whole_escapes(&out);
        }
    }
    // Folded stacks: one line per stack, `;` only between frames.
    let log = flameprof(&["-f", "log"], &p).stdout_text();
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(
        log.contains("a.py:1:main;a.py:2:evil\\x1b]0,pwned\\x07\\x1b[2J\\x9b31m\\r\\nforged 1,x\\t\\x7f 500000\n"),
        "{log}"
    );
    assert!(log.contains("b\\x1b[1m.py:3:ok 250000\n"), "{log}");
}

#[test]
fn names_cut_to_the_line_width_never_split_an_escape() {
    // A name of escapes only: wherever the middle cut falls, it falls between them.
    let name = "\u{1b}".repeat(60);
    for columns in 80..=92 {
        let mut p = Prof::new();
        p.row(("a.py", 1, &name), (1, 1, 1.0, 1.0), &[]);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let run = crate::util::run_with_env(
            dir,
            &["-f", "text"],
            Some(&p.bytes()),
            &[("COLUMNS", Some(&columns.to_string())), ("NO_COLOR", None)],
        )
        .ok();
        let out = run.stdout_text();
        assert_eq!(terminal_controls(&out), []);
        assert_whole_escapes(&out);
        for line in out.lines() {
            assert!(line.chars().count() <= columns, "{columns}: {line:?}");
        }
        // The module gives way before the name, which is cut in its middle.
        assert!(out.contains("\\x1b (…:1)\n"), "{out}");
        assert!(out.contains("\\x1b…\\x1b"), "{out}");
    }
}

/// The chain of the report: function i called by function i-1, 22,000 deep, one
/// millisecond of its own each. Folded stacks repeat every stack whole: 2.2 GB.
fn deep_chain(n: i32) -> Prof {
    let mut p = Prof::new();
    for i in 0..n {
        let ct = 0.001 * f64::from(n - i);
        let callers: Vec<Caller<'_>> = if i == 0 {
            vec![]
        } else {
            vec![(("c.py", i - 1, "f"), (1, 1, 0.001, ct))]
        };
        p.row(("c.py", i, "f"), (1, 1, 0.001, ct), &callers);
    }
    p
}

#[test]
fn folded_stacks_of_a_very_deep_chain_stay_bounded() {
    let p = deep_chain(22_000);
    let input = p.bytes().len();
    let run = flameprof(&["-f", "log"], &p);
    let out = run.stdout_text();
    assert!(
        out.len() < 8 * input,
        "{} bytes of folded stacks from {input}",
        out.len()
    );
    let deepest = out.lines().map(|l| l.split(';').count()).max().unwrap();
    assert_eq!(deepest, 1_000);
    // Every millisecond is still there, on the frame at the cut.
    let sum = crate::util::folded_sum(&out);
    assert!((sum - 22_000_000.0).abs() <= 1.0, "{sum}");
    let stderr = run.stderr();
    assert!(
        stderr.contains("-f log: stacks cut at 1000 frames"),
        "{stderr}"
    );
}

/// `-f pprof` cuts the stacks as `-f log` does; the time above the cut is its
/// functions' own samples (each on its caller's stack), so it is all still there.
#[test]
fn pprof_of_a_very_deep_chain_stays_bounded() {
    let p = deep_chain(22_000);
    let input = p.bytes().len();
    let run = flameprof(&["-f", "pprof"], &p);
    assert!(
        run.stdout().len() < 8 * input,
        "{} bytes of pprof from {input}",
        run.stdout().len()
    );
    let profile = crate::pprof::decode(run.stdout());
    // The cut, plus an unplaced sample's function and the callers it is put above
    // (64 at most).
    let deepest = profile.sample.iter().map(|s| s.location_id.len()).max();
    assert!(
        deepest > Some(1_000) && deepest <= Some(1_065),
        "{deepest:?}"
    );
    let sum: i64 = profile.sample.iter().map(|s| s.value[0]).sum();
    assert!((sum - 22_000_000_000).abs() <= 1, "{sum}");
    let stderr = run.stderr();
    assert!(
        stderr.contains("-f pprof: stacks cut at 1000 frames"),
        "{stderr}"
    );
}

#[test]
fn folded_values_past_the_largest_integer_are_warned_about() {
    let mut p = Prof::new();
    p.row(("a.py", 1, "f"), (1, 1, 1e15, 1e15), &[]);
    p.row(("a.py", 2, "g"), (1, 1, 1e13, 1e13), &[]);
    let run = flameprof(&["-f", "log"], &p);
    assert_eq!(
        run.stdout_text(),
        format!("a.py:1:f {}\na.py:2:g 10000000000000000000\n", u64::MAX)
    );
    let stderr = run.stderr();
    assert!(stderr.contains("1 values above 2^64-1"), "{stderr}");
}

/// Three rows of 1e308 seconds: Σ tottime is infinite. The trees divide every time by
/// a power of two, so each format still draws three equal frames, with no NaN.
#[test]
fn times_adding_up_past_the_largest_float_still_draw_with_a_warning() {
    let mut p = Prof::new();
    for i in 0..3 {
        p.row(("a.py", i, "huge"), (1, 1, 1e308, 1e308), &[]);
    }
    for format in crate::util::formats() {
        let run = flameprof(&["-f", format], &p);
        // pprof's values are whole numbers: no NaN to write (tests/pprof.rs decodes it).
        let out = if format == "pprof" {
            String::new()
        } else {
            run.stdout_text()
        };
        assert!(
            !out.to_lowercase().contains("nan"),
            "-f {format} writes NaN:\n{}",
            &out[..out.len().min(2000)]
        );
        let stderr = run.stderr();
        assert!(
            stderr.contains("the times are too large to add up") && stderr.contains("2^"),
            "-f {format}: {stderr}"
        );
        match format {
            "text" => {
                let shares: Vec<&str> = out.lines().skip(1).map(|l| &l[..6]).collect();
                assert_eq!(shares, ["100.0%", " 33.3%", " 33.3%", " 33.3%"], "{out}");
            }
            "log" => assert_eq!(out.lines().count(), 3, "{out}"),
            "json" => assert_eq!(out.matches("\"share\":0.3333333333333333").count(), 6),
            "svg" => {
                // Three frames of a third each in both graphs.
                assert_eq!(out.matches("aria-label=\"huge (a.py:").count(), 6, "{out}");
                assert_eq!(out.matches(" width=\"333333\"").count(), 4, "{out}");
                assert!(!out.contains("Infinity"), "{out}");
            }
            _ => {}
        }
    }
}
