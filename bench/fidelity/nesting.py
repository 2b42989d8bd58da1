#!/usr/bin/env python3
"""How much of the import nesting the file can tell: real programs, after a run.

For each real workload (its `.prof` and its true stacks, made by run.py), this
script finds the module bodies (`<module>` functions that `builtins.exec` calls
once) and the importers (functions outside the import machinery that call into it:
`_find_and_load`, `_handle_fromlist`, `__import__`, `import_module`, `_gcd_import`),
with what the file says of each importer: its import calls (k) and their time.

It then compares two nestings (which importer ran each body):
- the truth: the nearest importer above the body on its true stacks;
- a fit that keeps every constraint the file gives: no importer runs more bodies
  than it made import calls, and the bodies under an importer never take more
  than its import time. Bodies are placed widest first, each into the importer
  whose unexplained import time is the smallest that holds it (best fit).

and prints, per workload: bodies, importers, how many constraints each nesting
breaks (the truth breaks the count one where an import ran parent packages too),
and how many bodies (and what share of their time) the fit puts under their true
importer. A fit that keeps every constraint yet is mostly wrong shows that the
counts and times in the file do not determine the nesting.

It also writes, per workload, the true importing *body* of every body
(`bench/out/oracle/NAME.tsv`: file, line, name of the body, then of its importer)
for `oracle.sh`, which draws the profiles with that nesting given.

usage: python3 bench/fidelity/nesting.py
"""
import collections
import os
import pstats
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "out")
REAL = os.path.join(OUT, "data", "real")
WORKLOADS = ["pip_list", "sympy", "pygments", "docutils", "unittest_json", "pyflakes", "json_tool"]

EXEC = "<built-in method builtins.exec>"
IMPORT = "<built-in method builtins.__import__>"


def label(k):
    return f"{k[0]}:{k[1]}:{k[2]}"


def is_machinery(k):
    """Functions of the import system itself (never an importer)."""
    return (
        k[0].startswith("<frozen importlib")
        or "importlib/_bootstrap" in k[0]
        or k[2] in (EXEC, IMPORT)
        or (k[0].endswith("importlib/__init__.py") and k[2] == "import_module")
    )


def is_entry(k):
    """Where an importer enters the import system."""
    return k[2] in ("_find_and_load", "_handle_fromlist", IMPORT, "_gcd_import") or (
        k[0].endswith("importlib/__init__.py") and k[2] == "import_module"
    )


def analyse(name):
    stats = pstats.Stats(os.path.join(REAL, name + ".prof")).stats
    total = max(v[3] for v in stats.values())
    runner = next(k for k in stats if k[2] == EXEC)
    bodies = {
        k: v[4][runner][3] / total
        for k, v in stats.items()
        if k[2] == "<module>" and runner in v[4] and v[4][runner][1] == 1
    }
    imports = collections.defaultdict(lambda: [0, 0.0])  # importer -> [calls, time]
    for k, (_, _, _, _, callers) in stats.items():
        if is_entry(k):
            for c, (_, nc, _, ct) in callers.items():
                if not is_machinery(c):
                    imports[c][0] += nc
                    imports[c][1] += ct / total
    by_label = {label(k): k for k in stats}

    true_importer, true_body = {}, {}
    with open(os.path.join(REAL, name + ".truth.folded"), encoding="utf-8", errors="replace") as f:
        for line in f:
            stack = line.rstrip("\n").rpartition(" ")[0].split(";")
            keys = [by_label.get(frame) for frame in stack]
            for i, k in enumerate(keys):
                if k not in bodies or k in true_importer:
                    continue
                above = [g for g in reversed(keys[:i]) if g is not None]
                true_importer[k] = next((g for g in above if not is_machinery(g)), None)
                true_body[k] = next((g for g in above if g in bodies), None)

    def broken(assign):
        load, runs = collections.defaultdict(float), collections.Counter()
        for b, a in assign.items():
            if a is not None:
                load[a] += bodies[b]
                runs[a] += 1
        over_count = sum(max(0, runs[a] - imports[a][0]) for a in imports)
        over_time = sum(1 for a in imports if load[a] > imports[a][1] + 1e-9)
        return over_count, over_time

    # The fit: widest body first, best fit among importers with calls and time left.
    fit, time_left, calls_left = {}, {}, {}
    for a, (k, t) in imports.items():
        if a not in bodies:
            time_left[a], calls_left[a] = t, k
    for b in sorted(bodies, key=lambda b: (-bodies[b], label(b))):
        fits = [(time_left[a], label(a)) for a in time_left if time_left[a] >= bodies[b] and calls_left[a] > 0]
        fit[b] = None
        if fits:
            a = by_label[min(fits)[1]]
            fit[b] = a
            time_left[a] -= bodies[b]
            calls_left[a] -= 1
        if b in imports:
            time_left[b], calls_left[b] = imports[b][1], imports[b][0]

    truth = {b: true_importer.get(b) for b in bodies}
    truth = {b: (a if a in imports else None) for b, a in truth.items()}
    right = [b for b in bodies if fit[b] == truth[b]]
    share = sum(bodies[b] for b in right) / sum(bodies.values())
    t_count, t_time = broken(truth)
    f_count, f_time = broken(fit)
    print(
        f"| {name} | {len(bodies)} | {len(imports)} | {t_count} / {t_time} | {f_count} / {f_time} "
        f"| {len(right)} | {share:.3f} |"
    )

    os.makedirs(os.path.join(OUT, "oracle"), exist_ok=True)
    with open(os.path.join(OUT, "oracle", name + ".tsv"), "w", encoding="utf-8") as out:
        for b in sorted(bodies):
            p = true_body.get(b)
            if p is not None:
                out.write("\t".join(str(x) for x in (*b, *p)) + "\n")


def main():
    missing = [w for w in WORKLOADS if not os.path.exists(os.path.join(REAL, w + ".truth.folded"))]
    if missing:
        sys.exit(f"nesting.py: no traced workloads in {REAL} ({', '.join(missing)}): run run.py first")
    print("| workload | bodies | importers | truth breaks (count / time) | fit breaks (count / time) | fit right (bodies) | fit right (share of body time) |")
    print("|---|---|---|---|---|---|---|")
    for w in WORKLOADS:
        analyse(w)


if __name__ == "__main__":
    main()
