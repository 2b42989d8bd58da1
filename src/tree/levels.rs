//! Direct recursion, level by level: how many calls and how much time each level of
//! a function that calls itself gets when its recursion is drawn unrolled.
//!
//! cProfile keeps, for a function `f` with a self-edge `f → f`:
//!
//! - `f.cc`, its primitive calls: the outermost level;
//! - the self-edge's `cc`, its primitive calls: the calls the outermost level made,
//!   which are exactly the second level;
//! - the self-edge's `nc`: all inner calls, every level below the outermost;
//! - `f.ct` and the self-edge's `ct`, both counted for outermost calls only: the
//!   outermost level's time, and the time of everything below it.
//!
//! So the outermost level's own time (besides its recursion) is exact, and so are the
//! calls of the first two levels; how the rest spreads over depth is not in the data.
//! [`Levels`] takes the simplest model that matches all of it:
//!
//! - **Calls**: every level makes `fan` calls per call of the level above, `fan` being
//!   what the outermost level did (second-level calls / outermost calls), until the
//!   inner calls run out. A `fan` below 1 that could never use them all is raised to
//!   the smallest one that can. `fact(n)` gives a chain of about one call a level,
//!   `walk(children)` a tree whose levels widen.
//! - **Time**: the time per call changes by one constant factor `g` a level, chosen so
//!   that the inner levels add up to the self-edge's `ct`, given the outermost level's
//!   exact time. Calls that cost the same at every depth give `g = 1`; work done at
//!   the leaves of a tree gives `g > 1`; work that halves a level gives `g < 1`.
//!
//! Folded (recursion drawn once), every model gives back the data.

/// At most this many levels are modelled (a drawn chain stops long before: each inner
/// level keeps at least 5 % of its width, see `facts::MAX_INNER_SHARE`).
const MAX_LEVELS: usize = 256;

/// A level with fewer calls than this per outermost call ends the model.
const MIN_CALLS: f64 = 1e-6;

/// The depth model of one directly recursive function (see the module comment).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Levels {
    /// Calls of each level per outermost call (`calls[0] == 1`).
    calls: Vec<f64>,
    /// Share of each level's width its inner call takes (0 for the last level).
    share: Vec<f64>,
}

impl Levels {
    /// The model for a function with `outer` primitive calls and cumulative time `ct`,
    /// whose self-edge has `inner_nc` calls, `second` of them primitive, and
    /// cumulative time `inner_ct`.
    pub fn new(outer: f64, ct: f64, inner_nc: f64, second: f64, inner_ct: f64) -> Levels {
        let outer = outer.max(1.0);
        let ipo = inner_nc / outer;
        let inner_ct = inner_ct.min(ct);
        if !(ipo > 0.0 && ipo.is_finite() && inner_ct > 0.0 && ct.is_finite()) {
            return Levels::default();
        }
        // A constant fan f < 1 reaches at most f / (1 - f) inner calls per outermost
        // call: at least ipo / (1 + ipo) is needed to place them all.
        let fan = (second / outer).max(ipo / (1.0 + ipo));
        let mut calls = vec![1.0];
        let mut left = ipo;
        let mut c = 1.0;
        while left > MIN_CALLS && calls.len() < MAX_LEVELS {
            c = (c * fan).min(left);
            if c < MIN_CALLS {
                break;
            }
            left -= c;
            calls.push(c);
        }
        // Time per level, relative to the outermost level's exact own time x1:
        // calls[k] * g^k. Solve sum over k >= 1 = inner_ct / x1 for g, in logs (g may
        // be large when the outermost level does almost nothing itself).
        let x1 = ct - inner_ct;
        let target = if x1 > 0.0 {
            (inner_ct / x1).ln()
        } else {
            f64::INFINITY
        };
        let log_sum = |ln_g: f64| {
            let terms = calls[1..]
                .iter()
                .enumerate()
                .map(|(i, &c)| c.ln() + (i + 1) as f64 * ln_g);
            log_sum_exp(terms)
        };
        let ln_g = if target.is_finite() {
            // log_sum grows with ln_g; bisect on a range far wider than any real profile.
            let (mut lo, mut hi) = (-50.0f64, 50.0f64);
            for _ in 0..60 {
                let mid = 0.5 * (lo + hi);
                if log_sum(mid) < target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            0.5 * (lo + hi)
        } else {
            50.0
        };
        // Suffix sums of the inner levels' times, scaled by the largest term.
        let ln_x: Vec<f64> = calls
            .iter()
            .enumerate()
            .map(|(k, &c)| c.ln() + k as f64 * ln_g)
            .collect();
        let top = ln_x[1..].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let x: Vec<f64> = ln_x.iter().map(|&l| (l - top).exp()).collect();
        let mut share = vec![0.0; calls.len()];
        let mut below = 0.0;
        for k in (1..calls.len()).rev() {
            let here = below + x[k];
            share[k] = if here > 0.0 { below / here } else { 0.0 };
            below = here;
        }
        // The outermost level's share is the data's.
        share[0] = if ct > 0.0 { inner_ct / ct } else { 0.0 };
        Levels { calls, share }
    }

    /// Calls of level `k` (0: outermost) per outermost call; 0 past the last level.
    pub fn calls(&self, k: usize) -> f64 {
        self.calls.get(k).copied().unwrap_or(0.0)
    }

    /// Share of level `k`'s width that its inner call takes; 0 for the last level.
    pub fn share(&self, k: usize) -> f64 {
        self.share.get(k).copied().unwrap_or(0.0)
    }
}

/// `ln(sum(exp(t)))` without overflow.
fn log_sum_exp(terms: impl Iterator<Item = f64> + Clone) -> f64 {
    let top = terms.clone().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return top;
    }
    top + terms.map(|t| (t - top).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Width of each level per outermost call, from the model.
    fn widths(l: &Levels, ct: f64) -> Vec<f64> {
        let mut w = vec![ct];
        for k in 0.. {
            let next = w[k] * l.share(k);
            if next <= 0.0 {
                break;
            }
            w.push(next);
        }
        w
    }

    #[test]
    fn a_chain_of_equal_calls_gives_each_level_the_same_time() {
        // 10 outermost calls, each recursing 4 times (5 levels of 10 calls), 1 s a call.
        let l = Levels::new(10.0, 50.0, 40.0, 10.0, 40.0);
        assert_eq!(l.calls.len(), 5);
        let w = widths(&l, 50.0);
        for (k, width) in w.iter().enumerate() {
            assert!((width - 10.0 * (5 - k) as f64).abs() < 1e-6, "{w:?}");
        }
    }

    #[test]
    fn a_tree_with_work_at_the_leaves_puts_the_time_deep() {
        // 1 outermost call, 2 children a level, 3 levels below it (2 + 4 + 8 calls);
        // the outermost level costs 1, the 8 leaves 100 each, inner nodes 1 each.
        let inner_ct = 2.0 + 4.0 + 800.0;
        let l = Levels::new(1.0, 1.0 + inner_ct, 14.0, 2.0, inner_ct);
        assert_eq!(l.calls, vec![1.0, 2.0, 4.0, 8.0]);
        let w = widths(&l, 1.0 + inner_ct);
        assert_eq!(w.len(), 4);
        // The outermost level keeps exactly its own time.
        assert!((w[0] - w[1] - 1.0).abs() < 1e-9);
        // Most of the time is in the last level.
        assert!(w[3] > 0.8 * inner_ct, "{w:?}");
    }

    #[test]
    fn shrinking_work_decays_geometrically() {
        // Half the calls recurse, each level's calls cost 0.7 of the level above: the
        // model has fan 0.5 (raised to use all inner calls) and time decaying.
        let l = Levels::new(
            100.0,
            100.0 / (1.0 - 0.35),
            100.0,
            50.0,
            100.0 * 0.35 / 0.65,
        );
        let w = widths(&l, 100.0 / 0.65);
        for k in 1..w.len() - 1 {
            assert!(w[k + 1] < w[k], "{w:?}");
        }
    }

    #[test]
    fn no_inner_time_or_calls_means_no_levels() {
        assert_eq!(Levels::new(1.0, 1.0, 0.0, 0.0, 0.5).share(0), 0.0);
        assert_eq!(Levels::new(1.0, 1.0, 3.0, 1.0, 0.0).share(0), 0.0);
        assert_eq!(Levels::new(1.0, f64::NAN, 3.0, 1.0, 1.0).share(0), 0.0);
    }

    #[test]
    fn an_outermost_level_without_own_time_passes_everything_on() {
        let l = Levels::new(1.0, 5.0, 4.0, 1.0, 5.0);
        assert_eq!(l.share(0), 1.0);
        let w = widths(&l, 5.0);
        assert!(w.iter().all(|x| x.is_finite()), "{w:?}");
    }
}
