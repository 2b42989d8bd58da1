#!/usr/bin/env python3
"""Two runs, one stats file: the true tree's cut share is not in the file.

usage: python3 bench/fidelity/ambiguity.py [--flameprof BIN] [--callers N]

Replays two runs through the truth tools' exact model of cProfile (lsprof_sim.py),
with the same calls and the same cost per call: N callers a_i each call one shared
function g N times, and each call of g calls one of N leaves h_j, every leaf N times in
all. In `apart`, a_i's calls of g all go to h_i; in `mixed`, they go to every leaf in
turn. cProfile keeps per function and per caller→callee edge the same numbers for both,
so the two stats files are the same bytes; but `apart` has N stacks under g, each
1/N of it, and `mixed` N² stacks of 1/N², under the default 0.1 % threshold from
N = 32 on. Prints whether the two files are identical, each run's true cut share (the
share of the run in frames narrower than the threshold) and the share flameprof
reports (the same for both, since it reads the same file).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import workflows  # noqa: E402

LEAF_NS = 1000
OWN_NS = 10


def events(n, mode):
    """The call/return stream of one run, integer nanoseconds."""
    t = 0
    out = []
    key = lambda name, line: ("calls.py", line, name)  # noqa: E731
    main = key("main", 1)
    out.append(("c", main, t))
    for i in range(n):
        out.append(("c", key("a%02d" % i, 10 + i), t))
        for k in range(n):
            t += OWN_NS
            out.append(("c", key("g", 5), t))
            t += OWN_NS
            j = i if mode == "apart" else (i + k) % n
            out.append(("c", key("h%02d" % j, 100 + j), t))
            t += LEAF_NS
            out.append(("r", t))
            t += OWN_NS
            out.append(("r", t))
        t += OWN_NS
        out.append(("r", t))
    t += OWN_NS
    out.append(("r", t))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flameprof", default=os.environ.get("FLAMEPROF") or os.path.join(ROOT, "target", "release", "flameprof"))
    ap.add_argument("--callers", type=int, default=40)
    args = ap.parse_args()
    truth = os.environ.get("FLAMEPROF_TRUTH") or os.path.normpath(os.path.join(ROOT, "..", "shared", "truth"))
    if not os.path.exists(os.path.join(truth, "lsprof_sim.py")):
        print("truth tools not found at %s: skipping" % truth)
        return 0
    sys.path.insert(0, truth)
    from lsprof_sim import simulate, write_outputs
    work = tempfile.mkdtemp(prefix="flameprof-ambiguity-")
    runs = {}
    for mode in ("apart", "mixed"):
        prefix = os.path.join(work, mode)
        stats, folded = simulate(events(args.callers, mode))
        write_outputs(stats, folded, prefix)
        flame = json.loads(subprocess.run([args.flameprof, "-f", "json", prefix + ".prof"],
                                          capture_output=True, text=True, check=True).stdout)["flame"]
        with open(prefix + ".prof", "rb") as f:
            runs[mode] = {"bytes": f.read(), "truth": workflows.load_file(prefix + ".truth.folded"),
                          "cut_drawn": flame["cut_time"] / flame["total"]}
    same = runs["apart"]["bytes"] == runs["mixed"]["bytes"]
    print("callers and leaves: %d; the two stats files are %s" % (args.callers, "identical" if same else "DIFFERENT"))
    print("| run | cut share, true | cut share, drawn |")
    print("|---|---|---|")
    for mode in ("apart", "mixed"):
        print("| %s | %.3f | %.3f |" % (mode, workflows.cut_share(runs[mode]["truth"]), runs[mode]["cut_drawn"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
