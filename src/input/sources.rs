//! Which files the inputs name: a file as given, every file under a directory, or the
//! matches of a glob pattern flameprof expands itself (quoted, `'profiles/*.prof'`, so
//! that fifty thousand files need not pass through the shell's argument limit).
//!
//! Files met under a directory or through a pattern are in sorted order, hidden ones
//! (`.name`) left out, and are [`Source::found`]: the reader skips one that holds no
//! profile rather than stopping there. Knows nothing of what a profile holds.

use std::path::{Path, PathBuf};

use super::InputError;

/// One file to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub path: PathBuf,
    /// Met under a directory or through a pattern, not named: if it is not a profile,
    /// it is skipped with a warning.
    pub found: bool,
}

/// The files `inputs` name, in order: each input as given if it exists (or is `-`),
/// a directory's files (recursively, sorted by name, not following links to
/// directories), or, for a path that does not exist and holds `*`, `?` or `[`, the
/// files it matches, sorted. A directory with no files, or a pattern with no match, is
/// an error naming it.
pub fn expand(inputs: &[PathBuf]) -> Result<Vec<Source>, InputError> {
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        let named = |path: &Path| Source {
            path: path.to_path_buf(),
            found: false,
        };
        if input.as_os_str() == "-" {
            out.push(named(input));
            continue;
        }
        match std::fs::metadata(input) {
            Ok(m) if m.is_dir() => {
                let before = out.len();
                walk(input, &mut out)?;
                if out.len() == before {
                    return Err(error(input, "a directory with no files in it"));
                }
            }
            Ok(_) => out.push(named(input)),
            Err(_) if is_pattern(input) => {
                let before = out.len();
                expand_pattern(input, &mut out)?;
                if out.len() == before {
                    return Err(error(input, "no file matches this pattern"));
                }
            }
            // Read as named: the reader says why it cannot be.
            Err(_) => out.push(named(input)),
        }
    }
    Ok(out)
}

fn error(path: &Path, message: &str) -> InputError {
    InputError {
        file: path.display().to_string(),
        message: message.to_string(),
    }
}

fn is_pattern(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.contains(['*', '?', '[']))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn expand_pattern(pattern: &Path, out: &mut Vec<Source>) -> Result<(), InputError> {
    let text = pattern.to_str().unwrap_or_default();
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let Ok(matches) = glob::glob_with(text, options) else {
        // Not a pattern after all (`[` alone): a file, which the reader says is missing.
        out.push(Source {
            path: pattern.to_path_buf(),
            found: false,
        });
        return Ok(());
    };
    let mut paths: Vec<PathBuf> = matches.filter_map(Result::ok).collect();
    paths.sort();
    for path in paths {
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, out)?,
            Ok(m) if m.is_file() => out.push(Source { path, found: true }),
            _ => {}
        }
    }
    Ok(())
}

/// Every file under `dir`, depth first, each directory's entries sorted by name.
fn walk(dir: &Path, out: &mut Vec<Source>) -> Result<(), InputError> {
    let entries = std::fs::read_dir(dir).map_err(|e| error(dir, &super::io_message(&e)))?;
    let mut paths: Vec<(PathBuf, bool)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| error(dir, &super::io_message(&e)))?;
        let path = entry.path();
        if is_hidden(&path) {
            continue;
        }
        // A link to a directory is not followed (it could lead back up); a link to a
        // file is read.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            paths.push((path, true));
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            paths.push((path, false));
        }
    }
    paths.sort();
    for (path, is_dir) in paths {
        if is_dir {
            walk(&path, out)?;
        } else {
            out.push(Source { path, found: true });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("b/inner")).unwrap();
        std::fs::create_dir_all(d.join(".hidden")).unwrap();
        for f in [
            "b/inner/z.prof",
            "b/a.prof",
            "c.prof",
            "a.txt",
            ".hidden/x.prof",
            ".dot.prof",
        ] {
            std::fs::write(d.join(f), b"{").unwrap();
        }
        dir
    }

    fn names(dir: &Path, sources: &[Source]) -> Vec<String> {
        sources
            .iter()
            .map(|s| {
                let p = s.path.strip_prefix(dir).unwrap_or(&s.path);
                format!("{}{}", p.display(), if s.found { "" } else { " (named)" })
            })
            .collect()
    }

    #[test]
    fn a_directory_gives_its_files_sorted_depth_first_without_hidden_ones() {
        let dir = tree();
        let got = expand(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(
            names(dir.path(), &got),
            ["a.txt", "b/a.prof", "b/inner/z.prof", "c.prof"]
        );
    }

    #[test]
    fn a_pattern_gives_its_matches_sorted_and_a_file_stays_named() {
        let dir = tree();
        let d = dir.path();
        let got = expand(&[d.join("*.prof"), d.join("b/*/*.prof"), d.join("a.txt")]).unwrap();
        assert_eq!(
            names(d, &got),
            ["c.prof", "b/inner/z.prof", "a.txt (named)"]
        );
        // A file whose name holds pattern characters is read as named.
        std::fs::write(d.join("[x].prof"), b"{").unwrap();
        let got = expand(&[d.join("[x].prof")]).unwrap();
        assert_eq!(names(d, &got), ["[x].prof (named)"]);
    }

    #[test]
    fn an_empty_directory_or_a_pattern_matching_nothing_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = expand(&[dir.path().to_path_buf()]).unwrap_err();
        assert_eq!(err.message, "a directory with no files in it");
        let err = expand(&[dir.path().join("*.prof")]).unwrap_err();
        assert_eq!(err.message, "no file matches this pattern");
        // Not a valid pattern: a file name, left to the reader.
        let got = expand(&[dir.path().join("[.prof")]).unwrap();
        assert_eq!(names(dir.path(), &got), ["[.prof (named)"]);
    }

    #[test]
    fn a_missing_plain_file_is_left_to_the_reader() {
        let got = expand(&[PathBuf::from("/nonexistent/x.prof"), PathBuf::from("-")]).unwrap();
        assert!(got.iter().all(|s| !s.found));
    }
}
