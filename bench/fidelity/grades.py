#!/usr/bin/env python3
"""Do the certainty grades tell something? Each drawn frame against the truth.

usage: python3 bench/fidelity/grades.py [--flameprof BIN] [--only NAME,...]

For every real workload of the last generation (bench/out/data/manifest.json), draws
the flame tree (`-f json`, default threshold) and looks up, for each frame, the true
width of its stack (the truth's self time on every stack starting with it). Per grade
(exact, close, guess) it prints the frames' share of the drawn width, the width-weighted
mean relative error |drawn − true| / drawn, and how often the true width lies inside the
frame's range (`min_total`..`max_total`; frames whose width is from the data, `exact`:
within 0.1 %, 1 µs at least).
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
GRADES = ("exact", "close", "guess")


def true_widths(path):
    """Inclusive true time (seconds) of every stack prefix in a folded truth file."""
    incl = defaultdict(float)
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            stack, _, v = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            frames = tuple(stack.split(";"))
            v = float(v) / 1e6
            for i in range(1, len(frames) + 1):
                incl[frames[:i]] += v
    return incl


def score(flameprof, prof, truth):
    d = json.loads(subprocess.run([flameprof, "-f", "json", prof], capture_output=True,
                                  text=True, check=True).stdout)
    nodes = d["flame"]["nodes"]
    incl = true_widths(truth)
    stack = {0: ()}
    width, err, inside, count = (defaultdict(float) for _ in range(4))
    for n in nodes[1:]:
        frame = "%s:%s:%s" % (n["file"], n["line"], n["name"])
        s = stack[n["parent"]] + (frame,)
        stack[n["id"]] = s
        drawn, true = n["total"], incl.get(s, 0.0)
        g = n["certainty"]
        width[g] += drawn
        err[g] += abs(drawn - true)
        count[g] += 1
        if n["exact"]:
            ok = abs(drawn - true) <= max(1e-3 * drawn, 1e-6)
        else:
            ok = n["min_total"] - 1e-6 <= true <= n["max_total"] + 1e-6
        inside[g] += ok
    total = sum(width.values())
    return {g: {"frames": int(count[g]), "width_share": width[g] / total if total else 0.0,
                "rel_error": err[g] / width[g] if width[g] else 0.0,
                "in_range": inside[g] / count[g] if count[g] else 0.0} for g in GRADES}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flameprof", default=os.environ.get("FLAMEPROF") or os.path.join(ROOT, "target", "release", "flameprof"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    manifest = json.load(open(os.path.join(OUT, "data", "manifest.json")))
    print("| workload | grade | frames | share of drawn width | mean relative error | true width in range |")
    print("|---|---|---|---|---|---|")
    rows = {}
    for p in manifest["profiles"]:
        if p["kind"] != "real" or (only and p["name"] not in only):
            continue
        r = score(args.flameprof, p["prof"], p["truth"])
        rows[p["name"]] = r
        for g in GRADES:
            x = r[g]
            print("| %s | %s | %d | %.3f | %.3f | %.2f |" % (p["name"], g, x["frames"], x["width_share"],
                                                           x["rel_error"], x["in_range"]))
        sys.stdout.flush()
    with open(os.path.join(OUT, "grades.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
