"""The real workloads of bench/fidelity, each traced once with flameprof's recorder
behind the tracer: the recording, and the stats file of the very same run, both
scored against that run's true stacks.

    python3 bench/run/same_run_real.py [--flameprof PATH] [--only NAME[,NAME...]] [--keep DIR] [--reuse]

(--flameprof defaults to target/release/flameprof; build it first. Needs bench/out/venv,
a Python before 3.12, and the inputs bench/fidelity/gen.py prepares.)

For every workload of bench/fidelity/workloads/workloads.json, `same_run_recorded.py`
runs the program once under ../shared/truth/trace.py with the recorder behind it
(cwd bench/out/work, as gen.py traces), which writes:

- NAME.truth.folded: the tracer's true self time per full stack;
- NAME.prof: the stats file cProfile would have written for this very run;
- NAME.paths: the recorder's call paths of this very run.

Then `flameprof -f log` draws NAME.paths (what `flameprof run` draws)
and NAME.prof (the stats-file reconstruction of the same run), and
../shared/truth/fidelity.py scores both against the truth, aligned as real.py aligns
them (each drawing cut at half fidelity.py's 0.1 % threshold of the program's own time).
Prints: workload | stats alone tvd_full | recorded tvd_full | ratio (stats /
recorded: the issue's goal is >= 3).

Unlike real.py, nothing separates the three files but the drawing: no second run, no
tracer cost that one side has and the other not (both see the tracer's slowed run).
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from real import ROOT, VENV_PY, WORK, load, score, workloads, write  # noqa: E402

# fidelity.py cuts every frame narrower than 0.1 % of the total into its parent, as a
# flame graph draws it; the drawings are cut below that too. At `--threshold 0`, `-f
# log` would write every stack of a deep recording in full and stop at its output
# bound (pip list: 96,000 stacks up to 130 frames deep, cut at 68).
THRESHOLD = 0.1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flameprof", default=os.path.join(ROOT, "target", "release", "flameprof"))
    ap.add_argument("--only", default="")
    ap.add_argument("--keep", default="", help="directory for the files (default: a temp dir)")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--reuse", action="store_true", help="rescore the runs already in --keep DIR")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    tmp = a.keep or tempfile.mkdtemp(prefix="same-run-real-")
    os.makedirs(tmp, exist_ok=True)
    rows, notes = [], []
    for name, argv in workloads(only):
        prefix = os.path.join(tmp, name)
        try:
            if a.reuse and os.path.exists(prefix + ".paths"):
                raise FileExistsError
            rc = subprocess.run([VENV_PY, os.path.join(HERE, "same_run_recorded.py"), prefix] + argv,
                                cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                timeout=a.timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        except FileExistsError:
            rc = "kept"
        if not all(os.path.exists(prefix + x) for x in (".truth.folded", ".prof", ".paths")):
            notes.append("%s: skipped (traced run: %s)" % (name, rc))
            continue
        module = argv[0] == "-m"
        drawn = {}
        for kind, source in (("recorded", prefix + ".paths"), ("stats", prefix + ".prof")):
            folded = "%s.%s.folded" % (prefix, kind)
            # Stacks without the anchor are the harness's own (same_run_recorded.py's
            # setprofile: most of the recording's time, the tracer's), not the program's:
            # they are dropped, and the drawing is cut at the threshold's share of what
            # is left, as fidelity.py cuts it.
            threshold = THRESHOLD
            for _ in range(2):
                subprocess.run([a.flameprof, "-f", "log", "--threshold", "%g" % threshold, "-o", folded,
                                source], check=True, stderr=subprocess.DEVNULL)
                stacks, total, dropped = load(folded, module, False)
                threshold = THRESHOLD * (total - dropped) / total / 2 if total else THRESHOLD
            aligned = "%s.%s.aligned" % (prefix, kind)
            write(stacks, aligned)
            drawn[kind] = aligned
        truth = prefix + ".truth.aligned"
        write(load(prefix + ".truth.folded", module, False)[0], truth)
        stats = float(score(truth, drawn["stats"])["tvd_full"])
        recorded = float(score(truth, drawn["recorded"])["tvd_full"])
        ratio = stats / recorded if recorded > 0 else float("inf")
        rows.append("| %s | %.4f | %.4f | %.1f |" % (name, stats, recorded, ratio))
        print("done %s" % name, file=sys.stderr)
    print("| workload | stats alone | recorded | ratio |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(r)
    for n in notes:
        print("- " + n)
    print("\nfiles in %s" % tmp, file=sys.stderr)


if __name__ == "__main__":
    main()
