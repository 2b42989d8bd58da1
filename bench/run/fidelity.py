"""How close `flameprof run`'s drawing comes to the program's true stacks.

    python3 bench/run/fidelity.py [--flameprof PATH] [--python PYTHON] [--truth DIR]
                                  [--runs N] [WORKLOAD...]

Workloads (default: all five): `context`, `evaluator` and `hooks` of
bench/run/workloads/ (a helper whose callee depends on its caller, a depth-dependent
recursive evaluator, a pluggy-like dispatcher), `evaluator_long` (the evaluator run
twenty times as long, scored against the evaluator's truth) and `pytest`, the suite
of bench/fidelity/workloads/pytest_suite run by `-m pytest` (PYTHON needs pytest).

For each workload:

1. the truth: ../shared/truth/trace.py (the full-stack tracer) runs it once, with
   the cyclic garbage collector off (TRACE_WITHOUT_GC says why; kept in --truth DIR
   and reused when there);
2. N times (1): one `flameprof run -f log --threshold 0.01 --save-prof P.prof
   --save-stacks S.folded` gives the guided drawing, and `flameprof -f log
   --threshold 0.01 P.prof` the drawing from that run's stats file alone: one run,
   so the two differ only in what they were drawn from;
3. ../shared/truth/fidelity.py (default 0.1 % threshold) scores both against the
   truth under the workload's anchor (`main`; `run_session` for hooks; pytest's
   `_console_main`): every file keeps only the stacks through the first frame of
   that name, cut below it.

The truth is scored twice. `raw` is trace.py's truth as written. `rescaled` (the
default columns) takes each function's self time from the run that was drawn: the
stacks ending in a function are scaled by one factor to that run's tottime
(bench/run/truth.py says why: the tracer, a Python callback, costs far more per
event than cProfile and not where cProfile's cost falls, and no drawing that holds
cProfile's times can follow it). `own` is the distance between the two runs'
times per function, which the rescaling takes out; both drawings hold the drawn
run's times, so the rescaled columns compare what the stats file cannot tell and
the samples can: which stacks each function's time was spent in.

`ideal sampler` is the guided drawing from as many samples as the run took, drawn
by an unbiased sampler from the rescaled truth itself (truth.ideal_samples): what
any sampler with that many samples could give. Where guided is close to it, what
is left is the number of samples, not the sampler.
"""
import marshal
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TRUTH = os.path.normpath(os.path.join(ROOT, "..", "shared", "truth"))
sys.path.insert(0, HERE)
from truth import cprofile_labels, ideal_samples, own_time_distance, read_folded, rescale  # noqa: E402

EXEC = "~:0:<built-in method builtins.exec>"

# trace.py with the cyclic garbage collector off. The tracer keeps a tuple per event,
# millions of them, and each full collection walks them all: a pause of tens to
# hundreds of milliseconds charged to whichever stack is running, which on the
# evaluator put 0.13 of atom's calls of peek at one depth where 0.05 of the calls are.
TRACE_WITHOUT_GC = (
    "import gc, runpy, sys; gc.disable(); sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)

WORKLOADS = {
    "context": (["{run}/context.py", "1200"], "main"),
    "evaluator": (["{run}/evaluator.py", "2000"], "main"),
    # Twenty times as long (some 35 s), for twenty times the samples; scored against
    # the evaluator's truth, as every pass of its loop parses the same expressions.
    "evaluator_long": (["{run}/evaluator.py", "40000"], "main", "evaluator"),
    "hooks": (["{run}/hooks.py", "400000"], "run_session"),
    "pytest": (["-m", "pytest", "-q", "-p", "no:cacheprovider", "{fid}/pytest_suite"], "_console_main"),
}


def under(stacks, anchor):
    """The stacks through the first frame named `anchor`, cut below it."""
    out = {}
    for stack, value in stacks.items():
        frames = stack.split(";")
        for i, f in enumerate(frames):
            if f.rsplit(":", 1)[-1] == anchor:
                key = ";".join(frames[i:])
                out[key] = out.get(key, 0.0) + value
                break
    return out


def rooted(stacks):
    """The stacks from where flameprof's sampler roots them: the exec that runs a
    script, or runpy's run_module for `-m` (the tracer's own frames cut off)."""
    out = {}
    for stack, value in stacks.items():
        frames = stack.split(";")
        for i, f in enumerate(frames):
            if f == EXEC or f.rsplit(":", 1)[-1] == "run_module":
                key = ";".join(frames[i:])
                out[key] = out.get(key, 0.0) + value
                break
    return out


def write(stacks, path):
    with open(path, "w", encoding="utf-8") as f:
        for k, v in sorted(stacks.items()):
            f.write("%s %.3f\n" % (k, v))


def score(truth, estimate, tmp):
    a, b = os.path.join(tmp, "a.folded"), os.path.join(tmp, "b.folded")
    write(truth, a)
    write(estimate, b)
    out = subprocess.run([sys.executable, os.path.join(TRUTH, "fidelity.py"), a, b],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    return float(dict(kv.split("=") for kv in out.split())["tvd_full"])


def main():
    args = sys.argv[1:]
    flameprof = os.path.join(ROOT, "target", "release", "flameprof")
    python, truth_dir, runs = "python3", None, 1
    while args and args[0].startswith("--"):
        opt, val, args = args[0], args[1], args[2:]
        if opt == "--flameprof":
            flameprof = val
        elif opt == "--python":
            python = val
        elif opt == "--truth":
            truth_dir = val
        elif opt == "--runs":
            runs = int(val)
    tmp = tempfile.mkdtemp(prefix="fidelity-")
    truth_dir = truth_dir or tmp
    os.makedirs(truth_dir, exist_ok=True)
    dirs = {"run": os.path.join(HERE, "workloads"),
            "fid": os.path.join(ROOT, "bench", "fidelity", "workloads")}
    print("| workload | run | own | stats alone | guided | ideal sampler | guided, raw truth"
          " | stats alone, raw truth | samples |")
    print("|---" * 9 + "|")
    for w in args or list(WORKLOADS):
        argv, anchor = WORKLOADS[w][:2]
        argv = [a.format(**dirs) for a in argv]
        truth_name = WORKLOADS[w][2] if len(WORKLOADS[w]) > 2 else w
        prefix = os.path.join(truth_dir, truth_name)
        if truth_name != w:
            argv_truth = [a.format(**dirs) for a in WORKLOADS[truth_name][0]]
        else:
            argv_truth = argv
        if not os.path.exists(prefix + ".truth.folded"):
            subprocess.run([python, "-c", TRACE_WITHOUT_GC, os.path.join(TRUTH, "trace.py"), prefix]
                           + argv_truth, cwd=tmp, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        traced = read_folded(prefix + ".truth.folded")
        for r in range(runs):
            prof, smp = os.path.join(tmp, w + ".prof"), os.path.join(tmp, w + ".samples.folded")
            guided, alone = os.path.join(tmp, w + ".guided.folded"), os.path.join(tmp, w + ".stats.folded")
            # The program's exit status is its own (a failing test, sys.exit): not checked.
            subprocess.run([flameprof, "run", "--python", python, "-f", "log", "--threshold", "0.01",
                            "-o", guided, "--save-prof", prof, "--save-stacks", smp] + argv,
                           cwd=tmp, stdout=subprocess.DEVNULL)
            subprocess.run([flameprof, "-f", "log", "--threshold", "0.01", "-o", alone, prof], check=True)
            g, s = under(read_folded(guided), anchor), under(read_folded(alone), anchor)
            # Microseconds, as trace.py writes them.
            own = {"%s:%s:%s" % k: v[2] * 1e6 for k, v in marshal.load(open(prof, "rb")).items()}
            named = cprofile_labels(traced, own)
            full = rescale(named, own)
            truth, raw = under(full, anchor), under(named, anchor)
            head = open(smp, encoding="utf-8", errors="replace").read(4096)
            if head.startswith("# flameprof call paths"):
                samples, ideal_score = "recorded", "–"
            else:
                samples = [l for l in head.splitlines() if l.startswith("# samples:")][0].split()[2].rstrip(",")
                # As many samples, taken by an unbiased sampler from the truth.
                ideal, ideal_guided = os.path.join(tmp, w + ".ideal.folded"), os.path.join(tmp, w + ".ideal.guided")
                with open(ideal, "w", encoding="utf-8") as f:
                    f.write(ideal_samples(rooted(full), int(samples), seed=r + 1))
                subprocess.run([flameprof, "-f", "log", "--threshold", "0.01", "--stacks", ideal,
                                "-o", ideal_guided, prof], check=True)
                ideal_score = "%.4f" % score(truth, under(read_folded(ideal_guided), anchor), tmp)
            print("| %s | %d | %.3f | %.4f | %.4f | %s | %.4f | %.4f | %s |" % (
                w, r + 1, own_time_distance(named, own), score(truth, s, tmp), score(truth, g, tmp),
                ideal_score, score(raw, g, tmp), score(raw, s, tmp), samples))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
