"""Score `flameprof run` on the real workloads of bench/fidelity against their traced truth.

    python3 bench/run/real.py [--flameprof PATH] [--only NAME[,NAME...]] [--keep DIR]
                              [--top N] [--timeout S]

For every workload of bench/fidelity/workloads/workloads.json whose truth
(bench/out/data/real/NAME.truth.folded, written by bench/fidelity/gen.py with
../shared/truth/trace.py under bench/out/venv's Python) exists:

1. guided: `flameprof run --python bench/out/venv/bin/python -f log --threshold 0
   -o G.folded --save-stacks S.folded [-m MOD | SCRIPT] ARGS` (stacks sampled beside
   cProfile, the default); the `# samples: N` header of S.folded and the run's wall
   time are recorded;
2. stats alone: the same with `--no-samples` instead of `--save-stacks`;
3. ../shared/truth/fidelity.py (default 0.1 % threshold) scores both against the truth.

The argv placeholders are substituted as gen.py does ({site} venv purelib, {stdlib}
venv stdlib, {wl} bench/fidelity/workloads, {work} bench/out/work) and the programs run
with cwd bench/out/work, as the traces did. Inputs that a workload's `prepare` step
makes must already exist (run gen.py once).

Note: these are separate runs from the traced one, so the scores include run-to-run
differences (and the tracer's per-call cost, which inflates the truth's share of
call-heavy code), which no estimate can remove; both estimates pay them alike.

Alignment, done the same way to all three files: comment lines are dropped; each
stack is cut at the workload's `main` frame (workloads.json: a frame matches when it
equals it or ends with '/' + main), keeping that frame and everything above it (its
callees); stacks without the main frame (the tracer's setup, runpy's import of a
`-m` package's parent, and any of flameprof's stacks left without a root) are dropped.
The share of time dropped from each estimate is printed below the table.

Prints a Markdown table: workload | stats alone tvd_full | guided tvd_full | ratio
(stats / guided: >= 3 is the goal) | samples | wall s (guided run; stats-alone run in
parentheses). With --top N, the N stacks (after alignment) where guided differs most
from the truth are printed per workload, with the stats-alone share beside them.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FID = os.path.join(ROOT, "bench", "fidelity")
OUT = os.path.join(ROOT, "bench", "out")
DATA = os.path.join(OUT, "data", "real")
WORK = os.path.join(OUT, "work")
VENV_PY = os.path.join(OUT, "venv", "bin", "python")
TRUTH = os.path.normpath(os.path.join(ROOT, "..", "shared", "truth"))


def venv_paths():
    out = subprocess.run(
        [VENV_PY, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib']); print(sysconfig.get_paths()['stdlib'])"],
        check=True, capture_output=True, text=True).stdout.split("\n")
    return out[0], out[1]


def load(path, main):
    """Aligned {stack: value}, plus total and dropped time before alignment."""
    out, total, dropped = {}, 0.0, 0.0
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        stack, _, value = line.rpartition(" ")
        v = float(value)
        total += v
        frames = stack.split(";")
        idx = next((i for i, f in enumerate(frames) if f == main or f.endswith("/" + main)), None)
        if idx is None:
            dropped += v
            continue
        key = ";".join(frames[idx:])
        out[key] = out.get(key, 0.0) + v
    return out, total, dropped


def write(d, path):
    with open(path, "w", encoding="utf-8") as f:
        for k, v in sorted(d.items()):
            f.write("%s %.3f\n" % (k, v))


def score(truth_path, est_path):
    out = subprocess.run([sys.executable, os.path.join(TRUTH, "fidelity.py"), truth_path, est_path],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    return dict(kv.split("=") for kv in out.split())


def short(stack, n=4):
    fr = stack.split(";")
    fr = [f.rsplit("/", 1)[-1] for f in fr]
    return ("...;" if len(fr) > n else "") + ";".join(fr[-n:])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flameprof", default="/tmp/fp-run-bin")
    ap.add_argument("--only", default="")
    ap.add_argument("--keep", default="", help="directory for the folded files (default: a temp dir)")
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=180.0)
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    tmp = a.keep or tempfile.mkdtemp(prefix="real-")
    os.makedirs(tmp, exist_ok=True)
    site, stdlib = venv_paths()
    subst = {"site": site, "stdlib": stdlib, "wl": os.path.join(FID, "workloads"), "work": WORK}
    spec = json.load(open(os.path.join(FID, "workloads", "workloads.json")))
    rows, notes, details = [], [], []
    for w in spec["real"]:
        name = w["name"]
        if only and name not in only:
            continue
        truth = os.path.join(DATA, name + ".truth.folded")
        if not os.path.exists(truth):
            notes.append("%s: skipped, no truth file (run bench/fidelity/gen.py)" % name)
            continue
        argv = [x.format(**subst) for x in w["argv"]]
        g, s, smp = (os.path.join(tmp, name + ext) for ext in (".guided.folded", ".stats.folded", ".samples.folded"))
        base = [a.flameprof, "run", "--python", VENV_PY, "-f", "log", "--threshold", "0"]
        walls, failed = {}, None
        for kind, extra in (("guided", ["-o", g, "--save-stacks", smp]), ("stats", ["-o", s, "--no-samples"])):
            t0 = time.monotonic()
            try:
                rc = subprocess.run(base + extra + argv, cwd=WORK, stdout=subprocess.DEVNULL,
                                    stderr=open(os.path.join(tmp, name + "." + kind + ".log"), "w"),
                                    timeout=a.timeout).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout > %gs" % a.timeout
            walls[kind] = time.monotonic() - t0
            out = g if kind == "guided" else s
            if rc != 0 and not (isinstance(rc, int) and os.path.exists(out)):
                failed = "%s run: %s" % (kind, rc)
                break
            if rc != 0:
                notes.append("%s: %s run exited %s (profile rendered anyway)" % (name, kind, rc))
        if failed:
            notes.append("%s: skipped (%s)" % (name, failed))
            continue
        samples = "?"
        for line in open(smp):
            if line.startswith("# samples:"):
                samples = line.split()[2].rstrip(",")
                break
        mainf = w["main"]
        t, _, tdrop = load(truth, mainf)
        gd, gtot, gdrop = load(g, mainf)
        sd, stot, sdrop = load(s, mainf)
        ta, ga, sa = (os.path.join(tmp, name + x) for x in (".truth.aligned", ".guided.aligned", ".stats.aligned"))
        write(t, ta), write(gd, ga), write(sd, sa)
        rs, rg = score(ta, sa), score(ta, ga)
        fs, fg = float(rs["tvd_full"]), float(rg["tvd_full"])
        ratio = fs / fg if fg > 0 else float("inf")
        rows.append("| %s | %.4f | %.4f | %.2f | %s | %.1f (%.1f) |" % (
            name, fs, fg, ratio, samples, walls["guided"], walls["stats"]))
        notes.append("%s: dropped by alignment: guided %.2f %%, stats alone %.2f %%" % (
            name, 100 * gdrop / gtot if gtot else 0, 100 * sdrop / stot if stot else 0))
        if a.top:
            tt, gt, st = sum(t.values()) or 1, sum(gd.values()) or 1, sum(sd.values()) or 1
            keys = set(t) | set(gd)
            diff = sorted(keys, key=lambda k: -abs(gd.get(k, 0) / gt - t.get(k, 0) / tt))[:a.top]
            details.append("%s (stats %.3f, guided %.3f):" % (name, fs, fg))
            for k in diff:
                details.append("    truth %5.2f%%  guided %5.2f%%  stats %5.2f%%  %s" % (
                    100 * t.get(k, 0) / tt, 100 * gd.get(k, 0) / gt, 100 * sd.get(k, 0) / st, short(k)))
        print("done %s" % name, file=sys.stderr)
        sys.stderr.flush()
    print("| workload | stats alone tvd_full | guided tvd_full | ratio | samples | wall s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    print()
    for n in notes:
        print("- " + n)
    if details:
        print()
        print("Top stacks where guided differs from the truth (shares of aligned time):")
        print()
        for d in details:
            print(d)
    print("\nfolded files in %s" % tmp, file=sys.stderr)


if __name__ == "__main__":
    main()
