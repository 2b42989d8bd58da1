//! Small profiles written as tables, for the reconstruction's unit tests.

use crate::model::{EdgeStats, FuncKey, Profile, ProfileBuilder, Stats};

/// The key of the function `name` (every test function lives in `app.py`, line 1).
pub fn key(name: &str) -> FuncKey {
    FuncKey::new("app.py", 1, name)
}

/// Adds the timed edge `from` → `to`: `nc` calls, all primitive.
pub fn edge(b: &mut ProfileBuilder, from: &str, to: &str, nc: i128, tt: f64, ct: f64) {
    let stats = Stats { cc: nc, nc, tt, ct };
    b.add_edge(key(from), key(to), EdgeStats::Timed(stats));
}

/// A profile from two tables: functions `(name, cc, nc, tt, ct)` and timed edges
/// `(caller, callee, calls, tt, ct)` (all calls primitive).
pub fn profile(
    functions: &[(&str, i128, i128, f64, f64)],
    edges: &[(&str, &str, i128, f64, f64)],
) -> Profile {
    profile_with(ProfileBuilder::new(), functions, edges)
}

/// [`profile`], adding to a builder that may hold edges of its own (calls not all
/// primitive).
pub fn profile_with(
    mut b: ProfileBuilder,
    functions: &[(&str, i128, i128, f64, f64)],
    edges: &[(&str, &str, i128, f64, f64)],
) -> Profile {
    for &(name, cc, nc, tt, ct) in functions {
        b.add_function(key(name), Stats { cc, nc, tt, ct });
    }
    for &(from, to, nc, tt, ct) in edges {
        edge(&mut b, from, to, nc, tt, ct);
    }
    b.finish()
}

/// main (1.5 s of its own) calls big (8.4375 s) and tiny (62.5 ms, under 1 %): a tree
/// where a 1 % threshold cuts one child.
pub fn a_big_and_a_tiny_child() -> Profile {
    profile(
        &[
            ("main", 1, 1, 1.5, 10.0),
            ("big", 1, 1, 8.4375, 8.4375),
            ("tiny", 1, 1, 0.0625, 0.0625),
        ],
        &[
            ("main", "big", 1, 8.4375, 8.4375),
            ("main", "tiny", 1, 0.0625, 0.0625),
        ],
    )
}
