use bytes::Bytes;

use super::builder::{permute, runs_by_callee, sort_by_caller};
use super::*;
use crate::strategies::{call_graph, config};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

fn st(cc: Count, nc: Count, tt: f64, ct: f64) -> Stats {
    Stats { cc, nc, tt, ct }
}

#[test]
fn texts_inline_or_shared_behave_as_their_strings() {
    let long = "x".repeat(Text::INLINE + 1);
    let short = "y".repeat(Text::INLINE);
    let data = Bytes::from(format!("{long}{short}é"));
    let texts = [
        Text::from_latin1_in(&data, 0..long.len()),
        Text::from_utf8_lossy_in(&data, long.len()..data.len()),
        Text::from(short.as_str()),
        Text::from(long.clone()),
        Text::from_latin1(data.slice(long.len()..data.len())),
        Text::default(),
    ];
    let strings = [
        long.clone(),
        format!("{short}é"),
        short.clone(),
        long.clone(),
        format!("{short}Ã©"),
        String::new(),
    ];
    for (t, s) in texts.iter().zip(&strings) {
        assert_eq!(t.as_str(), s);
    }
    // Only the long text sliced from the input points into it.
    let inside = |t: &Text| data.as_ptr_range().contains(&t.as_str().as_ptr());
    assert!(inside(&texts[0]) && !inside(&texts[2]));
    assert_eq!(texts[0], texts[3]);
    use std::hash::BuildHasher;
    let state = std::collections::hash_map::RandomState::new();
    assert_eq!(state.hash_one(&texts[0]), state.hash_one(&texts[3]));
    for (a, sa) in texts.iter().zip(&strings) {
        for (b, sb) in texts.iter().zip(&strings) {
            assert_eq!(a.cmp(b), sa.cmp(sb), "{sa:?} vs {sb:?}");
            assert_eq!(a == b, sa == sb);
        }
    }
}

#[test]
fn runs_order_by_callee_then_position() {
    // Runs listed by position (start), callees in a scrambled order with repeats.
    let runs: Vec<(u32, u32, u32)> = (0..500u32)
        .map(|i| ((i * 37 + 11) % 61, 2 * i, 2 * i + 2))
        .collect();
    let mut want = runs.clone();
    want.sort_unstable();
    assert_eq!(runs_by_callee(runs, 61), want);
}

#[test]
fn clearing_a_callee_mid_run_keeps_only_its_later_edges() {
    let key = |name: &str| FuncKey::new("f.py", 1, name);
    let count = |n: Count| EdgeStats::Count(n.into());
    let mut b = ProfileBuilder::new();
    b.add_edge(key("y"), key("x"), count(1));
    b.add_edge(key("z"), key("x"), count(8));
    b.clear_callers(&key("x"));
    b.add_edge(key("z"), key("x"), count(2));
    b.add_edge(key("x"), key("w"), count(16));
    b.add_edge(key("y"), key("x"), count(4));
    let p = b.finish();
    let x = p.find(&key("x")).expect("x");
    let callers: Vec<(String, Count)> = p
        .callers_of(x)
        .iter()
        .map(|e| (p.function(e.caller).key.name.to_string(), e.stats.calls()))
        .collect();
    assert_eq!(callers, [("y".to_string(), 4), ("z".to_string(), 2)]);
    assert_eq!(p.edges().len(), 3);
}

#[test]
fn sort_by_caller_is_stable() {
    for len in [5u32, 50] {
        // Callers scrambled with repeats; the count tells the edges apart.
        let mut group: Vec<Edge> = (0..len)
            .map(|i| Edge {
                caller: (i * 37 + 11) % 13,
                callee: 0,
                stats: EdgeStats::Count(Count::from(i).into()),
            })
            .collect();
        let mut want = group.clone();
        want.sort_by_key(|e| e.caller);
        sort_by_caller(&mut group, &mut Vec::new(), &mut Vec::new());
        assert_eq!(group, want);
    }
}

#[test]
fn counts_convert_as_casts_do() {
    let big = i128::from(i64::MAX);
    for n in [
        0,
        1,
        -1,
        3_535,
        big,
        big + 1,
        -big - 2,
        (1 << 100) + 12_345,
        i128::MIN,
    ] {
        assert_eq!(count_f64(n).to_bits(), (n as f64).to_bits(), "{n}");
    }
}

#[test]
fn decimals_are_written_as_format_writes_them() {
    for n in [0, 1, -1, 9, 10, 99, 100, 12345, -907, i64::MAX, i64::MIN] {
        let mut buf = [0u8; 21];
        assert_eq!(decimal(&mut buf, n.unsigned_abs(), n < 0), format!("{n}"));
        let key = FuncKey::new("f.py", n, "g");
        assert_eq!(key.display(), format!("f.py:{n}(g)"));
    }
}

#[test]
fn functions_are_sorted_whatever_the_insertion_order() {
    let mut b = ProfileBuilder::new();
    b.add_function(FuncKey::new("b.py", 1, "g"), st(1, 1, 1.0, 1.0));
    b.add_function(FuncKey::new("a.py", 9, "f"), st(1, 1, 2.0, 2.0));
    let p = b.finish();
    assert_eq!(p.function(0).key.file.as_str(), "a.py");
    assert_eq!(p.function(1).key.file.as_str(), "b.py");
}

#[test]
fn merge_sums_rows_and_edges_like_pstats_add() {
    let one = || {
        let mut b = ProfileBuilder::new();
        let (f, g) = (FuncKey::new("a.py", 1, "f"), FuncKey::new("a.py", 2, "g"));
        b.add_function(f.clone(), st(1, 1, 1.0, 3.0));
        b.add_function(g.clone(), st(2, 2, 2.0, 2.0));
        b.add_edge(f, g, EdgeStats::Timed(st(2, 2, 2.0, 2.0)));
        b.finish()
    };
    let m = Profile::merge(vec![one(), one()]);
    assert_eq!(m.totals(), (6, 6, 6.0));
    let g = m.find(&FuncKey::new("a.py", 2, "g")).unwrap();
    assert_eq!(m.callers_of(g).len(), 1);
    assert_eq!(m.callers_of(g)[0].stats.calls(), 4);
}

/// The keys of `ids`, as `file:line`, for short assertions.
fn keys(p: &Profile, ids: impl IntoIterator<Item = FuncId>) -> Vec<String> {
    ids.into_iter()
        .map(|id| {
            format!(
                "{}:{}",
                p.function(id).key.file.as_str(),
                p.function(id).key.line
            )
        })
        .collect()
}

#[test]
fn the_stats_dict_order_is_kept_beside_the_key_order() {
    let k = |file: &str| FuncKey::new(file, 1, "f");
    let mut b = ProfileBuilder::new();
    b.set_function(k("c"), st(1, 1, 1.0, 1.0));
    // A caller met before its own row: its place is where its row is.
    b.add_edge(k("z"), k("c"), EdgeStats::Count(1.into()));
    b.add_edge(k("a"), k("c"), EdgeStats::Count(1.into()));
    b.set_function(k("a"), st(1, 1, 1.0, 1.0));
    b.set_function(k("b"), st(1, 1, 1.0, 1.0));
    // A duplicate row keeps its first place, and its last callers.
    b.clear_callers(&k("c"));
    b.set_function(k("c"), st(2, 2, 2.0, 2.0));
    b.add_edge(k("b"), k("c"), EdgeStats::Count(1.into()));
    b.add_edge(k("a"), k("c"), EdgeStats::Count(1.into()));
    let p = b.finish();
    assert_eq!(keys(&p, 0..4), ["a:1", "b:1", "c:1", "z:1"]);
    assert_eq!(
        keys(&p, p.listing_order().iter().copied()),
        ["c:1", "a:1", "b:1"]
    );
    let c = p.find(&k("c")).unwrap();
    assert_eq!(keys(&p, p.first_caller(c)), ["b:1"]);
    assert_eq!(p.first_caller(p.find(&k("a")).unwrap()), None);

    // pstats' add: keys already listed keep their place, new ones follow in the
    // other dict's order; callers dicts likewise.
    let mut b = ProfileBuilder::new();
    b.set_function(k("y"), st(1, 1, 1.0, 1.0));
    b.set_function(k("b"), st(1, 1, 1.0, 1.0));
    b.set_function(k("c"), st(1, 1, 1.0, 1.0));
    b.add_edge(k("y"), k("c"), EdgeStats::Count(1.into()));
    let m = Profile::merge(vec![p, b.finish()]);
    assert_eq!(
        keys(&m, m.listing_order().iter().copied()),
        ["c:1", "a:1", "b:1", "y:1"]
    );
    assert_eq!(keys(&m, m.first_caller(m.find(&k("c")).unwrap())), ["b:1"]);
}

#[test]
fn builtin_display_strips_angle_brackets() {
    let k = FuncKey::new("~", 0, "<built-in method builtins.exec>");
    assert_eq!(k.display(), "{built-in method builtins.exec}");
    assert_eq!(FuncKey::new("a.py", 3, "f").display(), "a.py:3(f)");
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn functions_share_a_component_exactly_when_each_reaches_the_other(
        (n, calls) in call_graph(9, |n| 2 * n),
    ) {
        let mut b = ProfileBuilder::new();
        let name = |i: usize| FuncKey::new("m.py", i as i64, format!("f{i}").as_str());
        for i in 0..n {
            b.add_function(name(i), st(1, 1, 1.0, 1.0));
        }
        let mut reach = vec![vec![false; n]; n];
        for (from, to) in calls {
            b.add_edge(name(from), name(to), EdgeStats::Timed(st(1, 1, 1.0, 1.0)));
            reach[from][to] = true;
        }
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    reach[i][j] |= reach[i][k] && reach[k][j];
                }
            }
        }
        let p = b.finish();
        let comp = p.components();
        // Functions are sorted by key: `f{i}` sits at line `i`.
        let id = |i: usize| p.find(&name(i)).expect("added") as usize;
        for i in 0..n {
            for j in 0..n {
                let mutual = i == j || (reach[i][j] && reach[j][i]);
                prop_assert_eq!(comp[id(i)] == comp[id(j)], mutual, "f{}, f{}", i, j);
            }
        }
    }

    #[test]
    fn permute_in_place_matches_a_gather(
        from in (0..40u32).prop_flat_map(|n| Just((0..n).collect::<Vec<u32>>()).prop_shuffle()),
    ) {
        let n = from.len() as u32;
        let items: Vec<u32> = (100..100 + n).collect();
        let want: Vec<u32> = from.iter().map(|&i| items[i as usize]).collect();
        let mut got = items.clone();
        let mut f = from.clone();
        permute(&mut got, &mut f);
        prop_assert_eq!(got, want);
    }

    /// Narrow and full-width line ranges, one file or several: the radix order (and
    /// the tuple sort it falls back to) give the key order.
    #[test]
    fn functions_sort_by_key_for_any_lines_and_files(
        keys in (1..=4u32, any::<bool>()).prop_flat_map(|(files, wide)| {
            const LINES: [i64; 9] = [i64::MIN, i64::MIN + 1, -5, 0, 1, 2, 300, 70_000, i64::MAX];
            let line = if wide { select(&LINES[..]).boxed() } else { (0..8i64).boxed() };
            vec((0..files, line, 0..5u32), 0..60)
        }),
    ) {
        let mut b = ProfileBuilder::new();
        let mut keys: Vec<FuncKey> = keys
            .into_iter()
            .map(|(file, line, name)| FuncKey::new(format!("f{file}.py"), line, format!("n{name}")))
            .collect();
        for k in &keys {
            b.add_function(k.clone(), st(1, 1, 1.0, 1.0));
        }
        keys.sort();
        keys.dedup();
        let p = b.finish();
        let got: Vec<FuncKey> = p.functions().iter().map(|f| f.key.clone()).collect();
        prop_assert_eq!(got, keys);
    }
}

#[test]
fn functions_sort_by_key_whether_or_not_texts_share_bytes() {
    let shared = Text::from("b.py");
    let mut b = ProfileBuilder::new();
    let keys = [
        FuncKey::new(shared.clone(), 2, "g"),
        FuncKey::new("b.py", 1, "z"),
        FuncKey::new("a.py", 7, "f"),
        FuncKey::new(shared.clone(), 1, "a"),
        FuncKey::new("c.py", 0, "f"),
        FuncKey::new("b.py", 2, "f"),
        FuncKey::new("", 0, "x"),
    ];
    for k in &keys {
        b.add_function(k.clone(), st(1, 1, 1.0, 1.0));
    }
    let p = b.finish();
    let mut want: Vec<FuncKey> = keys.to_vec();
    want.sort();
    let got: Vec<FuncKey> = p.functions().iter().map(|f| f.key.clone()).collect();
    assert_eq!(got, want);
}
