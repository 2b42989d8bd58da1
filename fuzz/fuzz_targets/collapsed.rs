//! Fuzz target: the collapsed-stacks reader, then both exact trees and every format.
//! Any text must give a profile or an error naming a line, never a panic or a hang;
//! a profile read must keep at most one frame per input byte and render everywhere.
#![no_main]

use bytes::Bytes;
use flameprof::__private::input::collapsed::{self, ReadOptions};
use flameprof::backend::{self, Job, RenderOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    for thread_roots in [true, false] {
        match collapsed::load(&bytes, &ReadOptions { thread_roots }) {
            Ok(read) => {
                let stacks = read.profile.stacks().expect("collapsed input keeps its stacks");
                assert!(stacks.frame_count() <= data.len());
                let options = RenderOptions::default();
                for b in backend::registry() {
                    let job = Job::new(&read.profile, &options);
                    (b.render)(&job, &mut std::io::sink())
                        .unwrap_or_else(|e| panic!("{} failed on a loaded profile: {e}", b.name));
                }
            }
            Err(message) => assert!(message.starts_with("line "), "{message}"),
        }
    }
});
