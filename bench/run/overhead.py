"""Wall time of `flameprof run` with and without the stack sampler, against
`python -m cProfile`, and the sampler's real rate.

    python3 bench/run/overhead.py [--flameprof PATH] [--reps N] [PYTHON...]

Default: target/release/flameprof (build it first), 5 repetitions, pyenv's 3.8, 3.11
and 3.13. For each interpreter and for a short (~0.2 s) and a long (~3-5 s) run of
workloads/calls.py (CPU-bound, many small calls: cProfile's worst case), times, in
turn within each repetition so that load on the machine hits all alike:

- `python X` (plain), `python -m cProfile -o /dev/null X` (cprofile),
- `flameprof run -o /dev/null X` (run), the same with `--save-stacks F` (sampled),

and prints the medians, the ratios to cProfile, and the samples per second of the
sampled runs (samples / sampled time, from the stacks file's header), plus one more
sampled run where the program itself sets sys.setswitchinterval(0.001) (what a 1 ms
switch interval would buy: the sampler thread only gets the GIL when the main thread
drops it, which a CPU-bound thread does every switch interval, 5 ms by default).
"""
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CALLS = os.path.join(HERE, "workloads", "calls.py")
SIZES = [("short", "60000"), ("long", "2500000")]


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def rate(stacks):
    for line in open(stacks):
        if line.startswith("# samples:"):
            parts = line.replace(",", "").split()
            return int(parts[2]) / float(parts[5])
    return float("nan")


def main():
    args = sys.argv[1:]
    flameprof, reps = "target/release/flameprof", 5
    while args and args[0].startswith("--"):
        if args[0] == "--flameprof":
            flameprof = args[1]
        elif args[0] == "--reps":
            reps = int(args[1])
        args = args[2:]
    pythons = args or [sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python3" % v)))[-1]
                       for v in ("3.8", "3.11", "3.13")]
    tmp = tempfile.mkdtemp(prefix="overhead-")
    stacks = os.path.join(tmp, "s.folded")
    print("| python | run | plain | cProfile | run | run+sampler | run/cProfile | sampled/cProfile"
          " | samples/s | samples/s, switch 1 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for py in pythons:
        version = subprocess.run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
        for label, n in SIZES:
            t = {"plain": [], "cprofile": [], "run": [], "sampled": []}
            rates = []
            fp = [flameprof, "run", "--python", py, "-o", os.devnull]
            for _ in range(reps):
                t["plain"].append(timed([py, CALLS, n]))
                t["cprofile"].append(timed([py, "-m", "cProfile", "-o", os.devnull, CALLS, n]))
                t["run"].append(timed(fp + [CALLS, n]))
                t["sampled"].append(timed(fp + ["--save-stacks", stacks, CALLS, n]))
                rates.append(rate(stacks))
            subprocess.run(fp + ["--save-stacks", stacks, CALLS, n, "0.001"], check=True,
                           stdout=subprocess.DEVNULL)
            fast = rate(stacks)
            m = {k: statistics.median(v) for k, v in t.items()}
            print("| %s | %s | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.0f | %.0f |" % (
                version, label, m["plain"], m["cprofile"], m["run"], m["sampled"],
                m["run"] / m["cprofile"], m["sampled"] / m["cprofile"], statistics.median(rates), fast))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
