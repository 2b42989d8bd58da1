//! How the process asks for memory: a policy the `flameprof` binary (and the benches,
//! so that they measure what the binary does) opts into; the library never does.
//!
//! One run of flameprof allocates megabytes and exits: first-touch page faults of 4 KiB
//! cost a tenth of a usual run and a third of a 1M-edge one. With glibc on Linux, memory
//! is asked for so that the kernel may back it with 2 MiB pages (transparent huge pages
//! in `madvise` mode, the common default): the heap grows in one step of 32 MiB,
//! advised; blocks of 2 MiB or more are advised as they are allocated, and grown into a
//! new advised block rather than by glibc's `realloc` (which copies into fresh 4 KiB
//! pages first); no block is mapped on its own, so that memory freed is reused rather
//! than returned and faulted in again. Memory stays lazily touched. Measured (`perf stat`, hyperfine, GNU time)
//! against the same build without it: pip_list `-f svg` 1,141 → ~540 page faults,
//! 11.7 → ~10 ms, peak RSS 6.4 → 8.7 MB; a 1M-edge profile 79,652 → 5,560 faults,
//! 0.67 → 0.40 s, 224 → 240 MB; no block of its own (session 6, `perf record`, five
//! runs of the 1M-edge profile three times over): 5.5 % fewer samples, 204 → 202 MB;
//! the heap's step starting on a 2 MiB boundary (session 7): pip_list 250-545 → 143
//! page faults, median 8.9-9.1 → 8.3 ms (hyperfine, 300 runs, twice).
//! Everything here is advice: where a call is refused, the
//! run is as it would have been.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub use glibc::{HugeBlocks, prefer_huge_pages};

/// Elsewhere memory is asked for as usual.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn prefer_huge_pages() {}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    /// How far the heap grows at once.
    pub const PAD: usize = 32 << 20;
    const HUGE_PAGE: usize = 2 << 20;
    /// The global allocator: the system's, with blocks of [`BIG`] bytes or more
    /// advised for huge pages as they are allocated or grown (a 1M-edge profile's
    /// tables are tens of MiB each, past the heap's first step).
    pub struct HugeBlocks;

    /// Blocks from this size on are advised.
    const BIG: usize = 2 << 20;

    /// Advises the whole 2 MiB pages inside a block of `size` bytes at `p`.
    fn advise(p: *mut u8, size: usize) {
        if p.is_null() || size < BIG {
            return;
        }
        let start = (p as usize).next_multiple_of(HUGE_PAGE);
        let end = (p as usize + size) / HUGE_PAGE * HUGE_PAGE;
        if end > start {
            // SAFETY: the range lies inside a block the allocator just handed out;
            // MADV_HUGEPAGE is advice and changes no contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }

    // SAFETY: every call is forwarded to `System` unchanged; `advise` only adds advice
    // on memory of the returned block.
    unsafe impl std::alloc::GlobalAlloc for HugeBlocks {
        unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
            // SAFETY: the caller's contract is `System`'s.
            let p = or_relaxed(|| unsafe { std::alloc::System.alloc(layout) });
            advise(p, layout.size());
            p
        }

        unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
            // SAFETY: as above.
            let p = or_relaxed(|| unsafe { std::alloc::System.alloc_zeroed(layout) });
            advise(p, layout.size());
            p
        }

        unsafe fn dealloc(&self, p: *mut u8, layout: std::alloc::Layout) {
            // SAFETY: as above.
            unsafe { std::alloc::System.dealloc(p, layout) }
        }

        unsafe fn realloc(&self, p: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
            if size >= BIG {
                // glibc's realloc copies into a new block before advice could be given,
                // faulting it in 4 KiB at a time: allocate the new block advised, then
                // copy.
                // SAFETY: `layout.align()` is valid (it came with `p`) and `size` is
                // non-zero; the copy stays within both blocks; `p` is freed once.
                unsafe {
                    let new = std::alloc::Layout::from_size_align_unchecked(size, layout.align());
                    let q = self.alloc(new);
                    if !q.is_null() {
                        std::ptr::copy_nonoverlapping(p, q, layout.size().min(size));
                        std::alloc::System.dealloc(p, layout);
                    }
                    return q;
                }
            }
            // SAFETY: as above (a failed `realloc` leaves `p` as it was).
            or_relaxed(|| unsafe { std::alloc::System.realloc(p, layout, size) })
        }
    }

    /// `alloc()`, and once more with glibc's own policy if it failed: the policy's
    /// steps (PAD at a time, no block mapped on its own) can be refused where a
    /// smaller request would not be, under a data limit (`ulimit -d`) or near the end
    /// of memory. Without this, `ulimit -d 30000` made every run fail, however small
    /// its profile.
    fn or_relaxed(alloc: impl Fn() -> *mut u8) -> *mut u8 {
        let p = alloc();
        if !p.is_null() {
            return p;
        }
        relax();
        alloc()
    }

    /// Back to glibc's defaults (mallopt(3)): the heap grows by what is asked plus
    /// 128 KiB, and big blocks get mappings of their own.
    fn relax() {
        // SAFETY: `mallopt` only changes glibc's policy numbers; it takes the
        // allocator's own lock, which no caller of `or_relaxed` holds.
        unsafe {
            libc::mallopt(libc::M_TOP_PAD, 128 << 10);
            libc::mallopt(libc::M_MMAP_MAX, 65536);
        }
    }

    /// Sets glibc's policy and grows the heap in one advised step. Call it first thing
    /// in `main`: memory allocated before it is not advised.
    pub fn prefer_huge_pages() {
        // SAFETY: called first thing in `main`, before any other thread exists.
        // `mallopt` only changes glibc's policy numbers; `malloc`/`free` are paired;
        // `sbrk(0)` only reads the current break, and `sbrk(gap)` moves it past memory
        // no one uses (glibc supports breaks moved by others); `madvise(MADV_HUGEPAGE)`
        // is advice, and `MADV_COLLAPSE` changes how memory of the heap is backed, not
        // its contents.
        unsafe {
            // Every block comes from the heap, none gets an mmap of its own (glibc's
            // `M_MMAP_MAX`; where the heap cannot grow, glibc still maps memory for
            // it): a big block freed (the reader's edge table, once the model has
            // its sorted copy) is reused by the next ones (the flame graph's tables)
            // instead of going back to the kernel and coming back as fresh pages it
            // must clear. The heap grows PAD at a time, and is not trimmed back
            // between allocations.
            libc::mallopt(libc::M_MMAP_MAX, 0);
            libc::mallopt(libc::M_TOP_PAD, PAD as libc::c_int);
            libc::mallopt(libc::M_TRIM_THRESHOLD, (2 * PAD) as libc::c_int);
            // The heap's next step starts on a 2 MiB boundary: the break is moved up to
            // one first (glibc takes memory past a break it did not set as its own).
            // From an unaligned break, up to 2 MiB of the heap's busiest part, its
            // first, stayed in 4 KiB pages, one fault each (pip_list: 250-540 faults
            // a run, by where the break fell; 143 with it aligned). The gap is never
            // touched.
            let brk = libc::sbrk(0) as usize;
            let gap = brk.next_multiple_of(HUGE_PAGE) - brk;
            let boundary = if gap == 0 || libc::sbrk(gap as libc::intptr_t) as isize != -1 {
                brk + gap
            } else {
                usize::MAX
            };
            // A block larger than what the initial heap holds makes it grow by PAD now.
            let probe = libc::malloc(256 << 10);
            if probe.is_null() {
                relax();
                return;
            }
            let start = probe as usize;
            let end = libc::sbrk(0) as usize;
            libc::free(probe);
            // From the boundary when the new step began there, as it should have.
            let aligned = if start.checked_sub(boundary).is_some_and(|d| d < HUGE_PAGE) {
                boundary
            } else {
                start.next_multiple_of(HUGE_PAGE)
            };
            if end > aligned {
                libc::madvise(
                    aligned as *mut libc::c_void,
                    end - aligned,
                    libc::MADV_HUGEPAGE,
                );
                // glibc wrote its block headers into the first 2 MiB before the advice
                // came, so those were faulted in as 4 KiB pages, and the rest of them
                // would follow: make them one huge page now (Linux 6.1+; where it is
                // refused, they stay small pages).
                if aligned == boundary && end - aligned >= HUGE_PAGE {
                    libc::madvise(aligned as *mut libc::c_void, HUGE_PAGE, libc::MADV_COLLAPSE);
                }
            }
        }
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    #[test]
    fn big_blocks_keep_their_contents_as_they_grow_and_shrink() {
        let a = super::HugeBlocks;
        let layout = Layout::from_size_align(3 << 20, 16).unwrap();
        // SAFETY: sizes are non-zero, each block is used within its size and freed once.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            for i in 0..layout.size() {
                *p.add(i) = (i % 251) as u8;
            }
            let q = a.realloc(p, layout, 7 << 20);
            assert!(!q.is_null());
            assert!((0..layout.size()).all(|i| *q.add(i) == (i % 251) as u8));
            let grown = Layout::from_size_align(7 << 20, 16).unwrap();
            let r = a.realloc(q, grown, 1 << 20);
            assert!((0..1 << 20).all(|i| *r.add(i) == (i % 251) as u8));
            a.dealloc(r, Layout::from_size_align(1 << 20, 16).unwrap());
        }
    }
}
