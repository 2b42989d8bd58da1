//! Fuzz target: the marshal decoder alone. Any bytes must give a value or an error,
//! never a panic, a hang or an allocation beyond the input's size; a decoded value's
//! `repr` (used in messages) must stay bounded.
#![no_main]

use bytes::Bytes;
use flameprof::__private::input::marshal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(decoded) = marshal::decode(&bytes) {
        assert!(decoded.end <= data.len());
        // Containers refer to arena slots; every value is at most one slot per input
        // byte plus the five singletons.
        assert!(decoded.arena.len() <= data.len() + 5);
        let r = decoded.repr(decoded.root);
        assert!(r.len() <= 204, "repr not bounded: {} bytes", r.len());
    }
});
