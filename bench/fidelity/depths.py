#!/usr/bin/env python3
"""Where the error enters: tvd between truth and estimate with stacks cut at each depth.

usage: python3 bench/fidelity/depths.py [--labels ours,v04] [--cuts 5,10,...] [NAME ...]

Reads what `run.py` left behind: bench/out/data/real/NAME.truth.folded and the tools'
outputs in bench/out/est/LABEL/NAME.folded (run run.py first, with FLAMEPROF_LABEL set
to the label you pass here). Both sides are pruned as fidelity.py prunes them (0.1 %),
then every stack is cut at depth d and the total-variation distance of the cut
distributions is printed for each d. `tvd_full` is the last column; the depth where the
distance jumps is where the estimate first goes wrong for much of the time.

Slow on the large truth files (pip_list's is 400 MB): a minute or two per workload.
"""
import argparse
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "bench", "out")
sys.path.insert(0, os.path.dirname(__file__))
import gen  # noqa: E402  (the truth tools' location)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", default="ours,v04")
    ap.add_argument("--cuts", default="3,5,8,10,13,15,20,30,40,60")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    truth_dir = gen.truth_dir()
    if truth_dir is None or not os.path.isdir(truth_dir):
        print("depths.py: no truth tools found; nothing to do")
        return 0
    sys.path.insert(0, truth_dir)
    import fidelity  # the scorer's own load/prune/cut/tvd

    data = os.path.join(OUT, "data", "real")
    names = a.names or sorted(f[: -len(".truth.folded")] for f in os.listdir(data) if f.endswith(".truth.folded"))
    labels = a.labels.split(",")
    cuts = [int(c) for c in a.cuts.split(",")]
    print("| workload | tool | " + " | ".join("d≤%d" % c for c in cuts) + " | full |")
    print("|" + "---|" * (len(cuts) + 3))
    for name in names:
        truth = fidelity.prune(fidelity.load(os.path.join(data, name + ".truth.folded")), 0.001)
        for label in labels:
            est_path = os.path.join(OUT, "est", label, name + ".folded")
            if not os.path.exists(est_path):
                print("| %s | %s | missing %s |" % (name, label, est_path))
                continue
            est = fidelity.prune(fidelity.load(est_path), 0.001)
            row = ["%.3f" % fidelity.tvd(fidelity.cut(truth, c), fidelity.cut(est, c)) for c in cuts]
            row.append("%.3f" % fidelity.tvd(truth, est))
            print("| %s | %s | %s |" % (name, label, " | ".join(row)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
