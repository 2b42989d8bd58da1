//! Regression tests, named after what broke: inputs found by fuzzing or by
//! `bench/hostile.py` that once cost far more than their size.

use bytes::Bytes;
use flameprof::__private::input;

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
            .any(|w| w.message().contains("caller entries ignored")),
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

/// The first occurrence of `s` as a flagged `u` string (ref 0), every later one a
/// reference to it, as `marshal.dumps` writes a string used twice.
fn shared_text(i: i32, s: &str) -> Vec<u8> {
    if i == 0 {
        let mut v = vec![b'u' | 0x80];
        v.extend_from_slice(&(s.len() as i32).to_le_bytes());
        v.extend_from_slice(s.as_bytes());
        v
    } else {
        let mut v = vec![b'r'];
        v.extend_from_slice(&0i32.to_le_bytes());
        v
    }
}

/// 2,000 functions sharing one 200 KB name in a 250 KB file: every format used to copy
/// the name per function (or per frame), 400 MB and more; now the name is shortened
/// once, with a warning, and no format writes more than a small multiple of the input.
#[test]
fn a_name_shared_by_every_key_costs_no_more_than_the_file() {
    let name = "n".repeat(200_000);
    let mut file = vec![b'{'];
    for i in 0..2000 {
        file.extend([b')', 3]);
        file.extend(z(&format!("f{i}.py")));
        file.extend(int(i));
        file.extend(shared_text(i, &name));
        file.extend([b')', 5]);
        file.extend(int(1));
        file.extend(int(1));
        file.extend(b"g");
        file.extend(0.001f64.to_le_bytes());
        file.extend(b"g");
        file.extend(0.001f64.to_le_bytes());
        file.extend(b"{0");
    }
    file.push(b'0');
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared_name.prof");
    std::fs::write(&path, &file).unwrap();
    for format in ["svg", "log", "json", "text", "stats"] {
        let r = crate::util::run(&["-f", format, "--threshold", "0", path.to_str().unwrap()]);
        assert_eq!(r.code(), 0, "{format}: {}", r.describe());
        assert!(
            r.stdout().len() <= 64 * file.len(),
            "{format}: {} bytes out of {} in",
            r.stdout().len(),
            file.len()
        );
        assert!(
            r.stderr()
                .contains("2000 functions have a file or function name over 512 bytes"),
            "{format}: {}",
            r.stderr()
        );
    }
}

/// An endless input that is not a stats file (`/dev/zero`) is refused from its first
/// bytes, not read until memory runs out.
#[test]
fn an_endless_input_that_is_not_stats_is_refused_promptly() {
    use std::time::{Duration, Instant};
    let mut child = crate::util::bin()
        .arg("/dev/zero")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "flameprof: cannot read '/dev/zero': not a valid marshal stats file: \
         unknown type code 0x00 at byte 0\n"
    );
}
