//! The files the wheel installs beside the binary are what the binary prints now: the
//! man page and the shell completions in `packaging/wheel/data/share/` (maturin's
//! data directory; `data/` is the wheel's scheme for the environment's prefix, so they
//! land in a venv's `share/`).

use crate::util::{repo, run};

/// Each committed file, and the arguments that print it.
const FILES: [(&str, &[&str]); 8] = [
    ("packaging/wheel/data/share/man/man1/flameprof.1", &["man"]),
    (
        "packaging/wheel/data/share/man/man1/flameprof-run.1",
        &["man", "run"],
    ),
    (
        "packaging/wheel/data/share/man/man1/flameprof-diff.1",
        &["man", "diff"],
    ),
    (
        "packaging/wheel/data/share/man/man1/flameprof-completions.1",
        &["man", "completions"],
    ),
    (
        "packaging/wheel/data/share/man/man1/flameprof-man.1",
        &["man", "man"],
    ),
    (
        "packaging/wheel/data/share/bash-completion/completions/flameprof",
        &["completions", "bash"],
    ),
    (
        "packaging/wheel/data/share/zsh/site-functions/_flameprof",
        &["completions", "zsh"],
    ),
    (
        "packaging/wheel/data/share/fish/vendor_completions.d/flameprof.fish",
        &["completions", "fish"],
    ),
];

#[test]
fn wheel_data_matches_the_binary() {
    let bless = std::env::var_os("FLAMEPROF_BLESS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (path, args) in FILES {
        let printed = run(args).ok().output.stdout;
        let file = repo(path);
        if bless {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &printed).unwrap();
        } else if std::fs::read(&file).ok().as_deref() != Some(&printed[..]) {
            stale.push(format!("{path} (flameprof {})", args.join(" ")));
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing:\n  {}\nRegenerate with FLAMEPROF_BLESS=1 cargo test --test tests wheel_data",
        stale.join("\n  ")
    );
}
