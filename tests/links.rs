//! The repository's documents link only inside it: every relative link of a Markdown
//! file names a file or folder that exists in the checkout, and none climbs out of it
//! (a clone holds the repository alone).

use std::path::{Component, Path, PathBuf};

use crate::util::repo;

/// The Markdown files of the checkout, outside build output and dependencies.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && !matches!(name.as_str(), "target" | "out" | "node_modules")
            {
                markdown_files(&path, out);
            }
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
}

/// The targets of the inline links `[text](target)` of a Markdown text.
fn link_targets(text: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find([')', ' ', '\n']) {
            targets.push(&rest[..end]);
        }
    }
    targets
}

/// `path` with `.` and `..` resolved by name, or `None` when `..` climbs above the start.
fn normalized(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

#[test]
fn documents_link_only_inside_the_repository() {
    let root = repo("");
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    assert!(files.len() > 10, "found only {files:?}");
    let mut bad = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let from = file.parent().unwrap().strip_prefix(&root).unwrap();
        for target in link_targets(&text) {
            if target.contains("://")
                || target.starts_with(['#', '<'])
                || target.starts_with("mailto:")
            {
                continue;
            }
            let path = target.split('#').next().unwrap();
            let rel = file.strip_prefix(&root).unwrap().display();
            match normalized(&from.join(path)) {
                None => bad.push(format!("{rel}: {target} leaves the repository")),
                Some(p) if !root.join(&p).exists() => {
                    bad.push(format!("{rel}: {target} does not exist"))
                }
                Some(_) => {}
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn a_link_that_climbs_out_is_caught() {
    assert_eq!(
        link_targets("see [x](../shared/docs/a.md) and [y](b.md#c)"),
        ["../shared/docs/a.md", "b.md#c"]
    );
    assert_eq!(normalized(Path::new("docs/../../shared")), None);
    assert_eq!(
        normalized(Path::new("docs/../README.md")),
        Some(PathBuf::from("README.md"))
    );
}
