//! Sampled profiles: CPython 3.15's sampling profiler (`synth_sampled_py315.prof`,
//! written by `tests/support/sampled_pstats.py` as its collector counts) read as
//! samples in every format, its per-line keys grouped by function, and
//! pyinstrument's unknown (-1) counts.

use crate::util::run;

const SAMPLED: &str = "tests/data/pstats/synth_sampled_py315.prof";
const PYINSTRUMENT: &str = "tests/data/pstats/real_pyinstrument_py311.prof";

#[test]
fn the_text_tree_counts_samples_and_groups_lines_into_functions() {
    let text = run(&["-f", "text", SAMPLED]).ok().stdout_text();
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap().contains("  samples  function"),
        "{text}"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with("all (12 functions, 150 samples)"),
        "{text}"
    );
    // main ran at lines 30 to 33: one function, at its smallest line.
    assert!(
        text.contains("main (app.py:30)") && !text.contains("app.py:31"),
        "{text}"
    );
    assert!(text.contains("{GC}, {native} and <task> frames are the sampling profiler's"));
    let kept = run(&["-f", "text", "--keep-lines", SAMPLED])
        .ok()
        .stdout_text();
    assert!(kept.contains("all (18 functions, 150 samples)"), "{kept}");
    assert!(kept.contains("main (app.py:31)"), "{kept}");
}

#[test]
fn json_says_the_counts_are_samples_and_the_totals_add_up() {
    let out = run(&["-f", "json", SAMPLED]).ok().stdout_text();
    assert!(out.starts_with(
        "{\"schema_version\":1,\"units\":{\"counts\":\"samples\",\"times\":\"seconds\"},\
         \"totals\":{\"functions\":12,\"calls\":650,\"primitive_calls\":150,"
    ));
    // Model.step was on the stack in 50 samples: 70 over its two lines, 20 of which
    // saw it at both.
    let step = out
        .lines()
        .find(|l| l.contains("\"name\":\"Model.step\""))
        .unwrap();
    assert!(step.contains("\"cc\":50,\"nc\":50,"), "{step}");
    // Both trees hold the 150 samples of 1 ms.
    assert_eq!(
        out.matches("\"total\":0.15000000000000002,\"cut_time\"")
            .count(),
        2
    );
    let calls = run(&["-f", "json", PYINSTRUMENT]).ok().stdout_text();
    assert!(calls.contains("\"units\":{\"counts\":\"calls\",\"times\":\"seconds\"}"));
}

#[test]
fn the_svg_names_samples_and_colours_the_sampler_frames_as_internals() {
    let svg = run(&["-f", "svg", SAMPLED]).ok().stdout_text();
    assert!(svg.contains(">150 samples; times are samples × the sampling interval<"));
    assert!(svg.contains("unit:'samples',"));
    let calls = run(&["-f", "svg", PYINSTRUMENT]).ok().stdout_text();
    assert!(!calls.contains("unit:'samples'") && !calls.contains("class=\"sub\""));
}

#[test]
fn stats_prints_the_sampled_column_titles() {
    let out = run(&["-f", "stats", "--keep-lines", SAMPLED])
        .ok()
        .stdout_text();
    assert!(
        out.starts_with("         670 function calls (150 primitive calls) in 0.150 seconds\n")
    );
    assert!(
        out.contains(
            "\n nsamples  tottime persample cumtime persample filename:lineno(function)\n"
        )
    );
}

#[test]
fn calls_and_samples_are_not_merged() {
    let r = run(&["-f", "text", PYINSTRUMENT, SAMPLED]);
    assert_eq!(r.code(), 1, "{}", r.describe());
    assert_eq!(
        r.stderr(),
        format!(
            "flameprof: cannot read '{SAMPLED}': a sampled profile (counts are samples) cannot \
             be merged with '{PYINSTRUMENT}', a profile of calls (cProfile, profile, yappi)\n"
        )
    );
    // Two sampled files merge, and stay samples.
    let two = run(&["-f", "text", SAMPLED, SAMPLED]).ok().stdout_text();
    assert!(two.contains("all (12 functions, 300 samples)"), "{two}");
}

#[test]
fn pyinstruments_unknown_counts_in_every_format() {
    let text = run(&["-f", "text", PYINSTRUMENT]).ok().stdout_text();
    assert!(
        text.contains("104.47ms         0         ?  └─ <module>"),
        "{text}"
    );
    let json = run(&["-f", "json", PYINSTRUMENT]).ok().stdout_text();
    assert!(
        // No sum of unknown counts: never a negative number of calls.
        json.contains("\"calls\":null,\"primitive_calls\":null,"),
        "{json}"
    );
    assert!(
        !json.contains("\"cc\":-") && !json.contains("\"nc\":-") && !json.contains(":-1,"),
        "{json}"
    );
    let node = json
        .lines()
        .find(|l| l.starts_with("{\"id\":1,\"parent\":0,"))
        .unwrap();
    assert!(node.contains("\"calls\":null"), "{node}");
    let svg = run(&["-f", "svg", PYINSTRUMENT]).ok().stdout_text();
    assert!(svg.contains("<svg"));
    let log = run(&["-f", "log", PYINSTRUMENT]).ok().stdout_text();
    assert!(
        log.ends_with(":9:spin 23320\n") || log.contains(":0:sleep 20166\n"),
        "{log}"
    );
    // pstats' own bytes: -1 calls and negative per-call times, as it prints them.
    let stats = run(&["-f", "stats", PYINSTRUMENT]).ok().stdout_text();
    assert!(
        stats.starts_with("         -7 function calls in 0.104 seconds\n"),
        "{stats}"
    );
    assert!(stats.contains(
        "       -1    0.049   -0.049    0.084   -0.084 tests/support/pyinstrument_workload.py:9(spin)\n"
    ));
}
