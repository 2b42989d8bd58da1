//! Criterion benchmarks of each pipeline stage: reading (the fast path, bytes → a
//! builder of functions and edges), the model (builder → sorted, indexed `Profile`),
//! both together as `load`, marshal decoding (the general decoder, which real files no
//! longer need), the flame and inverted reconstructions, and every backend writing to
//! a reused buffer. Throughput is in bytes of the input file, so stages compare directly.
//!
//! Inputs: the real profiles of `tests/data/real/` (every stage on pip_list, reading
//! and loading on the others), and a generated large profile,
//! `bench/out/perf/gen_100000.prof` (make it with
//! `python3 bench/perf/gen_profile.py --edges 100000 -o bench/out/perf/gen_100000.prof`,
//! or point `FLAMEPROF_BENCH_LARGE` at any stats file); skipped when missing.
//!
//! Run: `cargo bench --bench pipeline` (add `-- read` etc. to filter).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group};
use flameprof::__private::input::{self, marshal};
use flameprof::__private::tree;
use flameprof::backend::{self, Job, RenderOptions};

/// The profiles benched: every real profile in `tests/data/real/` (all stages for
/// pip_list, reading only for the others) and the large generated one (all stages).
fn inputs() -> Vec<(String, Bytes, bool)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let large = std::env::var_os("FLAMEPROF_BENCH_LARGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("bench/out/perf/gen_100000.prof"));
    let real = ["pip_list", "pygments", "pylint", "sympy"].map(|name| {
        (
            root.join(format!("tests/data/real/{name}.prof")),
            name == "pip_list",
        )
    });
    let mut out = Vec::new();
    for (path, all_stages) in real.into_iter().chain([(large, true)]) {
        match std::fs::read(&path) {
            Ok(data) => {
                let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                out.push((name, Bytes::from(data), all_stages));
            }
            Err(e) => eprintln!("skipping {}: {e}", path.display()),
        }
    }
    out
}

fn group<'a>(c: &'a mut Criterion, stage: &str, data: &Bytes) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(stage);
    g.throughput(Throughput::Bytes(data.len() as u64));
    if data.len() > 2_000_000 {
        g.sample_size(10);
    }
    g
}

fn stages(c: &mut Criterion) {
    for (name, data, all_stages) in inputs() {
        // The fast path alone (bytes → builder), then the model built from it: together
        // they are `load` (which also sniffs the file first).
        let mut g = group(c, "read", &data);
        let budget = input::pstats::edge_budget(data.len());
        g.bench_function(&name, |b| {
            b.iter(|| input::direct::read(black_box(&data), budget).unwrap())
        });
        g.finish();

        let mut g = group(c, "model", &data);
        g.bench_function(&name, |b| {
            b.iter_batched(
                || input::direct::read(&data, budget).unwrap().0,
                |builder| builder.finish(),
                BatchSize::LargeInput,
            )
        });
        g.finish();

        let mut g = group(c, "load", &data);
        g.bench_function(&name, |b| {
            b.iter(|| input::load("bench", black_box(data.clone())).unwrap())
        });
        g.finish();
        if !all_stages {
            continue;
        }

        let mut g = group(c, "decode", &data);
        g.bench_function(&name, |b| {
            b.iter(|| marshal::decode(black_box(&data)).unwrap())
        });
        g.finish();

        let profile = input::load("bench", data.clone()).unwrap().profile;
        let options = RenderOptions::default();

        // The data checks the CLI runs before rendering (components cached, as the
        // trees compute them too).
        let mut g = group(c, "checks", &data);
        g.bench_function(&name, |b| {
            b.iter(|| input::checks::check(black_box(&profile)))
        });
        g.finish();

        let mut g = group(c, "flame", &data);
        g.bench_function(&name, |b| {
            b.iter(|| tree::flame_tree(black_box(&profile), &options.tree))
        });
        g.finish();

        let mut g = group(c, "inverted", &data);
        g.bench_function(&name, |b| {
            b.iter(|| tree::inverted_tree(black_box(&profile), &options.tree))
        });
        g.finish();

        // Backends alone: the trees are built once, outside the timed loop.
        let job = Job::new(&profile, &options);
        job.flame();
        job.inverted();
        // Into a reused buffer, as the CLI writes into a buffered file or pipe: writing
        // to `io::sink()` directly would make unbuffered output look free.
        let mut out: Vec<u8> = Vec::new();
        for be in backend::registry() {
            let mut g = group(c, &format!("backend-{}", be.name), &data);
            g.bench_function(&name, |b| {
                b.iter(|| {
                    out.clear();
                    (be.render)(black_box(&job), &mut out).unwrap()
                })
            });
            g.finish();
        }
    }
}

criterion_group!(benches, stages);

fn main() {
    // Memory is asked for as the binary asks for it, so that page faults cost here
    // what they cost a run of `flameprof`.
    flameprof::heap::keep_freed_memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
