//! Regression tests, named after what broke: inputs found by fuzzing or by
//! `bench/hostile.py` that once cost far more than their size.

use bytes::Bytes;
use flameprof::input;

fn z(s: &str) -> Vec<u8> {
    let mut v = vec![b'z', s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

fn int(n: i32) -> Vec<u8> {
    let mut v = vec![b'i'];
    v.extend_from_slice(&n.to_le_bytes());
    v
}

fn key(file: &str, line: i32, name: &str) -> Vec<u8> {
    let mut v = vec![b')', 3];
    v.extend(z(file));
    v.extend(int(line));
    v.extend(z(name));
    v
}

/// One callers dict (ref 0) shared by reference by every row: rows × callers edges
/// from a file of rows + callers bytes. Before the edge budget, a 680 KB file made
/// 300 million edges (8 GB, a minute); now the shared copies are ignored, with a warning.
#[test]
fn a_callers_dict_shared_by_reference_does_not_multiply_edges() {
    let (ncallers, nrows) = (300, 300);
    let mut callers = vec![b'{' | 0x80];
    for c in 0..ncallers {
        callers.extend(key("c.py", c, "g"));
        callers.extend(int(1));
    }
    callers.push(b'0');
    let mut file = vec![b'{'];
    for r in 0..nrows {
        file.extend(key("r.py", r, "h"));
        file.extend([b')', 5]);
        for _ in 0..4 {
            file.extend(int(1));
        }
        if r == 0 {
            file.extend(&callers);
        } else {
            file.push(b'r');
            file.extend(0i32.to_le_bytes());
        }
    }
    file.push(b'0');
    let len = file.len();
    let loaded = input::load("shared", Bytes::from(file)).expect("reads");
    let edges = loaded.profile.edges().len();
    assert!(
        edges <= input::pstats::edge_budget(len),
        "{edges} edges from {len} bytes"
    );
    assert!(
        edges >= ncallers as usize,
        "the first row keeps its callers"
    );
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("caller entries ignored")),
        "{:?}",
        loaded.warnings
    );
    assert_eq!(loaded.profile.listed_count(), nrows as usize);
}

/// The budget is far above what real files need: the largest real profile here keeps
/// every edge (a caller entry written out takes at least 10 bytes).
#[test]
fn the_edge_budget_never_cuts_a_real_profile() {
    for name in ["pip_list", "pylint", "sympy", "pygments"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/data/real/{name}.prof"));
        let data = std::fs::read(path).expect(name);
        let len = data.len();
        let loaded = input::load(name, Bytes::from(data)).expect(name);
        assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
        assert!(loaded.profile.edges().len() * 4 < input::pstats::edge_budget(len));
    }
}

/// 99 nested tuples that each declare as many items as bytes remain: refused, and
/// the declared counts reserve at most a few KB each (not 99 × 4 × the file size).
#[test]
fn nested_containers_declaring_every_remaining_byte_are_refused() {
    let total = 200_000usize;
    let mut file = vec![b'{'];
    for level in 0..99 {
        let left = (total - file.len() - 5 - level) as i32;
        file.push(b'(');
        file.extend(left.to_le_bytes());
    }
    file.resize(total, b'N');
    let e = input::load("nested", Bytes::from(file)).expect_err("refused");
    assert!(e.message.contains("file ends"), "{e}");
}
