"""Wall time of `flameprof run` against `python -m cProfile`: with its call paths
recorded (the default), with the stacks sampled instead, and with neither.

    python3 bench/run/overhead.py [--flameprof PATH] [--reps N] [PYTHON...]

Default: target/release/flameprof (build it first), 5 repetitions, pyenv's 3.8, 3.11,
3.12 and 3.13. For each interpreter, programs short and long:

- workloads/calls.py, CPU-bound with many small calls (cProfile's worst case, and the
  recorder's): a short (60,000 iterations, ~0.1 s) and a long (2,500,000, ~3 s) run;
- `-m pip list` (imports and I/O, a real program, ~0.5-1 s) where pip is installed;
- workloads/threads.py: 10,000 short threads (~1 s), which `python -m cProfile` does
  not record before 3.12;
- `-m pytest` on bench/fidelity/workloads/pytest_suite where pytest is installed;

and times, in turn within each repetition so that load on the machine hits all alike:
`python X` (plain), `python -m cProfile -o /dev/null X` (cProfile), `flameprof run
--no-stacks -o /dev/null X` (stats alone), `flameprof run -o /dev/null X` (recorded)
and the same with FLAMEPROF_SAMPLE_STACKS=1 (sampled). Prints the medians and the
ratios of the recorded and sampled runs to cProfile.
"""
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CALLS = os.path.join(HERE, "workloads", "calls.py")
THREADS = os.path.join(HERE, "workloads", "threads.py")
SUITE = os.path.join(ROOT, "bench", "fidelity", "workloads", "pytest_suite")
PROGRAMS = [
    ("calls, short", [CALLS, "60000"], None),
    ("calls, long", [CALLS, "2500000"], None),
    ("pip list", ["-m", "pip", "list"], "pip"),
    ("10,000 threads", [THREADS, "200"], None),
    ("pytest suite", ["-m", "pytest", "-q", "-p", "no:cacheprovider", SUITE], "pytest"),
]


def timed(cmd, env=None):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def has(py, module):
    return subprocess.run([py, "-c", "import " + module], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def main():
    args = sys.argv[1:]
    flameprof, reps = os.path.join(ROOT, "target", "release", "flameprof"), 5
    while args and args[0].startswith("--"):
        if args[0] == "--flameprof":
            flameprof = args[1]
        elif args[0] == "--reps":
            reps = int(args[1])
        args = args[2:]
    pythons = args or [sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python3" % v)))[-1]
                       for v in ("3.8", "3.11", "3.12", "3.13")]
    sampled_env = dict(os.environ, FLAMEPROF_SAMPLE_STACKS="1")
    tmp = tempfile.mkdtemp(prefix="overhead-")
    print("| python | program | plain | cProfile | run, stats alone | run, recorded | run, sampled"
          " | recorded / cProfile | sampled / cProfile |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for py in pythons:
        version = subprocess.run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
        for label, argv, needs in PROGRAMS:
            if needs and not has(py, needs):
                continue
            t = {"plain": [], "cprofile": [], "alone": [], "recorded": [], "sampled": []}
            fp = [flameprof, "run", "--python", py, "-o", os.devnull]
            for _ in range(reps):
                t["plain"].append(timed([py] + argv))
                t["cprofile"].append(timed([py, "-m", "cProfile", "-o", os.devnull] + argv))
                t["alone"].append(timed(fp + ["--no-stacks"] + argv))
                t["recorded"].append(timed(fp + argv))
                t["sampled"].append(timed(fp + argv, sampled_env))
            m = {k: statistics.median(v) for k, v in t.items()}
            print("| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f |" % (
                version, label, m["plain"], m["cprofile"], m["alone"], m["recorded"], m["sampled"],
                m["recorded"] / m["cprofile"], m["sampled"] / m["cprofile"]))
            sys.stdout.flush()
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
