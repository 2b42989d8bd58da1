"""The guided drawing's own error, free of run-to-run differences: the stack sampler
of `flameprof run` samples a run of the full-stack tracer itself, so the samples, the
stats file and the true stacks all describe one run.

    python3 bench/run/same_run.py [--flameprof PATH] [--runs N] [WORKLOAD...]

For each workload of bench/run/workloads/ (default: all but calls.py), N times (1):
../shared/truth/trace.py runs it in this process while the sampler class of
src/runner/bootstrap.py samples the main thread (the tracer's callback frames on top
of a sample are left out, and everything below the workload's `<module>`); then
flameprof draws the traced run's .prof (1) from the stats alone and (2) guided by the
samples (`--stacks`), and ../shared/truth/fidelity.py scores both and (3) the samples
alone against the true stacks (tvd_full, at threshold 0.1 %, with builtins).
"""
import marshal
import os
import runpy
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TRUTH = os.path.join(ROOT, "..", "shared", "truth")
EXEC = "~:0:<built-in method builtins.exec>"


def sampler_class():
    source = open(os.path.join(ROOT, "src", "runner", "bootstrap.py")).read()
    # Everything but the last line, which runs the bootstrap.
    body = source.rstrip().rsplit("\n", 1)[0]
    namespace = {"__name__": "flameprof_bootstrap"}
    exec(compile(body, "bootstrap.py", "exec"), namespace)
    return namespace["_flameprof_sampler"]


def traced_with_samples(workload, prefix):
    """Runs trace.py on `workload` in this process, sampled; returns the samples'
    folded text, cut to the workload's own frames and rooted at the exec."""
    sampler = sampler_class()(
        prefix + ".samples.raw", time.perf_counter, False, threading.get_ident(),
        traced_with_samples.__code__, 0.001,
    )
    argv = sys.argv[:]
    sys.argv[:] = [os.path.join(TRUTH, "trace.py"), prefix, workload]
    sampler.start()
    sampler.state[2] = True
    try:
        runpy.run_path(os.path.join(TRUTH, "trace.py"), run_name="__main__")
    finally:
        sampler.stop()
        sys.argv[:] = argv
    stats = marshal.load(open(prefix + ".prof", "rb"))
    text = sampler.folded(stats).decode("utf-8", "surrogateescape")
    script = os.path.abspath(workload)
    tracer_files = tuple(os.path.abspath(os.path.join(TRUTH, f)) for f in ("trace.py", "lsprof_sim.py"))
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        stack, _, value = line.rpartition(" ")
        frames = stack.split(";")
        starts = [i for i, f in enumerate(frames) if f.startswith(script + ":1:<module>")]
        if not starts:
            continue
        frames = frames[starts[0]:]
        while frames and os.path.abspath(frames[-1].split(":")[0]) in tracer_files:
            frames.pop()
        key = ";".join([EXEC] + frames)
        out[key] = out.get(key, 0) + int(value)
    samples = [l for l in text.splitlines() if l.startswith("# samples:")][0]
    lines = ["# mode: wall", samples] + ["%s %d" % kv for kv in sorted(out.items())]
    return "\n".join(lines) + "\n"


def score(truth, estimate, tmp):
    """tvd_full after cutting both to the stacks under the script's exec (the truth
    starts with the tracer's own frames; a stack without that exec is dropped)."""
    sys.path.insert(0, HERE)
    import fidelity
    from truth import read_folded

    def under_exec(path):
        out = {}
        for stack, value in read_folded(path).items():
            frames = stack.split(";")
            if EXEC in frames:
                key = ";".join(frames[frames.index(EXEC):])
                out[key] = out.get(key, 0.0) + value
        return out

    return fidelity.score(under_exec(truth), under_exec(estimate), tmp)


def main():
    args = sys.argv[1:]
    flameprof, runs = os.path.join(ROOT, "target", "release", "flameprof"), 1
    while args and args[0].startswith("--"):
        opt, val, args = args[0], args[1], args[2:]
        if opt == "--flameprof":
            flameprof = val
        elif opt == "--runs":
            runs = int(val)
    workloads = args or ["context", "evaluator", "hooks"]
    tmp = tempfile.mkdtemp(prefix="same-run-")
    print("| workload | run | stats alone | samples alone | guided | samples |")
    print("|---|---|---|---|---|---|")
    for w in workloads:
        script = os.path.join(HERE, "workloads", w + ".py")
        for run in range(runs):
            prefix = os.path.join(tmp, "%s-%d" % (w, run))
            folded = traced_with_samples(script, prefix)
            samples_file = prefix + ".samples.folded"
            open(samples_file, "w").write(folded)
            alone = prefix + ".stats.folded"
            guided = prefix + ".guided.folded"
            subprocess.run([flameprof, "-f", "log", "--threshold", "0", "-o", alone,
                            prefix + ".prof"], check=True)
            subprocess.run([flameprof, "-f", "log", "--threshold", "0", "-o", guided,
                            "--stacks", samples_file, prefix + ".prof"], check=True)
            bare = prefix + ".samples.bare.folded"
            open(bare, "w").write("".join(l + "\n" for l in folded.splitlines() if not l.startswith("#")))
            truth = prefix + ".truth.folded"
            count = folded.split("# samples: ")[1].split(",")[0]
            print("| %s | %d | %.4f | %.4f | %.4f | %s |" % (
                w, run, score(truth, alone, tmp), score(truth, bare, tmp),
                score(truth, guided, tmp), count))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
