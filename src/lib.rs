//! flameprof: Python profile stats (cProfile `.prof` files) in, flame graphs and
//! documents out.
//!
//! The library reads a stats file into a [`Profile`], reconstructs its flame and
//! inverted trees ([`flame_tree`], [`inverted_tree`]), and writes any of the formats of
//! the [`backend`] registry, alone or through the [`pipeline`] the command line uses.
//! Reading and rendering give [`Warning`]s, never print them.
//!
//! The `flameprof` command line is behind the default `cli` feature; a library user
//! leaves it out with `default-features = false`.
//!
//! # Example
//!
//! The ten functions with the most own time (`tottime`):
//!
//! ```
//! use std::path::Path;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/real/pygments.prof");
//! let loaded = flameprof::load_file(Path::new(path))?;
//! for warning in &loaded.warnings {
//!     eprintln!("warning: {warning}");
//! }
//! let mut functions: Vec<_> = loaded.profile.functions().iter().collect();
//! functions.sort_by(|a, b| b.stats.tt.total_cmp(&a.stats.tt));
//! for f in functions.iter().take(10) {
//!     println!("{:>10.6}s  {}", { f.stats.tt }, f.key.display());
//! }
//! # assert_eq!(functions.len(), loaded.profile.functions().len());
//! # Ok::<(), flameprof::InputError>(())
//! ```
//!
//! Rendering one format, with the warnings the command line would print:
//!
//! ```
//! # use std::path::Path;
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/real/pygments.prof");
//! let profile = flameprof::load_file(Path::new(path))?.profile;
//! let format = flameprof::backend::find("log").expect("a registered format");
//! let options = flameprof::backend::RenderOptions::default();
//! let mut out = Vec::new();
//! flameprof::pipeline::render(&profile, format, &options, &mut out, &mut |w| {
//!     eprintln!("warning: {w}")
//! })?;
//! assert!(!out.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layers: `input` reads bytes into the model's [`Profile`]; `tree` reconstructs the
//! trees; [`backend`] writes formats; [`pipeline`] chains them. Everything under
//! `__private` is for this crate's own tests, benches and fuzz targets, and may change
//! in any release.

pub mod backend;
mod input;
mod model;
pub mod pipeline;
mod printable;
mod rng;
#[cfg(test)]
mod strategies;
mod tree;
mod warning;

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod heap;
#[cfg(feature = "cli")]
mod output_file;
#[cfg(feature = "cli")]
mod runner;

pub use bytes::Bytes;

pub use input::{InputError, Loaded, load, load_file};
pub use model::{
    Count, Edge, EdgeStats, FuncId, FuncKey, Function, Measure, ModuleLabels, Profile, StackValue,
    Stacks, Stats, Text,
};
pub use tree::{CallTree, Certainty, Frame, TreeOptions, flame_tree, inverted_tree};
pub use warning::{Warning, WarningKind};

/// The data checks: what is valid but odd in `profile` (times that do not add up, no
/// root, merged threads...), at most one counted warning per kind, in a fixed order.
pub fn check(profile: &Profile) -> Vec<Warning> {
    input::checks::check(profile)
        .into_iter()
        .map(Warning::from)
        .collect()
}

/// The crate's internals, reachable for its own tests, benches and fuzz targets. Not
/// part of the API: anything here may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::backend::stats;
    pub mod input {
        pub use crate::input::*;
    }
    pub mod model {
        pub use crate::model::*;
    }
    pub mod printable {
        pub use crate::printable::*;
    }
    pub mod tree {
        pub use crate::tree::*;
    }
}
