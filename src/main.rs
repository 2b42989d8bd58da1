//! The `flameprof` binary: everything lives in the library; see `cli::main`. The one
//! thing decided here is how the process asks for memory (see [`heap`]).

fn main() -> std::process::ExitCode {
    heap::prefer_huge_pages();
    flameprof::cli::main()
}

/// One run of flameprof allocates a few megabytes and exits: on a usual profile, a
/// thousand first-touch page faults of 4 KiB cost about a tenth of its time. With glibc
/// on Linux, the heap is made to grow in one step of [`heap::PAD`] that the kernel may
/// back with 2 MiB pages (transparent huge pages in `madvise` mode, the common
/// default), so that a handful of faults map it. Memory stays lazily touched: peak RSS
/// grows by at most a few MiB (measured: pip_list 6.4 → 8.0 MB, a 1M-edge profile
/// 224 → 233 MB), time drops by about 1 ms of 11.7 on pip_list (`bench/perf/compare.sh`).
/// Everything here is advice: if any call is refused, the run is as it would have been.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod heap {
    /// How far the heap grows at once, and the largest allocation it serves.
    pub const PAD: usize = 32 << 20;
    const HUGE_PAGE: usize = 2 << 20;

    pub fn prefer_huge_pages() {
        // SAFETY: called first thing in `main`, before any other thread exists.
        // `mallopt` only changes glibc's policy numbers; `malloc`/`free` are paired;
        // `sbrk(0)` only reads the current break; `madvise(MADV_HUGEPAGE)` is advice
        // on memory the heap already owns, and changes no contents.
        unsafe {
            // Blocks up to PAD come from the heap (not one mmap each), the heap grows
            // PAD at a time, and is not trimmed back between allocations.
            libc::mallopt(libc::M_MMAP_THRESHOLD, PAD as libc::c_int);
            libc::mallopt(libc::M_TOP_PAD, PAD as libc::c_int);
            libc::mallopt(libc::M_TRIM_THRESHOLD, (2 * PAD) as libc::c_int);
            // A block larger than what the initial heap holds makes it grow by PAD now.
            let probe = libc::malloc(256 << 10);
            if probe.is_null() {
                return;
            }
            let start = probe as usize;
            let end = libc::sbrk(0) as usize;
            libc::free(probe);
            let aligned = start.next_multiple_of(HUGE_PAGE);
            if end > aligned {
                libc::madvise(
                    aligned as *mut libc::c_void,
                    end - aligned,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod heap {
    pub fn prefer_huge_pages() {}
}
