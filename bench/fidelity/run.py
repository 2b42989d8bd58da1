#!/usr/bin/env python3
"""Fidelity benchmark driver: ours vs flameprof 0.4 against true call stacks.

usage: python3 bench/fidelity/run.py [--regen] [--no-synth] [--no-real]
                                     [--only NAME,...] [--seeds 1-5] [--jobs N]

1. Generates (or reuses) profiles with known true stacks (gen.py).
2. For every profile runs our tool and the original flameprof 0.4 in folded
   ("log") mode, timeout 120 s per run.
3. Scores each output with the truth tools' fidelity.py (default 0.1 %
   threshold) and, for real workloads, measures the main-module width.
4. Prints a Markdown report and writes it to bench/out/fidelity.md (raw
   numbers in bench/out/fidelity.json).

Environment:
  FLAMEPROF_CMD     command template for ours, {prof} is replaced by the
                    profile path (default: FLAMEPROF -f log {prof})
  FLAMEPROF         our binary (default: target/release/flameprof)
  FLAMEPROF04_CMD   template for the original (default:
                    bench/out/venv/bin/python -m flameprof --format=log {prof})
  FLAMEPROF_LABEL   column label for ours (default: ours)
  FLAMEPROF_TRUTH   truth tools folder (default: ../shared/truth from the
                    repository root); if absent the benchmark is skipped
"""
import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

ROOT, OUT = gen.ROOT, gen.OUT
TIMEOUT = 120
METRICS = ("tvd_full", "tvd_shape", "tvd_norec")


def ours_template():
    t = os.environ.get("FLAMEPROF_CMD")
    if t:
        return t
    binary = os.environ.get("FLAMEPROF") or os.path.join(ROOT, "target", "release", "flameprof")
    return shlex.quote(binary) + " -f log {prof}"


def v04_template():
    return os.environ.get("FLAMEPROF04_CMD") or (
        shlex.quote(os.path.join(OUT, "venv", "bin", "python")) + " -m flameprof --format=log {prof}")


def run_tool(template, prof, dest):
    """Run one tool; return (status, seconds). status: 'ok', 'fail' or 'timeout'."""
    cmd = [a.replace("{prof}", prof) for a in shlex.split(template)]
    t0 = time.monotonic()
    try:
        with open(dest, "w") as out, open(dest + ".err", "w") as err:
            p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, start_new_session=True)
            try:
                rc = p.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)  # the tool and anything it started
                p.wait()
                return "timeout", time.monotonic() - t0
    except OSError as e:
        with open(dest + ".err", "a") as err:
            err.write("%s\n" % e)
        return "fail", time.monotonic() - t0
    dt = time.monotonic() - t0
    if rc != 0 or os.path.getsize(dest) == 0:
        return "fail", dt
    return "ok", dt


def score(truth_dir, truth, est):
    p = subprocess.run([sys.executable, os.path.join(truth_dir, "fidelity.py"), truth, est],
                       capture_output=True, text=True, timeout=600)
    m = dict(re.findall(r"(tvd_\w+)=([0-9.]+)", p.stdout))
    if p.returncode != 0 or not all(k in m for k in METRICS):
        return None
    return {k: float(m[k]) for k in METRICS}


def main_width(path, main):
    """Share of total self time on stacks that contain the main-module frame."""
    total = hit = 0.0
    suffix = "/" + main
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            stack, _, v = line.rpartition(" ")
            try:
                v = float(v)
            except ValueError:
                continue
            total += v
            if any(fr == main or fr.endswith(suffix) for fr in stack.split(";")):
                hit += v
    return hit / total if total else None


def evaluate(entry, truth_dir, tools):
    res = {"name": entry["name"], "kind": entry["kind"]}
    for k in ("scenario", "seed", "domain", "main"):
        if k in entry:
            res[k] = entry[k]
    if entry["kind"] == "real":
        res["main_truth"] = main_width(entry["truth"], entry["main"])
    for label, template in tools:
        d = os.path.join(OUT, "est", label)
        os.makedirs(d, exist_ok=True)
        dest = os.path.join(d, entry["name"] + ".folded")
        status, dt = run_tool(template, entry["prof"], dest)
        r = {"status": status, "seconds": round(dt, 3)}
        if status == "ok":
            s = score(truth_dir, entry["truth"], dest)
            if s is None:
                r["status"] = "fail"
            else:
                r.update(s)
                if entry["kind"] == "real":
                    r["main"] = main_width(dest, entry["main"])
        res[label] = r
    return res


# --- formatting ---------------------------------------------------------------

def fmt(x, nd=4):
    return "—" if x is None else ("%.*f" % (nd, x))


def cell(r, key):
    if r["status"] != "ok":
        return r["status"]
    return fmt(r.get(key))


def ratio(a, b, key):
    if a["status"] != "ok" or b["status"] != "ok":
        return "—"
    x, y = a.get(key), b.get(key)
    if x is None or y is None:
        return "—"
    if y == 0:
        return "1.00" if x == 0 else "inf"
    return "%.2f" % (x / y)


def table(rows, A, B, real):
    hdr = ["workload"]
    for m in METRICS:
        short = m[4:]
        hdr += ["%s %s" % (short, A), "%s 0.4" % short, "ratio"]
    if real:
        hdr += ["main %s" % A, "main 0.4", "main truth"]
    hdr += ["s %s" % A, "s 0.4"]
    lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for r in rows:
        a, b = r[A], r[B]
        c = [r["name"]]
        for m in METRICS:
            c += [cell(a, m), cell(b, m), ratio(a, b, m)]
        if real:
            c += [cell(a, "main") if a["status"] != "ok" else fmt(a.get("main"), 3),
                  cell(b, "main") if b["status"] != "ok" else fmt(b.get("main"), 3),
                  fmt(r.get("main_truth"), 3)]
        c += ["%.2f" % a["seconds"], "%.2f" % b["seconds"]]
        lines.append("| " + " | ".join(c) + " |")
    return "\n".join(lines)


def agg(rows, label, key):
    vals = [r[label][key] for r in rows if r[label]["status"] == "ok" and r[label].get(key) is not None]
    bad = sum(1 for r in rows if r[label]["status"] != "ok")
    if not vals:
        return "fail", "fail"
    sfx = " (%d fail)" % bad if bad else ""
    return "%.4f%s" % (sum(vals) / len(vals), sfx), "%.4f" % max(vals)


def summary(groups, A, B):
    hdr = ["group", "n"]
    for m in METRICS:
        short = m[4:]
        hdr += ["%s %s mean" % (short, A), "%s %s max" % (short, A), "%s 0.4 mean" % short, "%s 0.4 max" % short]
    lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for name, rows in groups:
        c = [name, str(len(rows))]
        for m in METRICS:
            c += list(agg(rows, A, m)) + list(agg(rows, B, m))
        lines.append("| " + " | ".join(c) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regen", action="store_true", help="regenerate the profiles even if present")
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated real workload names")
    ap.add_argument("--seeds", default="1-5")
    ap.add_argument("--jobs", type=int, default=1, help="profiles scored in parallel (default 1)")
    a = ap.parse_args()

    t0 = time.monotonic()
    r = gen.generate(a.regen, set(filter(None, a.only.split(","))), not a.no_synth, not a.no_real,
                     gen.parse_seeds(a.seeds))
    if r is None:
        return 0
    manifest, gen_timing = r
    t_gen = time.monotonic() - t0
    truth_dir = gen.truth_dir()
    A = os.environ.get("FLAMEPROF_LABEL", "ours")
    B = "v04"
    tools = [(A, ours_template()), (B, v04_template())]
    if A == B:
        sys.exit("FLAMEPROF_LABEL must differ from v04")

    t1 = time.monotonic()
    with ThreadPoolExecutor(max(1, a.jobs)) as ex:
        results = list(ex.map(lambda e: evaluate(e, truth_dir, tools), manifest))
    t_score = time.monotonic() - t1
    synth = [r for r in results if r["kind"] == "synth"]
    real = [r for r in results if r["kind"] == "real"]
    out = ["# Fidelity: %s vs flameprof 0.4" % A, "",
           "- ours: `%s`" % tools[0][1], "- 0.4: `%s`" % tools[1][1],
           "- truth tools: `%s`; fidelity.py at its default 0.1 %% threshold; lower is better;"
           " ratio = %s / 0.4" % (truth_dir, A),
           "- main = share of total self time on stacks containing the workload's main-module frame"
           " (raw folded output, no pruning)",
           "- generation %.0f s (%s), running + scoring %.0f s" % (t_gen, "reused" if t_gen < 5 else "fresh", t_score),
           ""]
    if real:
        out += ["## Real programs", "", table(real, A, B, True), ""]
    if synth:
        groups = []
        for s in gen.SCENARIOS:
            rows = [r for r in synth if r["scenario"] == s]
            if rows:
                groups.append((s, rows))
        out += ["## Synthetic: per scenario (mean and max over seeds)", ""]
        allg = list(groups)
        if real:
            allg.append(("real programs", real))
        out += [summary(allg, A, B), ""]
        out += ["## Synthetic: every seed", "", table(sorted(synth, key=lambda r: (gen.SCENARIOS.index(r["scenario"]), r["seed"])), A, B, False), ""]
    text = "\n".join(out)
    print(text)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "fidelity.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(OUT, "fidelity.json"), "w") as f:
        json.dump({"generation": gen_timing, "generation_seconds": t_gen, "scoring_seconds": t_score,
                   "ours_cmd": tools[0][1], "v04_cmd": tools[1][1], "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
