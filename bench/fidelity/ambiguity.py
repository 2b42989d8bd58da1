#!/usr/bin/env python3
"""Pairs of runs, one stats file each: what the file cannot tell.

usage: python3 bench/fidelity/ambiguity.py [--flameprof BIN] [--callers N] [--records N]

Both cases replay runs through the truth tools' exact model of cProfile
(lsprof_sim.py), with the same calls and the same cost per call, and print whether
the two stats files are the same bytes.

**Cut share.** Replays two runs through the truth tools' exact model of cProfile (lsprof_sim.py),
with the same calls and the same cost per call: N callers a_i each call one shared
function g N times, and each call of g calls one of N leaves h_j, every leaf N times in
all. In `apart`, a_i's calls of g all go to h_i; in `mixed`, they go to every leaf in
turn. cProfile keeps per function and per caller→callee edge the same numbers for both,
so the two stats files are the same bytes; but `apart` has N stacks under g, each
1/N of it, and `mixed` N² stacks of 1/N², under the default 0.1 % threshold from
N = 32 on. Prints whether the two files are identical, each run's true cut share (the
share of the run in frames narrower than the threshold) and the share flameprof
reports (the same for both, since it reads the same file).

**Depth of mutual recursion.** An encoder like json.tool's, `_iterencode_list` and
`_iterencode_dict` calling each other, runs over N records, each a chain of nested
lists and dicts. In `even` every record nests 8 deep; in `uneven`, N - 1 records nest
4 deep and one nests 4 + 4N. cProfile counts, per function and per edge, the
outermost calls apart from the rest (primitive calls), and counts an edge's time at
its outermost call only: both runs have the same records at the first two levels of
each function and the same number of calls below, so the files are the same bytes.
Prints each run's true distribution of encoder depth (share of time by how many
encoder frames are on the stack), its distance from the other's, and the distance of
what flameprof draws from each: no drawing can be nearer than half the first distance
to both.
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
# Each encoder frame's own time in the depth case: large enough that `-f log`'s whole
# microseconds keep every level.
FRAME_NS = 100_000


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


def chain_events(records, mode):
    """The depth case's call/return stream: one chain of alternating list/dict
    encoders per record, each frame costing the same."""
    t = 0
    out = []
    key = lambda name, line: ("json/encoder.py", line, name)  # noqa: E731
    lst, dct = key("_iterencode_list", 277), key("_iterencode_dict", 333)
    out.append(("c", ("tool.py", 1, "main"), t))
    for r in range(records):
        if mode == "even":
            depth = 8
        else:
            depth = 4 + 4 * records if r == 0 else 4
        for k in range(depth):
            t += FRAME_NS
            out.append(("c", lst if k % 2 == 0 else dct, t))
        for _ in range(depth):
            t += FRAME_NS
            out.append(("r", t))
    t += FRAME_NS
    out.append(("r", t))
    return out


def run_flameprof(flameprof, fmt, prof):
    return subprocess.run([flameprof, "-f", fmt, prof], capture_output=True, text=True, check=True).stdout


def depth_case(args, simulate, write_outputs, work):
    runs = {}
    for mode in ("even", "uneven"):
        prefix = os.path.join(work, "depth-" + mode)
        stats, folded = simulate(chain_events(args.records, mode))
        write_outputs(stats, folded, prefix)
        with open(prefix + ".prof", "rb") as f:
            runs[mode] = {"bytes": f.read(),
                          "truth": workflows.encoder_depths(workflows.load_file(prefix + ".truth.folded")),
                          "drawn": workflows.encoder_depths(workflows.load(
                              run_flameprof(args.flameprof, "log", prefix + ".prof").splitlines()))}
    same = runs["even"]["bytes"] == runs["uneven"]["bytes"]
    apart = workflows.tvd(runs["even"]["truth"], runs["uneven"]["truth"])
    print()
    print("records: %d; the two stats files are %s; distance between the true depth "
          "distributions: %.3f (no drawing is within %.3f of both)"
          % (args.records, "identical" if same else "DIFFERENT", apart, apart / 2))
    print("| run | true max depth | drawn max depth | depth tvd, drawn vs true |")
    print("|---|---|---|---|")
    for mode in ("even", "uneven"):
        r = runs[mode]
        print("| %s | %d | %d | %.3f |" % (mode, max(r["truth"]), max(r["drawn"]) if r["drawn"] else 0,
                                           workflows.tvd(r["truth"], r["drawn"])))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flameprof", default=os.environ.get("FLAMEPROF") or os.path.join(ROOT, "target", "release", "flameprof"))
    ap.add_argument("--callers", type=int, default=40)
    ap.add_argument("--records", type=int, default=4)
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
    depth_case(args, simulate, write_outputs, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
