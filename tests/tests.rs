//! The one integration-test binary: runs the real `flameprof` on the fixtures in
//! `tests/data/` and checks outputs, errors and the docs in `formats/`.

mod cli;
mod util;
