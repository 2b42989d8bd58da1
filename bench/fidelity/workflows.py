#!/usr/bin/env python3
"""Workflow scores: what a user of a pytest run, a plugin host or json.tool reads off
the graph, compared with the truth.

usage: python3 bench/fidelity/workflows.py [--label ours] [--flameprof BIN] [--only NAMES]
       python3 bench/fidelity/workflows.py --prof X.prof --truth X.truth.folded
                                           [--est X.folded] [--tests PREFIX] [--focus NAMES]

After `run.py` (which writes bench/out/est/LABEL/NAME.folded), for every real
workload present it reports:

- `cut`: the share of the run hidden by the default 0.1 % threshold (time in
  frames too narrow to draw, given to their parent), drawn vs true. The drawn
  side is what flameprof reports (`-f json`'s `cut_time` over `total`).
- pytest workloads: the test functions' drawn share of the run against their
  true share (`tests`), how much of it is drawn under `pytest_pyfunc_call`
  (`under_call`), and each of the five biggest tests' drawn / true ratio.
- workloads with a `focus` list in workloads.json (dispatchers: singledispatch,
  asyncio, signals): per focus function, its drawn share of the run (inclusive
  time of the stacks holding a frame of that name, in the est folded file) over
  its true share, the minimum of those ratios, and how many separate frames
  (distinct stack prefixes ending in that function, both sides pruned at 0.1 %
  as fidelity.py does) the drawing splits it into against the truth. A focus
  entry is a function name, or a `file:line:name` suffix. `shred` flags a
  function the truth draws (at least one frame after pruning) that is drawn
  below 0.9x its true share or in more than twice as many frames as the truth
  (and at least 3 more). `widest frame` is the widest single box of the
  function, drawn and true (what the eye picks up first).
- json workloads: the encoder nesting depth (frames of `_iterencode_list` and
  `_iterencode_dict` on a stack), as a distribution of time: its distance from
  the truth, the true and drawn maxima, and the share of the encoder's time drawn
  deeper than the true maximum + 1.

Results go to stdout as Markdown and to bench/out/workflows.json.

One-off mode, for a profile outside the benchmark (e.g. the same suite traced on
another Python): `--prof X.prof --truth X.truth.folded` runs `--flameprof -f log`
on the profile (or reads `--est X.folded`), and scores the pair the same way:
`--tests test_` turns on the pytest columns (on by default when the profile's
file name starts with "pytest"), `--focus a,b,c` the focus table. Nothing is
written to bench/out in this mode.
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


def inclusive(stacks):
    """Inclusive time of every stack prefix."""
    incl = defaultdict(float)
    for s, v in stacks.items():
        for i in range(1, len(s) + 1):
            incl[s[:i]] += v
    return incl


def cut_share(stacks):
    """Share of the total inside frames narrower than the threshold (topmost such frame)."""
    total = sum(stacks.values())
    incl = inclusive(stacks)
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


def prune(stacks, threshold=THRESHOLD):
    """fidelity.py's pruning: a frame narrower than threshold * total is cut, its time
    given to its parent."""
    total = sum(stacks.values())
    incl = inclusive(stacks)
    limit = threshold * total
    out = defaultdict(float)
    for s, v in stacks.items():
        k = len(s)
        for i in range(1, len(s) + 1):
            if incl[s[:i]] < limit:
                k = i - 1
                break
        out[s[:k] if k else ("<pruned root>",)] += v
    return out


def matches(frame, key):
    return frame.endswith("/" + key) or frame == key if ":" in key else name(frame) == key


def focus_stats(stacks, keys):
    """Per focus key: (share of the total on stacks holding a matching frame,
    number of distinct stack prefixes ending in a matching frame, after pruning)."""
    total = sum(stacks.values()) or 1.0
    share = defaultdict(float)
    for s, v in stacks.items():
        for k in keys:
            if any(matches(f, k) for f in s):
                share[k] += v
    frames = defaultdict(lambda: defaultdict(float))
    for s, v in prune(stacks).items():
        for i, f in enumerate(s):
            for k in keys:
                if matches(f, k):
                    frames[k][s[:i + 1]] += v
    return {k: (share[k] / total, len(frames[k]), max(frames[k].values(), default=0.0) / total)
            for k in keys}


def focus_rows(truth, est, keys):
    ft, fe = focus_stats(truth, keys), focus_stats(est, keys)
    rows = []
    for k in keys:
        (st, nt, wt), (se, ne, we) = ft[k], fe[k]
        ratio = se / st if st else 0.0
        # a function the truth itself cannot draw (no frame above the threshold) is not flagged
        shred = nt > 0 and (ratio < 0.9 or (ne > 2 * nt and ne >= nt + 3))
        rows.append({"focus": k, "share_true": st, "share_drawn": se, "ratio": ratio,
                     "frames_true": nt, "frames_drawn": ne, "widest_true": wt, "widest_drawn": we,
                     "shred": shred})
    return rows


def tvd(a, b):
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


def score(wname, truth, est, prof, flameprof, tests_prefix=None, focus=None):
    """One workload's row: cut share, and the pytest / json / focus columns that apply."""
    drawn = json.loads(subprocess.run([flameprof, "-f", "json", prof],
                                      capture_output=True, text=True, check=True).stdout)["flame"]
    cut_drawn = drawn["cut_time"] / drawn["total"] if drawn["total"] else 0.0
    row = {"name": wname, "cut_true": cut_share(truth), "cut_drawn": cut_drawn}
    if tests_prefix or wname.startswith("pytest"):
        tt, tu = tests(truth)
        et, eu = tests(est)
        row["tests_true"] = sum(tt.values())
        row["tests_drawn"] = sum(et.values())
        row["under_call"] = sum(eu.values())
        top = sorted(tt, key=lambda f: -tt[f])[:5]
        row["top5"] = [(name(f), tt[f], et.get(f, 0.0)) for f in top]
    if wname.startswith("json"):
        td, ed = encoder_depths(truth), encoder_depths(est)
        tmax = max(td) if td else 0
        row["depth_tvd"] = tvd(td, ed)
        row["depth_max_true"] = tmax
        row["depth_max_drawn"] = max(ed) if ed else 0
        row["deeper_than_true_max_plus_1"] = sum(x for k, x in ed.items() if k > tmax + 1)
    if focus:
        row["focus"] = focus_rows(truth, est, focus)
        row["focus_min_ratio"] = min(r["ratio"] for r in row["focus"])
    return row


def report(rows):
    print("| workload | cut drawn | cut true | tests drawn / true | under pytest_pyfunc_call | top-5 tests drawn/true | depth tvd | max depth drawn / true | deeper than true max+1 | focus min drawn/true |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t = ("%.3f / %.3f" % (r["tests_drawn"], r["tests_true"])) if "tests_true" in r else ""
        u = ("%.3f" % r["under_call"]) if "under_call" in r else ""
        top = ", ".join("%s %.2f" % (n, (e / t_) if t_ else 0) for n, t_, e in r.get("top5", []))
        dt = ("%.3f" % r["depth_tvd"]) if "depth_tvd" in r else ""
        dm = ("%d / %d" % (r["depth_max_drawn"], r["depth_max_true"])) if "depth_tvd" in r else ""
        dd = ("%.3f" % r["deeper_than_true_max_plus_1"]) if "depth_tvd" in r else ""
        fm = ("%.2f" % r["focus_min_ratio"]) if "focus_min_ratio" in r else ""
        print("| %s | %.3f | %.3f | %s | %s | %s | %s | %s | %s | %s |" % (r["name"], r["cut_drawn"], r["cut_true"], t, u, top, dt, dm, dd, fm))
    if any("focus" in r for r in rows):
        print()
        print("| workload | focus | share drawn | share true | drawn/true | frames drawn | frames true | widest frame drawn / true | shred |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            for f in r.get("focus", []):
                print("| %s | %s | %.4f | %.4f | %.2f | %d | %d | %.4f / %.4f | %s |" % (
                    r["name"], f["focus"], f["share_drawn"], f["share_true"], f["ratio"],
                    f["frames_drawn"], f["frames_true"], f["widest_drawn"], f["widest_true"],
                    "yes" if f["shred"] else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--label", default="ours")
    ap.add_argument("--flameprof", default=os.environ.get("FLAMEPROF") or os.path.join(ROOT, "target", "release", "flameprof"))
    ap.add_argument("--only", default="")
    ap.add_argument("--prof", help="one-off mode: score this profile against --truth")
    ap.add_argument("--truth", help="one-off mode: the true folded stacks of --prof")
    ap.add_argument("--est", help="one-off mode: drawn folded stacks (default: run --flameprof -f log on --prof)")
    ap.add_argument("--tests", default="", help="one-off mode: report pytest test columns")
    ap.add_argument("--focus", default="", help="one-off mode: comma-separated focus functions")
    args = ap.parse_args()
    if args.prof or args.truth:
        if not (args.prof and args.truth):
            ap.error("--prof and --truth go together")
        if args.est:
            est = load_file(args.est)
        else:
            est = load(subprocess.run([args.flameprof, "-f", "log", args.prof], capture_output=True,
                                      text=True, check=True).stdout.splitlines())
        wname = os.path.basename(args.prof)[:-len(".prof")] if args.prof.endswith(".prof") else os.path.basename(args.prof)
        row = score(wname, load_file(args.truth), est, args.prof, args.flameprof,
                    args.tests or None, list(filter(None, args.focus.split(","))))
        report([row])
        return 0
    manifest = json.load(open(os.path.join(OUT, "data", "manifest.json")))
    spec = {w["name"]: w for w in json.load(open(os.path.join(HERE, "workloads", "workloads.json")))["real"]}
    only = set(filter(None, args.only.split(",")))
    rows = []
    for p in manifest["profiles"]:
        if p["kind"] != "real" or (only and p["name"] not in only):
            continue
        est_path = os.path.join(OUT, "est", args.label, p["name"] + ".folded")
        if not os.path.exists(est_path):
            continue
        w = spec.get(p["name"], {})
        rows.append(score(p["name"], load_file(p["truth"]), load_file(est_path), p["prof"], args.flameprof,
                          w.get("tests"), w.get("focus")))
    report(rows)
    with open(os.path.join(OUT, "workflows.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
