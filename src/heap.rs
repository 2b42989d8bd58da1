//! How the process asks for memory: a policy the `flameprof` binary (and the benches,
//! so that they measure what the binary does) opts into; the library never does.
//!
//! A run allocates megabytes and exits, so what it pays for memory is mostly page
//! faults: one per page first touched. With glibc on Linux the heap is kept (not handed
//! back mid-run, to come back as fresh pages to clear and fault in again), and big
//! blocks come from it rather than from mappings of their own. No memory is advised for
//! transparent huge pages: in the kernel's default `madvise` defragmentation mode, a
//! fault on advised memory may compact memory synchronously, which on a machine whose
//! memory is fragmented stalls a run for up to seconds (docs/performance.md).

/// Sets glibc's policy (mallopt(3)): no block gets a mapping of its own, and the heap is
/// not trimmed back while less than 64 MiB at its top is free. A big table freed (the
/// reader's edge table, once the model has its sorted copy) is then reused by the next
/// ones (the flame graph's tables). Where the heap cannot grow (a data limit, `ulimit
/// -d`), glibc still maps memory for it. Call it first thing in `main`.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes glibc's policy numbers, under the allocator's own
    // lock; every value is in range.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}
