//! The one integration-test binary: runs the real `flameprof` on the fixtures in
//! `tests/data/` and checks outputs, errors, the reader against the manifest, and the
//! docs in `formats/`.

mod browser;
mod cli;
mod collapsed;
mod diff;
mod faults;
mod first_minute;
mod fleets;
mod formats;
mod labels;
mod links;
mod manifest;
mod output_file;
mod output_hygiene;
mod packaging;
mod pprof;
mod properties;
mod regressions;
mod run;
mod run_hardening;
mod run_interpreter;
mod sampled;
mod speedscope;
mod stats;
mod util;
