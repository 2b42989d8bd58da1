"""How close `flameprof run`'s stacks come to the program's true stacks.

    python3 bench/run/fidelity.py [--flameprof PATH] [--python PYTHON] [--truth DIR]
                                  [WORKLOAD...]

For each workload of bench/run/workloads/ (default: all three):

1. the truth: ../shared/truth/trace.py (the full-stack tracer) runs the workload and
   writes its true self time per full stack (a run of its own: two traced runs differ
   by 0.014-0.035 TVD, the noise floor);
2. one `flameprof run -f log --threshold 0 --save-stacks S.folded` run gives (i) the
   stacks flameprof reconstructs from the stats file, as today, and (ii) the sampled
   stacks alone (the sampler's file, scaled to the same total by fidelity.py's
   normalisation: it compares distributions);
3. ../shared/truth/fidelity.py scores (i) and (ii) against the truth.

Alignment, done the same to all three files: the truth's stacks start with the
tracer's own frames (trace.py's lambda, runpy's run_path ... _run_code) before the
`~:0:<built-in method builtins.exec>` that runs the script, where flameprof's start at
that exec: every frame before the first exec is dropped (and a stack with no exec,
the tracer's setup, is dropped whole). Comment lines (`# mode: wall`) are dropped.

Columns: (i') is the reconstruction from the traced run's own .prof, so the same run
as the truth: the reconstruction's error alone, free of run-to-run differences (the
tracer, a Python callback, costs far more per call than cProfile, and that cost lands
in the callers of many small calls, so a traced run's time is spread differently
from a cProfile run's). `(ii) vs (i)` scores the samples against the reconstruction of
the same `flameprof run`: where the reconstruction is exact (hooks: every plugin has
one caller) that is the sampler's own error (noise of a few hundred samples).

Two scores are printed per estimate: `full` compares the stacks as they are, and
`nobi` with every builtin frame (`~:0:...`, bar the root exec) removed from all three
files. The samples cannot see builtins (no frame: their time lands on the Python
function that called them), so `full` charges the sampler for that and `nobi` shows
how well it got the Python stacks.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TRUTH = os.path.join(HERE, "..", "..", "..", "shared", "truth")
EXEC = "~:0:<built-in method builtins.exec>"


def align(src, dst, no_builtins):
    out = {}
    for line in open(src, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        stack, _, value = line.rpartition(" ")
        frames = stack.split(";")
        if EXEC not in frames:
            continue
        frames = frames[frames.index(EXEC):]
        if no_builtins:
            frames = [frames[0]] + [f for f in frames[1:] if not f.startswith("~:0:")]
        key = ";".join(frames)
        out[key] = out.get(key, 0.0) + float(value)
    with open(dst, "w", encoding="utf-8") as f:
        for k, v in sorted(out.items()):
            f.write("%s %.3f\n" % (k, v))


def score(truth, estimate, tmp, no_builtins):
    a, b = os.path.join(tmp, "a.folded"), os.path.join(tmp, "b.folded")
    align(truth, a, no_builtins)
    align(estimate, b, no_builtins)
    out = subprocess.run([sys.executable, os.path.join(TRUTH, "fidelity.py"), a, b],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    return dict(kv.split("=") for kv in out.split())


def main():
    args = sys.argv[1:]
    flameprof, python, truth_dir = "target/release/flameprof", "python3", None
    while args and args[0].startswith("--"):
        opt, val, args = args[0], args[1], args[2:]
        if opt == "--flameprof":
            flameprof = val
        elif opt == "--python":
            python = val
        elif opt == "--truth":
            truth_dir = val
    workloads = args or ["context", "evaluator", "hooks"]
    tmp = tempfile.mkdtemp(prefix="fidelity-")
    truth_dir = truth_dir or tmp
    print("| workload | stats alone | samples alone (no builtins) | flameprof run | flameprof run (no builtins) | same run, stats alone | samples |")
    print("|---|---|---|---|---|---|---|")
    for w in workloads:
        script = os.path.join(HERE, "workloads", w + ".py")
        truth = os.path.join(truth_dir, w + ".truth.folded")
        if not os.path.exists(truth):
            subprocess.run([python, os.path.join(TRUTH, "trace.py"), os.path.join(truth_dir, w), script],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stats_alone = os.path.join(tmp, w + ".stats.folded")
        guided = os.path.join(tmp, w + ".guided.folded")
        smp = os.path.join(tmp, w + ".samples.folded")
        run = [flameprof, "run", "--python", python, "-f", "log", "--threshold", "0"]
        subprocess.run(run + ["-o", stats_alone, "--no-samples", script], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(run + ["-o", guided, "--save-stacks", smp, script], check=True,
                       stdout=subprocess.DEVNULL)
        samples = [l for l in open(smp) if l.startswith("# samples:")][0].split()[2].rstrip(",")
        same_run = os.path.join(tmp, w + ".traced-est.folded")
        subprocess.run([flameprof, "-f", "log", "--threshold", "0", "-o", same_run,
                        os.path.join(truth_dir, w + ".prof")], check=True)
        r = [
            score(truth, stats_alone, tmp, False),
            score(truth, smp, tmp, True),
            score(truth, guided, tmp, False),
            score(truth, guided, tmp, True),
            score(truth, same_run, tmp, False),
        ]
        print("| %s | %s | %s | %s | %s | %s | %s |" % (
            (w,) + tuple(x["tvd_full"] for x in r) + (samples,)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
