//! Tests of the run matching ([`super::solve`]).

use super::*;

fn row(calls: u32, time: f64, module: Option<u32>) -> Importer {
    Importer {
        calls,
        time,
        module,
    }
}

fn col(runs: u32, time: f64, importer: Option<u32>) -> Module {
    Module {
        runs,
        time,
        importer,
    }
}

#[test]
fn runs_go_to_the_importers_whose_times_they_fit() {
    // Modules main (0), a (1), b (2), c (3, run twice at 5 a run). The root runs
    // main; main imports a, b and c (30 + 20 + 5); a imports c (5).
    let rows = [
        row(1, 100.0, None),
        row(3, 55.0, Some(0)),
        row(1, 5.0, Some(1)),
    ];
    let cols = [
        col(1, 100.0, Some(1)),
        col(1, 30.0, Some(2)),
        col(1, 20.0, None),
        col(2, 10.0, None),
    ];
    let runs = solve(&rows, &cols).unwrap();
    assert_eq!(runs.module, [NONE, 0, 1, 2, 3, 3]);
    // main under the root, a and b under main, one run of c under each of main and a.
    assert_eq!(runs.parent[1], 0);
    assert_eq!(runs.parent[2], 1);
    assert_eq!(runs.parent[3], 1);
    let mut c_parents = [runs.parent[4], runs.parent[5]];
    c_parents.sort();
    assert_eq!(c_parents, [1, 2]);
    assert!(runs.objective < 1e-9, "{runs:?}");
    assert_eq!(runs.width[4], 5.0);
}

#[test]
fn no_module_runs_inside_itself() {
    // a (run twice, 2 + 8) imports one module; by time alone a's import would
    // be its own run of 2, but it can only be b.
    let rows = [row(2, 10.0, None), row(1, 2.0, Some(0))];
    let cols = [col(2, 10.0, Some(1)), col(1, 2.0, None)];
    let runs = solve(&rows, &cols).unwrap();
    assert_eq!(runs.module, [NONE, 0, 0, 1]);
    assert_eq!(&runs.parent[1..3], [0, 0]);
    assert!(runs.parent[3] == 1 || runs.parent[3] == 2, "{runs:?}");
}

#[test]
fn counts_that_do_not_add_up_are_refused() {
    let rows = [row(2, 20.0, None)];
    let cols = [col(1, 20.0, None)];
    assert!(solve(&rows, &cols).is_none());
    let cols = [col(2, f64::NAN, None)];
    assert!(solve(&rows, &cols).is_none());
}

#[test]
fn the_search_is_bounded_and_deterministic_on_large_problems() {
    // n single-run modules, each imported by the one n/2 before it or by the root.
    let problem = |n: u32| {
        let mut next = xorshift(7);
        let times: Vec<f64> = (0..n).map(|_| 1.0 + (next() % 1000) as f64).collect();
        let mut rows = vec![row(n / 2, times.iter().sum::<f64>() / 2.0, None)];
        let mut cols: Vec<Module> = times.iter().map(|&t| col(1, t, None)).collect();
        for c in 0..n / 2 {
            cols[c as usize].importer = Some(rows.len() as u32);
            rows.push(row(1, times[(c + n / 2) as usize], Some(c)));
        }
        (rows, cols)
    };
    // Within the cap: a tree, the same every time.
    let (rows, cols) = problem(300);
    let a = solve(&rows, &cols).unwrap();
    assert_eq!(solve(&rows, &cols), Some(a));
    // Near the largest problem counted: the work cap ends the search, the same way
    // every time.
    let (rows, cols) = problem(2_800);
    let a = solve(&rows, &cols);
    assert_eq!(solve(&rows, &cols), a);
    // Too many pairs to count: refused before any work.
    let (rows, cols) = problem(20_000);
    assert_eq!(solve(&rows, &cols), None);
}
