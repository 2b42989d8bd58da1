//! A deterministic pseudo-random source (xorshift64) for the random kicks of the
//! dispatch fit (`tree::dispatch`), so that a fit is the same on every run, and for the
//! few unit tests that want a long fixed stream of values rather than shrinking cases
//! (the number formatter's 80 000 samples, the reader's 4000 mutated fixtures). The
//! property tests draw from proptest (`crate::strategies`).

/// A generator of 64-bit values from `seed` (which must not be 0).
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
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
