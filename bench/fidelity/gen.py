#!/usr/bin/env python3
"""Generate profiles with known true stacks for the fidelity benchmark.

usage: python3 bench/fidelity/gen.py [--force] [--only NAME[,NAME...]]
                                     [--no-synth] [--no-real] [--seeds 1-5]

Synthetic: synth.py OUT --seed N --scenario all, for each seed.
Real: trace.py OUTPREFIX ARGV... under bench/out/venv's Python, for every
workload in workloads/workloads.json.

Writes everything under bench/out/data/ and a manifest
bench/out/data/manifest.json listing each profile, its truth file and (real
workloads) the main-module frame. Existing outputs are kept unless --force.

The truth tools live in $FLAMEPROF_TRUTH, default ../shared/truth relative to
the repository root. If they are absent this script says so and exits 0.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import sysconfig
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "bench", "out")
DATA = os.path.join(OUT, "data")
WORK = os.path.join(OUT, "work")
VENV_PY = os.path.join(OUT, "venv", "bin", "python")
SCENARIOS = ["chain", "shared", "dispatch", "recursion", "random"]
GEN_TIMEOUT = 600


def truth_dir():
    return os.environ.get("FLAMEPROF_TRUTH") or os.path.normpath(os.path.join(ROOT, "..", "shared", "truth"))


def venv_paths():
    out = subprocess.run(
        [VENV_PY, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib']); print(sysconfig.get_paths()['stdlib'])"],
        check=True, capture_output=True, text=True).stdout.split("\n")
    return out[0], out[1]


# --- inputs for real workloads (deterministic) ---------------------------------

def prepare_big_json(site):
    path = os.path.join(WORK, "big.json")
    if os.path.exists(path):
        return
    rng = random.Random(1234)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    recs = []
    for i in range(1500):
        recs.append({
            "id": i,
            "name": "%s-%d" % (rng.choice(words), i),
            "score": round(rng.uniform(0, 100), 3),
            "tags": rng.sample(words, 3),
            "active": rng.random() < 0.5,
            "pos": {"x": rng.randint(-999, 999), "y": rng.randint(-999, 999)},
            "note": None if rng.random() < 0.3 else " ".join(rng.choice(words) for _ in range(6)),
        })
    with open(path, "w") as f:
        json.dump({"version": 1, "records": recs}, f)


def prepare_readme_rst(site):
    """pyflakes' README (reStructuredText, shipped as its package description) twice over."""
    path = os.path.join(WORK, "README.rst")
    if os.path.exists(path):
        return
    import glob
    meta = glob.glob(os.path.join(site, "pyflakes-*.dist-info", "METADATA"))
    text = open(meta[0], encoding="utf-8").read() if meta else ""
    body = text.split("\n\n", 1)[1] if "\n\n" in text else text
    lines = body.lstrip("\n").split("\n")
    if len(lines) > 3 and lines[0] and set(lines[0]) == {"="} and lines[2] == lines[0]:
        lines = lines[3:]  # drop the README's own over-and-underlined title
    body = "\n".join(lines)
    with open(path, "w", encoding="utf-8") as f:
        f.write("Fidelity sample\n===============\n\n.. contents::\n\n")
        for part in ("Part one", "Part two"):
            f.write("%s\n%s\n\n" % (part, "-" * len(part)))
            f.write(body)
            f.write("\n\n")


def prepare_flat_json(site):
    """A list of flat records: json.tool's encoder nests list -> dict only."""
    path = os.path.join(WORK, "flat.json")
    if os.path.exists(path):
        return
    rng = random.Random(99)
    recs = [{"id": i, "name": "item-%d" % i, "score": round(rng.uniform(0, 100), 3),
             "active": rng.random() < 0.5, "count": rng.randint(0, 10**6)} for i in range(4000)]
    with open(path, "w") as f:
        json.dump(recs, f)


def prepare_nested_json(site):
    """Records nesting dicts and lists six levels deep."""
    path = os.path.join(WORK, "nested.json")
    if os.path.exists(path):
        return
    rng = random.Random(98)

    def node(depth):
        if depth == 0:
            return rng.randint(0, 999)
        if depth % 2:
            return [node(depth - 1) for _ in range(rng.randint(1, 3))]
        return {"k%d" % j: node(depth - 1) for j in range(rng.randint(1, 3))}

    with open(path, "w") as f:
        json.dump([{"id": i, "tree": node(rng.randint(1, 5))} for i in range(700)], f)


PREPARE = {"big_json": prepare_big_json, "readme_rst": prepare_readme_rst,
           "flat_json": prepare_flat_json, "nested_json": prepare_nested_json}


def run(cmd, log, cwd=None):
    t0 = time.monotonic()
    with open(log, "w") as lf:
        try:
            rc = subprocess.run(cmd, stdout=lf, stderr=subprocess.STDOUT, cwd=cwd,
                                timeout=GEN_TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    return rc, time.monotonic() - t0


def gen_synth(truth, seeds, force, manifest, timing):
    d = os.path.join(DATA, "synth")
    os.makedirs(d, exist_ok=True)
    for seed in seeds:
        have = all(os.path.exists(os.path.join(d, "%s-%d.prof" % (s, seed))) for s in SCENARIOS)
        if force or not have:
            rc, dt = run([sys.executable, os.path.join(truth, "synth.py"), d, "--seed", str(seed), "--scenario", "all"],
                         os.path.join(d, "synth-%d.log" % seed))
            timing["synth-%d" % seed] = round(dt, 2)
            if rc != 0:
                print("synth seed %d failed (%s), see %s" % (seed, rc, d), file=sys.stderr)
                continue
        for s in SCENARIOS:
            manifest.append({"name": "%s-%d" % (s, seed), "kind": "synth", "scenario": s, "seed": seed,
                             "prof": os.path.join(d, "%s-%d.prof" % (s, seed)),
                             "truth": os.path.join(d, "%s-%d.truth.folded" % (s, seed))})


def gen_real(truth, only, force, manifest, timing):
    if not os.path.exists(VENV_PY):
        print("no venv at %s: run bench/fidelity/setup.sh first; skipping real workloads" % VENV_PY, file=sys.stderr)
        return
    site, stdlib = venv_paths()
    d = os.path.join(DATA, "real")
    os.makedirs(d, exist_ok=True)
    os.makedirs(WORK, exist_ok=True)
    spec = json.load(open(os.path.join(HERE, "workloads", "workloads.json")))
    subst = {"site": site, "stdlib": stdlib, "wl": os.path.join(HERE, "workloads"), "work": WORK}
    for w in spec["real"]:
        if only and w["name"] not in only:
            continue
        prefix = os.path.join(d, w["name"])
        prof, tru = prefix + ".prof", prefix + ".truth.folded"
        if force or not (os.path.exists(prof) and os.path.exists(tru)):
            if w.get("prepare"):
                PREPARE[w["prepare"]](site)
            argv = [a.format(**subst) for a in w["argv"]]
            rc, dt = run([VENV_PY, os.path.join(truth, "trace.py"), prefix] + argv, prefix + ".log", cwd=WORK)
            timing[w["name"]] = round(dt, 2)
            print("  traced %-14s %6.1f s  rc=%s" % (w["name"], dt, rc), file=sys.stderr)
            if rc != 0 or not os.path.exists(prof):
                print("  trace of %s failed, see %s.log" % (w["name"], prefix), file=sys.stderr)
                continue
        manifest.append({"name": w["name"], "kind": "real", "domain": w.get("domain", ""),
                         "prof": prof, "truth": tru, "main": w["main"]})


def parse_seeds(s):
    if "-" in s:
        a, b = s.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in s.split(",")]


def generate(force=False, only=None, synth=True, real=True, seeds=(1, 2, 3, 4, 5)):
    """Generate (or reuse) the data; return the manifest list, or None if truth tools are absent."""
    truth = truth_dir()
    if not os.path.exists(os.path.join(truth, "trace.py")):
        print("truth tools not found at %s (set FLAMEPROF_TRUTH): skipping the fidelity benchmark" % truth)
        return None
    os.makedirs(DATA, exist_ok=True)
    manifest, timing = [], {}
    t0 = time.monotonic()
    if synth:
        gen_synth(truth, seeds, force, manifest, timing)
    if real:
        gen_real(truth, only, force, manifest, timing)
    timing["total"] = round(time.monotonic() - t0, 2)
    with open(os.path.join(DATA, "manifest.json"), "w") as f:
        json.dump({"truth": truth, "profiles": manifest, "last_generation_seconds": timing}, f, indent=1)
    return manifest, timing


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--force", action="store_true", help="regenerate even if outputs exist")
    ap.add_argument("--only", default="", help="comma-separated real workload names")
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--seeds", default="1-5")
    a = ap.parse_args()
    r = generate(a.force, set(filter(None, a.only.split(","))), not a.no_synth, not a.no_real, parse_seeds(a.seeds))
    if r is None:
        return 0
    manifest, timing = r
    print("%d profiles; generation time (s): %s" % (len(manifest), json.dumps(timing)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
