//! flameprof: Python profile stats in, flame graphs and documents out.
//!
//! Layers (see `docs`): [`input`] reads bytes into a [`model::Profile`];
//! [`tree`] reconstructs the flame and inverted trees; [`backend`] writes formats;
//! [`cli`] turns arguments into options and runs the pipeline; [`output_file`] writes
//! `-o FILE`; [`commands`] adds the subcommands (`run`, `completions`, `man`);
//! [`runner`] profiles a Python program.

pub mod backend;
pub mod cli;
pub mod commands;
pub mod heap;
pub mod input;
pub mod model;
pub mod output_file;
pub mod printable;
mod rng;
pub mod runner;
pub mod tree;
