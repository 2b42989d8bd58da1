#!/usr/bin/env python3
"""Workflow scores: what a user of a pytest run, a plugin host or json.tool reads off
the graph, compared with the truth.

usage: python3 bench/fidelity/workflows.py [--label ours] [--flameprof BIN]

After `run.py` (which writes bench/out/est/LABEL/NAME.folded), for every real
workload present it reports:

- `cut`: the share of the run hidden by the default 0.1 % threshold (time in
  frames too narrow to draw, given to their parent), drawn vs true. The drawn
  side is what flameprof reports (`-f json`'s `cut_time` over `total`).
- pytest workloads: the test functions' drawn share of the run against their
  true share (`tests`), how much of it is drawn under `pytest_pyfunc_call`
  (`under_call`), and each of the five biggest tests' drawn / true ratio.
- json workloads: the encoder nesting depth (frames of `_iterencode_list` and
  `_iterencode_dict` on a stack), as a distribution of time: its distance from
  the truth, the true and drawn maxima, and the share of the encoder's time drawn
  deeper than the true maximum + 1.

Results go to stdout as Markdown and to bench/out/workflows.json.
"""
import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "bench", "out")
THRESHOLD = 0.001
ENCODER = ("_iterencode_list", "_iterencode_dict")


def load(lines):
    """Folded lines to {stack tuple: value}."""
    d = defaultdict(float)
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack, _, v = line.rpartition(" ")
        d[tuple(stack.split(";"))] += float(v)
    return d


def load_file(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return load(f)


def name(frame):
    return frame.rsplit(":", 1)[-1]


def cut_share(stacks):
    """Share of the total inside frames narrower than the threshold (topmost such frame)."""
    total = sum(stacks.values())
    incl = defaultdict(float)
    for s, v in stacks.items():
        for i in range(1, len(s) + 1):
            incl[s[:i]] += v
    limit = THRESHOLD * total
    cut = 0.0
    for s, v in stacks.items():
        for i in range(1, len(s) + 1):
            if incl[s[:i]] < limit:
                cut += v
                break
    return cut / total if total else 0.0


def tests(stacks):
    """Per test function: its share of the run (stacks through it), and the share
    drawn under pytest_pyfunc_call."""
    total = sum(stacks.values())
    per, under = defaultdict(float), defaultdict(float)
    for s, v in stacks.items():
        seen = set()
        for i, f in enumerate(s):
            n = name(f)
            if n.startswith("test_") and "/test_" in f and f not in seen:
                seen.add(f)
                per[f] += v
                if any(name(g) == "pytest_pyfunc_call" for g in s[:i]):
                    under[f] += v
    return {f: per[f] / total for f in per}, {f: under[f] / total for f in under}


def encoder_depths(stacks):
    d = defaultdict(float)
    for s, v in stacks.items():
        k = sum(1 for f in s if name(f) in ENCODER)
        if k:
            d[k] += v
    t = sum(d.values())
    return {k: x / t for k, x in d.items()} if t else {}


def tvd(a, b):
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--label", default="ours")
    ap.add_argument("--flameprof", default=os.environ.get("FLAMEPROF") or os.path.join(ROOT, "target", "release", "flameprof"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    manifest = json.load(open(os.path.join(OUT, "data", "manifest.json")))
    only = set(filter(None, args.only.split(",")))
    rows = []
    for p in manifest["profiles"]:
        if p["kind"] != "real" or (only and p["name"] not in only):
            continue
        est_path = os.path.join(OUT, "est", args.label, p["name"] + ".folded")
        if not os.path.exists(est_path):
            continue
        truth, est = load_file(p["truth"]), load_file(est_path)
        drawn = json.loads(subprocess.run([args.flameprof, "-f", "json", p["prof"]],
                                          capture_output=True, text=True, check=True).stdout)["flame"]
        cut_drawn = drawn["cut_time"] / drawn["total"] if drawn["total"] else 0.0
        row = {"name": p["name"], "cut_true": cut_share(truth), "cut_drawn": cut_drawn}
        if p["name"].startswith("pytest"):
            tt, tu = tests(truth)
            et, eu = tests(est)
            row["tests_true"] = sum(tt.values())
            row["tests_drawn"] = sum(et.values())
            row["under_call"] = sum(eu.values())
            top = sorted(tt, key=lambda f: -tt[f])[:5]
            row["top5"] = [(name(f), tt[f], et.get(f, 0.0)) for f in top]
        if p["name"].startswith("json"):
            td, ed = encoder_depths(truth), encoder_depths(est)
            tmax = max(td) if td else 0
            row["depth_tvd"] = tvd(td, ed)
            row["depth_max_true"] = tmax
            row["depth_max_drawn"] = max(ed) if ed else 0
            row["deeper_than_true_max_plus_1"] = sum(x for k, x in ed.items() if k > tmax + 1)
        rows.append(row)
    print("| workload | cut drawn | cut true | tests drawn / true | under pytest_pyfunc_call | top-5 tests drawn/true | depth tvd | max depth drawn / true | deeper than true max+1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t = ("%.3f / %.3f" % (r["tests_drawn"], r["tests_true"])) if "tests_true" in r else ""
        u = ("%.3f" % r["under_call"]) if "under_call" in r else ""
        top = ", ".join("%s %.2f" % (n, (e / t_) if t_ else 0) for n, t_, e in r.get("top5", []))
        dt = ("%.3f" % r["depth_tvd"]) if "depth_tvd" in r else ""
        dm = ("%d / %d" % (r["depth_max_drawn"], r["depth_max_true"])) if "depth_tvd" in r else ""
        dd = ("%.3f" % r["deeper_than_true_max_plus_1"]) if "depth_tvd" in r else ""
        print("| %s | %.3f | %.3f | %s | %s | %s | %s | %s | %s |" % (r["name"], r["cut_drawn"], r["cut_true"], t, u, top, dt, dm, dd))
    with open(os.path.join(OUT, "workflows.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
