//! The one integration-test binary: runs the real `flameprof` on the fixtures in
//! `tests/data/` and checks outputs, errors, the reader against the manifest, and the
//! docs in `formats/`.

mod browser;
mod cli;
mod faults;
mod formats;
mod labels;
mod manifest;
mod output_file;
mod output_hygiene;
mod properties;
mod regressions;
mod run;
mod run_hardening;
mod stats;
mod util;
