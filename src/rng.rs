//! The one deterministic pseudo-random source (xorshift64): the random kicks of the
//! dispatch fit (`tree::dispatch`) and the cases the unit tests generate, so that both
//! are the same on every run.

/// A generator of 64-bit values from `seed` (which must not be 0).
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// Test cases: `cases` random call graphs from `seed`, the `i`-th on `1 + i % max_functions`
/// functions, each given as its function count and its `(caller, callee)` calls (up to
/// `max_calls(functions)` of them, self-calls and repeats included), and the generator,
/// for whatever else a case draws.
#[cfg(test)]
pub(crate) fn call_graphs(
    seed: u64,
    cases: usize,
    max_functions: usize,
    max_calls: impl Fn(usize) -> u64,
) -> impl Iterator<Item = (usize, Vec<(usize, usize)>, impl FnMut() -> u64)> {
    let mut next = xorshift(seed);
    (0..cases).map(move |case| {
        let n = 1 + case % max_functions;
        let calls = (0..next() % (max_calls(n) + 1))
            .map(|_| ((next() % n as u64) as usize, (next() % n as u64) as usize))
            .collect();
        (n, calls, xorshift(next() | 1))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sequence_is_fixed_and_does_not_stall() {
        let mut next = super::xorshift(1);
        let first: Vec<u64> = (0..3).map(|_| next()).collect();
        assert_eq!(
            first,
            [
                1_082_269_761,
                1_152_992_998_833_853_505,
                11_177_516_664_432_764_457
            ]
        );
        assert!((0..1000).all(|_| next() != 0));
    }
}
