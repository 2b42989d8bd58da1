//! The `flameprof` binary: everything lives in the library; see `cli::main`. The one
//! thing decided here is how the process asks for memory (see [`flameprof::heap`]).

fn main() -> std::process::ExitCode {
    flameprof::heap::keep_freed_memory();
    flameprof::cli::main()
}
