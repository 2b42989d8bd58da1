//! The `flameprof` binary: everything lives in the library; see `cli::main`. The one
//! thing decided here is how the process asks for memory (see [`flameprof::heap`]).

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: flameprof::heap::HugeBlocks = flameprof::heap::HugeBlocks;

fn main() -> std::process::ExitCode {
    flameprof::heap::prefer_huge_pages();
    flameprof::cli::main()
}
