//! How the process asks for memory: a policy the `flameprof` binary (and the benches,
//! so that they measure what the binary does) opts into; the library never does.
//!
//! A run allocates megabytes and exits, so what it pays for memory is mostly page
//! faults: one per 4 KiB page first touched. With glibc on Linux the heap is kept (not
//! handed back mid-run, to come back as fresh pages to clear and fault in again), grown
//! in big steps, and each step is advised for transparent huge pages (2 MiB a fault, in
//! the common `madvise` mode). Why this and not an allocator crate or the hand-made
//! policy it replaced: docs/performance.md. Everything here is advice or a retry: where
//! the kernel refuses it, the run is as it would have been.

use std::alloc::{GlobalAlloc, Layout, System};

/// The global allocator of the binary and the benches: the system's, plus, after each
/// call, `advise_growth`; and where glibc's bigger steps cannot be had (a data limit,
/// `ulimit -d`, or the end of memory), its usual ones.
pub struct Heap;

// SAFETY: every call is forwarded to `System` with the caller's arguments; the rest only
// reads the program break or gives advice on memory of the heap.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        or_small_steps(|| unsafe { System.alloc(layout) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        or_small_steps(|| unsafe { System.alloc_zeroed(layout) })
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        // SAFETY: as above; a failed `realloc` leaves `p` as it was, to be tried again.
        or_small_steps(|| unsafe { System.realloc(p, layout, size) })
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(p, layout) };
        // A free may shrink the heap: the next growth starts below what was last seen.
        advise_growth();
    }
}

/// `alloc()`, then once more if it failed, with glibc's usual steps (what is asked plus
/// 128 KiB): a big step can be refused where the block alone would not be.
fn or_small_steps(alloc: impl Fn() -> *mut u8) -> *mut u8 {
    let mut p = alloc();
    if p.is_null() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: `mallopt` only changes a policy number, under the allocator's lock,
        // which no caller holds here.
        unsafe {
            libc::mallopt(libc::M_TOP_PAD, 128 << 10);
        }
        p = alloc();
    }
    advise_growth();
    p
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
static BREAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Advises for huge pages what the heap grew by since the program break was last seen.
/// The kernel joins each advised step to the one before, so a 2 MiB page across two
/// steps qualifies too. glibc writes a header into the new step before this advice,
/// which keeps that one 2 MiB page in small pages; a step is many of them.
fn advise_growth() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `sbrk(0)` only reads the break; `madvise(MADV_HUGEPAGE)` is advice on
    // mapped heap memory (page-aligned: glibc moves the break in pages) and changes no
    // contents.
    unsafe {
        let end = libc::sbrk(0) as usize;
        let seen = BREAK.swap(end, std::sync::atomic::Ordering::Relaxed);
        if seen != 0 && end > seen {
            libc::madvise(seen as *mut libc::c_void, end - seen, libc::MADV_HUGEPAGE);
        }
    }
}

/// Sets glibc's policy (mallopt(3)): no block gets a mapping of its own, the heap grows
/// by 8 MiB more than asked (steps of many 2 MiB pages), and it is not trimmed back while
/// less than 64 MiB at its top is free. A big table freed (the reader's edge table, once
/// the model has its sorted copy) is then reused by the next ones (the flame graph's
/// tables). Where the heap cannot grow, glibc still maps memory for it. Then takes the
/// heap's first step so that it starts on a 2 MiB boundary. Call it first thing in
/// `main`, with [`Heap`] as the global allocator.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first thing in `main`. `mallopt` only changes glibc's policy
    // numbers, under the allocator's own lock; every value is in range. `sbrk` moves the
    // break past memory no one uses (glibc takes a break moved by others as the start
    // of its next step); `malloc`/`free` are paired.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TOP_PAD, 8 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
        // A small run's heap fits in its first 2 MiB pages, and the one the break is in
        // now can never be huge (the heap's first pages are already in it). So the
        // break moves up to just below a boundary and a block bigger than what is left
        // of the heap makes glibc take its first step from there: its block and the
        // header after it land below the boundary, where the advice comes too late
        // anyway, and every 2 MiB page from the boundary on is still untouched when
        // advised. The memory skipped is never touched.
        const PROBE: usize = 256 << 10;
        let below = PROBE + (8 << 10);
        let brk = libc::sbrk(0) as usize;
        let start = (brk + below).next_multiple_of(2 << 20) - below;
        if libc::sbrk((start - brk) as libc::intptr_t) as isize != -1 {
            BREAK.store(start, std::sync::atomic::Ordering::Relaxed);
            libc::free(libc::malloc(PROBE));
        }
    }
    advise_growth();
}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    #[test]
    fn blocks_keep_their_contents_as_the_heap_grows_and_shrinks() {
        let heap = super::Heap;
        let small = Layout::from_size_align(1 << 10, 16).unwrap();
        // SAFETY: sizes are non-zero, each block is used within its size and freed once.
        unsafe {
            let p = heap.alloc(small);
            assert!(!p.is_null());
            for i in 0..small.size() {
                *p.add(i) = (i % 251) as u8;
            }
            let q = heap.realloc(p, small, 40 << 20);
            assert!(!q.is_null());
            assert!((0..small.size()).all(|i| *q.add(i) == (i % 251) as u8));
            *q.add((40 << 20) - 1) = 7;
            let big = Layout::from_size_align(40 << 20, 16).unwrap();
            let r = heap.realloc(q, big, small.size());
            assert!((0..small.size()).all(|i| *r.add(i) == (i % 251) as u8));
            heap.dealloc(r, small);
            let z = heap.alloc_zeroed(big);
            assert!(!z.is_null() && *z == 0 && *z.add(big.size() - 1) == 0);
            heap.dealloc(z, big);
        }
    }
}
