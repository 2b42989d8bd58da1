//! flameprof: Python profile stats in, flame graphs and documents out.
//!
//! Layers (see `docs`): [`input`] reads bytes into a [`model::Profile`];
//! [`tree`] reconstructs the flame and inverted trees; [`backend`] writes formats;
//! [`cli`] turns arguments into options and runs the pipeline.

pub mod backend;
pub mod cli;
pub mod input;
pub mod model;
pub mod tree;
