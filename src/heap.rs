//! How the process asks for memory: a policy the `flameprof` binary (and the benches,
//! so that they measure what the binary does) opts into; the library never does.
//!
//! glibc's allocator, told to keep what it has: a run allocates megabytes and exits,
//! and memory handed back to the kernel mid-run comes back as fresh pages it must clear
//! and fault in again. Why this and not an allocator crate or the hand-made huge-page
//! policy it replaced: docs/performance.md.

/// Sets glibc's policy (mallopt(3)): no block gets a mapping of its own, and the heap
/// is not trimmed back while less than 64 MiB at its top is free. A big table freed
/// (the reader's edge table, once the model has its sorted copy) is then reused by the
/// next ones (the flame graph's tables). The heap still grows only by what is asked,
/// so a data limit (`ulimit -d`) refuses no more than it would without this; where the
/// heap cannot grow, glibc still maps memory for it. Call it first thing in `main`.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes glibc's policy numbers, under the allocator's own
    // lock; every value is in range.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}
