//! Text made safe to show where it meets a terminal: names from a stats file are the
//! attacker's bytes, and a raw ESC, CSI/OSC sequence, BEL, CR or LF in them would move
//! the cursor, retitle the window or forge lines of output. Every control character
//! (C0, DEL and C1) is written as a visible escape instead (`\x1b`, `\n`, `\x9b`); all
//! other characters, backslashes included, pass through unchanged, so ordinary names
//! read as they are.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal raw.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
}

/// The visible escape of one unsafe character (`\t`, `\n`, `\r`, else `\xNN`).
fn escape_of(c: char, out: &mut String) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c => {
            use std::fmt::Write;
            // Control characters are all below U+0100.
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
    }
}

/// `s` with every control character escaped; borrowed when there is none (the usual case).
pub fn escaped(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    push_escaped(&mut out, s);
    Cow::Owned(out)
}

/// Appends `s` to `out` with every control character escaped.
pub fn push_escaped(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some((at, c)) = rest.char_indices().find(|&(_, c)| is_unsafe(c)) {
        out.push_str(&rest[..at]);
        escape_of(c, out);
        rest = &rest[at + c.len_utf8()..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(
            escaped("a\u{1b}[31mred\u{7}\r\n\t\u{7f}\u{9b}b"),
            "a\\x1b[31mred\\x07\\r\\n\\t\\x7f\\x9bb"
        );
    }

    #[test]
    fn ordinary_names_are_borrowed_unchanged() {
        for s in [
            "",
            "pkg/mod.py:12(f)",
            "{built-in method builtins.exec}",
            "é\\x1b",
        ] {
            assert!(matches!(escaped(s), Cow::Borrowed(b) if b == s));
        }
    }
}
