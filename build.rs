//! Builds the call-path recorder of `flameprof run` (`src/runner/recorder.c`) as a
//! shared library for the target, which the binary carries and loads into the
//! profiled interpreter. The library links against no Python (the interpreter passes
//! the API functions it calls), so one build serves every Python version.
//!
//! Where no C compiler is at hand, or on targets other than Unix, the binary is built
//! without it (`cfg(flameprof_no_recorder)`), and `flameprof run` samples the stacks
//! instead.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(flameprof_no_recorder)");
    println!("cargo::rerun-if-changed=src/runner/recorder.c");
    println!("cargo::rerun-if-env-changed=FLAMEPROF_NO_RECORDER");
    if let Err(why) = build_recorder() {
        println!("cargo::warning=flameprof run will sample stacks: {why}");
        println!("cargo::rustc-cfg=flameprof_no_recorder");
    }
}

fn build_recorder() -> Result<(), String> {
    if env::var_os("FLAMEPROF_NO_RECORDER").is_some() {
        return Err("FLAMEPROF_NO_RECORDER is set".into());
    }
    if env::var("CARGO_CFG_TARGET_FAMILY").as_deref() != Ok("unix") {
        return Err("the call-path recorder is built for Unix targets only".into());
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or("no OUT_DIR")?).join("recorder.so");
    let compiler = cc::Build::new()
        .opt_level(2)
        .cargo_metadata(false)
        .try_get_compiler()
        .map_err(|e| format!("no C compiler: {e}"))?;
    let mut cmd = compiler.to_command();
    let macos = env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos");
    cmd.args(["-std=c99", "-D_POSIX_C_SOURCE=200809L", "-fPIC", "-O2"])
        .arg(if macos { "-dynamiclib" } else { "-shared" })
        .arg("-o")
        .arg(&out)
        .arg("src/runner/recorder.c");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run the C compiler: {e}"))?;
    if !status.success() {
        return Err(format!("the C compiler failed ({status})"));
    }
    Ok(())
}
