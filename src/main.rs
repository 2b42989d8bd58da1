//! The `flameprof` binary: everything lives in the library; see `cli::main`.

fn main() -> std::process::ExitCode {
    flameprof::cli::main()
}
