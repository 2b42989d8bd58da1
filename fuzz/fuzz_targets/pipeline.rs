//! Fuzz target: the whole pipeline. Bytes in → `input::load` → the data checks →
//! every registered backend rendering into `io::sink()`, for the profile as read and,
//! a sampled one (`("__sampled__",): True`), with its per-line keys grouped. Nothing may panic, and a
//! profile that loads must render in every format without an error.
#![no_main]

use bytes::Bytes;
use flameprof::__private::input;
use flameprof::backend::{self, Job, RenderOptions};
use flameprof::pipeline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(loaded) = input::load("fuzz", Bytes::copy_from_slice(data)) else {
        return;
    };
    let _ = input::checks::check(&loaded.profile);
    let options = RenderOptions::default();
    let grouped = pipeline::by_function(loaded.profile.clone(), false);
    for profile in [&loaded.profile, &grouped] {
        for b in backend::registry() {
            let job = Job::new(profile, &options);
            (b.render)(&job, &mut std::io::sink())
                .unwrap_or_else(|e| panic!("{} failed on a loaded profile: {e}", b.name));
        }
    }
});
