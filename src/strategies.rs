//! What the unit tests' property tests share: the proptest configuration (fixed seed,
//! nothing written into the repo) and random call graphs.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};

/// `cases` cases from a fixed seed, so that a run is the same each time, and no
/// `proptest-regressions/` files written next to the sources.
pub(crate) fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x00f1_a3e9_0f00),
        failure_persistence: None,
        ..Config::default()
    }
}

/// A call graph on 1 to `max_functions` functions: the function count and up to
/// `max_calls(functions)` `(caller, callee)` calls, self-calls and repeats included.
/// It shrinks towards fewer functions and fewer calls between lower ones.
pub(crate) fn call_graph(
    max_functions: usize,
    max_calls: impl Fn(usize) -> usize,
) -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
    (1..=max_functions).prop_flat_map(move |n| (Just(n), vec((0..n, 0..n), 0..=max_calls(n))))
}
