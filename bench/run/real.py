"""Score `flameprof run` on the real workloads of bench/fidelity against their traced truth.

    python3 bench/run/real.py [--flameprof PATH] [--only NAME[,NAME...]] [--keep DIR]
                              [--top N] [--timeout S] [--same-run] [--reuse]

e.g. python3 bench/run/real.py --keep /tmp/real --top 6 --same-run
(--flameprof defaults to /tmp/fp-run-bin, a copy of target/release/flameprof;
--reuse with --keep rescores the runs already kept there without running again.)

For every workload of bench/fidelity/workloads/workloads.json whose truth
(bench/out/data/real/NAME.truth.folded, written by bench/fidelity/gen.py with
../shared/truth/trace.py under bench/out/venv's Python) exists:

1. guided: `flameprof run --python bench/out/venv/bin/python -f log --threshold 0.05
   -o G.folded --save-stacks S.folded --save-prof P.prof [-m MOD | SCRIPT] ARGS`
   (call paths recorded beside cProfile, the default; stacks sampled beside it with
   FLAMEPROF_SAMPLE_STACKS=1, whose `# samples: N` header is recorded), and the run's
   wall time;
2. stats alone: `flameprof -f log --threshold 0.05 P.prof`, the same run drawn from its
   stats file alone;
3. ../shared/truth/fidelity.py (default 0.1 % threshold) scores both against the
   truth, and against the truth rescaled to the run's own times per function
   (bench/run/truth.py; `own` is the distance the rescaling takes out).

With --truth-dir DIR the truths are traced there instead, with the garbage collector
off (bench/run/fidelity.py's TRACE_WITHOUT_GC says why), where DIR lacks them.

The argv placeholders are substituted as gen.py does ({site} venv purelib, {stdlib}
venv stdlib, {wl} bench/fidelity/workloads, {work} bench/out/work) and the programs run
with cwd bench/out/work, as the traces did. Inputs that a workload's `prepare` step
makes must already exist (run gen.py once).

Note: these are separate runs from the traced one, so the scores include run-to-run
differences (and the tracer's per-call cost, which inflates the truth's share of
call-heavy code), which no estimate can remove; both estimates pay them alike.

Alignment, done the same way to all three files: comment lines are dropped; two
names are normalised (the truth was traced from another checkout and names builtin
methods by the bare type name): any path up to `bench/fidelity/workloads/` becomes
`{wl}/`, and `<method 'm' of 'mod.Type' objects>` becomes `<method 'm' of 'Type'
objects>`. Each stack is then cut at its anchor, which is kept with everything above
it: for `-m MOD` workloads the first `<frozen runpy>:...:run_module` frame (flameprof's
root; the truth has the tracer's lambda below it), so the import of MOD's parent
package by runpy stays in; for scripts the first `~:0:<built-in method builtins.exec>`
(flameprof's root; the truth has the tracer's run_path ... _run_code below it). Truth
stacks without the anchor (the tracer's setup) are dropped; an estimate's stacks
without it (stacks flameprof left without their root) are kept whole, so they count
as error. Their share of each estimate is printed below the table.

Prints a Markdown table: workload | stats alone tvd_full | guided tvd_full | ratio
(stats / guided: >= 3 is the goal) | own | both again against the rescaled truth,
and their ratio | the guided drawing from as many samples drawn from the rescaled
truth by an unbiased sampler (bench/run/truth.py's ideal_samples: the best that
many samples allow) | samples | wall s (the guided run). With --noise, a last column
scores a second `flameprof run` of the workload against the first: the run-to-run
difference, below which no drawing of one run comes to another. With --same-run, a column scores flameprof's reconstruction of
the traced run's own .prof (bench/out/data/real/NAME.prof): the reconstruction's
error alone, free of run-to-run differences. With --top N, the N stacks (after
alignment) where guided differs most from the truth are printed per workload, with
the stats-alone share beside them.
"""
import argparse
import json
import marshal
import os
import re
import subprocess
import sys
import tempfile
import time

# Every drawing is cut at half fidelity.py's 0.1 % threshold (which cuts it again): at
# `--threshold 0`, `-f log` would write every stack of a deep recording in full and stop
# at its output bound (pip list: 96,000 stacks up to 130 frames deep, cut at 68).
THRESHOLD = "0.05"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FID = os.path.join(ROOT, "bench", "fidelity")
OUT = os.path.join(ROOT, "bench", "out")
DATA = os.path.join(OUT, "data", "real")
WORK = os.path.join(OUT, "work")
VENV_PY = os.path.join(OUT, "venv", "bin", "python")
TRUTH = os.path.normpath(os.path.join(ROOT, "..", "shared", "truth"))
sys.path.insert(0, HERE)
from truth import ideal_samples, own_time_distance, rescale  # noqa: E402
from fidelity import TRACE_WITHOUT_GC  # noqa: E402


def workloads(only):
    """(name, argv) of each real workload of bench/fidelity (those named in `only`, if
    any), the argv placeholders substituted as gen.py does."""
    site, stdlib = venv_paths()
    subst = {"site": site, "stdlib": stdlib, "wl": os.path.join(FID, "workloads"), "work": WORK}
    spec = json.load(open(os.path.join(FID, "workloads", "workloads.json")))
    return [(w["name"], [x.format(**subst) for x in w["argv"]])
            for w in spec["real"] if not only or w["name"] in only]


def venv_paths():
    out = subprocess.run(
        [VENV_PY, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib']); print(sysconfig.get_paths()['stdlib'])"],
        check=True, capture_output=True, text=True).stdout.split("\n")
    return out[0], out[1]


EXEC = "~:0:<built-in method builtins.exec>"
WL_RE = re.compile(r"[^;]*/bench/fidelity/workloads/")
TYPE_RE = re.compile(r"of '[\w.]*\.(\w+)' objects>")


def is_anchor(frame, module):
    if module:
        return frame.startswith("<frozen runpy>") and frame.endswith(":run_module")
    return frame == EXEC


def load(path, module, keep_unanchored):
    """Aligned {stack: value}, plus the total and the time of stacks without the anchor."""
    out, total, dropped = {}, 0.0, 0.0
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        stack, _, value = line.rpartition(" ")
        v = float(value)
        total += v
        stack = TYPE_RE.sub(r"of '\1' objects>", WL_RE.sub("{wl}/", stack))
        frames = stack.split(";")
        idx = next((i for i, f in enumerate(frames) if is_anchor(f, module)), None)
        if idx is None:
            dropped += v
            if not keep_unanchored:
                continue
            idx = 0
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
    ap.add_argument("--same-run", action="store_true",
                    help="add a column: the reconstruction of the traced run's own .prof (no run-to-run difference)")
    ap.add_argument("--reuse", action="store_true", help="rescore the runs already in --keep DIR")
    ap.add_argument("--noise", action="store_true",
                    help="add a column: a second run's drawing scored against the first (run to run)")
    ap.add_argument("--truth-dir", default="",
                    help="trace the truths here, with the garbage collector off, where missing"
                         " (default: gen.py's, in bench/out/data/real)")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    tmp = a.keep or tempfile.mkdtemp(prefix="real-")
    os.makedirs(tmp, exist_ok=True)
    rows, notes, details = [], [], []
    for name, argv in workloads(only):
        truth = os.path.join(a.truth_dir or DATA, name + ".truth.folded")
        if a.truth_dir and not os.path.exists(truth):
            os.makedirs(a.truth_dir, exist_ok=True)
            subprocess.run([VENV_PY, "-c", TRACE_WITHOUT_GC, os.path.join(TRUTH, "trace.py"),
                            os.path.join(a.truth_dir, name)] + argv, cwd=WORK,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not os.path.exists(truth):
            notes.append("%s: skipped, no truth file (run bench/fidelity/gen.py)" % name)
            continue
        g, s, smp = (os.path.join(tmp, name + ext) for ext in (".guided.folded", ".stats.folded", ".samples.folded"))
        base = [a.flameprof, "run", "--python", VENV_PY, "-f", "log", "--threshold", THRESHOLD]
        walls, failed = {}, None
        wallf = os.path.join(tmp, name + ".walls.json")
        if a.reuse and os.path.exists(wallf):
            walls = json.load(open(wallf))
        prof = os.path.join(tmp, name + ".prof")
        for kind, extra in (("guided", ["-o", g, "--save-stacks", smp, "--save-prof", prof]),):
            if kind in walls:
                continue
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
        # The stats alone: the same run's .prof, drawn without the samples.
        subprocess.run([a.flameprof, "-f", "log", "--threshold", THRESHOLD, "-o", s, prof], check=True)
        json.dump(walls, open(wallf, "w"))
        samples = "?"
        for line in open(smp, encoding="utf-8", errors="replace"):
            if line.startswith("# flameprof call paths"):
                samples = "recorded"
                break
            if line.startswith("# samples:"):
                samples = line.split()[2].rstrip(",")
                break
        module = argv[0] == "-m"
        t, _, tdrop = load(truth, module, False)
        gd, gtot, gdrop = load(g, module, True)
        sd, stot, sdrop = load(s, module, True)
        ta, ga, sa = (os.path.join(tmp, name + x) for x in (".truth.aligned", ".guided.aligned", ".stats.aligned"))
        write(t, ta), write(gd, ga), write(sd, sa)
        rs, rg = score(ta, sa), score(ta, ga)
        fs, fg = float(rs["tvd_full"]), float(rg["tvd_full"])
        ratio = fs / fg if fg > 0 else float("inf")
        # The truth with each function's own time the drawn run's (bench/run/truth.py).
        own = {}
        for key, v in marshal.load(open(prof, "rb")).items():
            label = TYPE_RE.sub(r"of '\1' objects>", WL_RE.sub("{wl}/", "%s:%s:%s" % key))
            own[label] = own.get(label, 0.0) + v[2] * 1e6
        tr = rescale(t, own)
        tra = os.path.join(tmp, name + ".truth.rescaled")
        write(tr, tra)
        rescaled = (own_time_distance(t, own), float(score(tra, sa)["tvd_full"]),
                    float(score(tra, ga)["tvd_full"]))
        # As many samples, taken by an unbiased sampler from the rescaled truth, with
        # the workloads' paths as this checkout has them.
        if samples.isdigit():
            ideal, ideal_guided = (os.path.join(tmp, name + x) for x in (".ideal.folded", ".ideal.guided"))
            with open(ideal, "w", encoding="utf-8") as f:
                f.write(ideal_samples(tr, int(samples)).replace("{wl}/", os.path.join(FID, "workloads") + "/"))
            subprocess.run([a.flameprof, "-f", "log", "--threshold", THRESHOLD, "--stacks", ideal, "-o",
                            ideal_guided, prof], check=True, stderr=subprocess.DEVNULL)
            ia = os.path.join(tmp, name + ".ideal.aligned")
            write(load(ideal_guided, module, True)[0], ia)
            rescaled += (float(score(tra, ia)["tvd_full"]),)
        else:
            rescaled += (float("nan"),)  # a recording: no sampler to compare with
        extra = ""
        if a.same_run:
            sr = os.path.join(tmp, name + ".samerun.folded")
            subprocess.run([a.flameprof, "-f", "log", "--threshold", THRESHOLD, "-o", sr,
                            os.path.join(DATA, name + ".prof")], check=True)
            srd, _, _ = load(sr, module, True)
            sra = os.path.join(tmp, name + ".samerun.aligned")
            write(srd, sra)
            extra = " %s |" % score(ta, sra)["tvd_full"]
        if a.noise:
            g2 = os.path.join(tmp, name + ".again.folded")
            subprocess.run(base + ["-o", g2] + argv, cwd=WORK, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=a.timeout)
            again = os.path.join(tmp, name + ".again.aligned")
            write(load(g2, module, True)[0], again)
            extra += " %s |" % score(ga, again)["tvd_full"]
        rows.append("| %s | %.4f | %.4f | %.2f | %.3f | %.4f | %.4f | %.2f | %.4f | %s | %.1f |%s" % (
            name, fs, fg, ratio, rescaled[0], rescaled[1], rescaled[2],
            rescaled[1] / rescaled[2] if rescaled[2] > 0 else float("inf"), rescaled[3],
            samples, walls["guided"], extra))
        notes.append("%s: stacks without the anchor (kept, count as error): guided %.2f %%, stats alone %.2f %%" % (
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
    head = ("| workload | stats alone | guided | ratio | own | stats alone, rescaled | guided, rescaled"
            " | ratio, rescaled | ideal sampler, rescaled | samples | wall s |")
    columns = 11
    if a.same_run:
        head += " traced run's .prof, stats alone |"
        columns += 1
    if a.noise:
        head += " run to run |"
        columns += 1
    print(head)
    print("|---" * columns + "|")
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
