#!/usr/bin/env python3
"""Write a deterministic synthetic cProfile stats file (Python `marshal`) of a given size.

Usage:
    gen_profile.py --edges 1000000 -o bench/out/perf/gen_1m.prof
    gen_profile.py --shape chain --depth 100000 -o bench/out/perf/chain_100k.prof

Shapes:
- `dag` (default): a layered call graph like a large application. About one function
  per 8 edges, spread over modules; each function is called from up to 8 functions
  defined shortly before it (so there is one clean root, `main.py:1(<module>)`, and the
  graph is deep and has very many paths). Times are consistent: a function's `ct` is
  its `tt` plus what its callees spend under it, and each function's numbers are split
  over its callers edge by edge, as cProfile records them.
- `chain`: f0 -> f1 -> ... -> f{depth-1}, one call each: a 100k-deep stack.
- `recursive`: one function calling itself `depth` times below a root (pstats folds it
  into a self edge), plus a two-function mutual recursion of the same depth.
- `fanin`: `depth` different functions, each called once by the root, all calling one
  shared function (`depth` callers of one function), which calls a leaf.

Same arguments, same bytes: the random generator is seeded and marshal output is stable
for a given Python version (the file is written with marshal version 4, as cProfile does).
"""

import argparse
import marshal
import random
import sys


def dag(edges, seed):
    rng = random.Random(seed)
    per = 8
    nfunc = max(2, edges // per + 1)
    nmod = max(1, nfunc // 40)
    mods = [f"/srv/app/pkg{m % 97}/module_{m}.py" for m in range(nmod)]
    keys = [("main.py", 1, "<module>")]
    for i in range(1, nfunc):
        m = mods[(i * nmod) // nfunc]
        keys.append((m, 10 + (i % 40) * 25, f"func_{i}"))
    # Callers of each function: earlier functions within a window (a DAG rooted at 0).
    callers = [[] for _ in range(nfunc)]
    made = 0
    for i in range(1, nfunc):
        window = min(i, 400)
        want = min(window, per if made + per <= edges else max(1, edges - made))
        chosen = set()
        chosen.add(i - 1 - rng.randrange(min(window, 8)))  # keeps the graph connected
        while len(chosen) < want:
            chosen.add(i - 1 - rng.randrange(window))
        callers[i] = sorted(chosen)
        made += len(chosen)
    callees = [[] for _ in range(nfunc)]
    for i in range(nfunc):
        for c in callers[i]:
            callees[c].append(i)
    tt = [rng.uniform(1e-6, 2e-3) for _ in range(nfunc)]
    nc = [rng.randint(1, 500) for _ in range(nfunc)]
    nc[0] = 1
    ct = [0.0] * nfunc
    # edge[(caller, callee)] = (nc, cc, tt, ct); filled from the callee upwards.
    edge = {}
    for i in range(nfunc - 1, -1, -1):
        ct[i] = tt[i] + sum(edge[(i, j)][3] for j in callees[i])
        cs = callers[i]
        if not cs:
            continue
        w = [rng.random() + 0.05 for _ in cs]
        s = sum(w)
        left = nc[i]
        for k, c in enumerate(cs):
            share = w[k] / s
            n = left if k == len(cs) - 1 else max(1, min(left - (len(cs) - 1 - k), round(nc[i] * share)))
            n = max(1, n)
            left -= n
            edge[(c, i)] = (n, n, tt[i] * share, ct[i] * share)
        nc[i] = sum(edge[(c, i)][0] for c in cs)
    stats = {}
    for i in range(nfunc):
        cdict = {keys[c]: edge[(c, i)] for c in callers[i]}
        stats[keys[i]] = (nc[i], nc[i], tt[i], ct[i], cdict)
    return stats


def chain(depth):
    keys = [("main.py", 1, "<module>")] + [
        (f"/srv/deep/level_{i // 1000}.py", 1 + i % 1000, f"step_{i}") for i in range(1, depth)
    ]
    stats = {}
    t = 1e-5
    for i in range(depth - 1, -1, -1):
        ct = t * (depth - i)
        cdict = {keys[i - 1]: (1, 1, t, ct)} if i > 0 else {}
        stats[keys[i]] = (1, 1, t, ct, cdict)
    return stats


def recursive(depth):
    root = ("main.py", 1, "<module>")
    rec = ("/srv/rec.py", 10, "descend")
    ping = ("/srv/rec.py", 20, "ping")
    pong = ("/srv/rec.py", 30, "pong")
    t = 1e-6
    total = 2 * depth * t
    return {
        root: (1, 1, 1e-4, total + 1e-4, {}),
        # cc = 1 primitive call, nc = depth calls; ct counts the outermost call only.
        rec: (1, depth, depth * t, depth * t, {root: (1, 1, t, depth * t), rec: (depth - 1, 0, (depth - 1) * t, (depth - 1) * t)}),
        ping: (1, depth // 2, depth // 2 * t, depth * t, {root: (1, 1, t, depth * t), pong: (depth // 2 - 1, 0, (depth // 2 - 1) * t, (depth - 1) * t)}),
        pong: (0, depth // 2, depth // 2 * t, (depth - 1) * t, {ping: (depth // 2, 0, depth // 2 * t, (depth - 1) * t)}),
    }


def fanin(width):
    root = ("main.py", 1, "<module>")
    hub = ("/srv/hub.py", 10, "shared")
    leaf = ("/srv/hub.py", 20, "leaf")
    callers = [(f"/srv/fan/mod_{i // 1000}.py", 1 + i % 1000, f"caller_{i}") for i in range(width)]
    t = 1e-6
    hub_ct = sum((i % 7 + 1) * t for i in range(width))
    stats = {root: (1, 1, 1e-4, 1e-4 + width * t + hub_ct, {})}
    for i, c in enumerate(callers):
        # Caller i spends i % 7 + 1 units in the hub: the contexts differ in width.
        stats[c] = (1, 1, t, t + (i % 7 + 1) * t, {root: (1, 1, t, t + (i % 7 + 1) * t)})
    stats[hub] = (width, width, hub_ct / 2, hub_ct, {c: (1, 1, (i % 7 + 1) * t / 2, (i % 7 + 1) * t) for i, c in enumerate(callers)})
    stats[leaf] = (width, width, hub_ct / 2, hub_ct / 2, {hub: (width, width, hub_ct / 2, hub_ct / 2)})
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=["dag", "chain", "recursive", "fanin"], default="dag")
    ap.add_argument("--edges", type=int, default=10_000, help="caller->callee edges (dag)")
    ap.add_argument("--depth", type=int, default=100_000, help="stack depth (chain, recursive), callers of the shared function (fanin)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    if a.shape == "dag":
        stats = dag(a.edges, a.seed)
    elif a.shape == "chain":
        stats = chain(a.depth)
    elif a.shape == "fanin":
        stats = fanin(a.depth)
    else:
        stats = recursive(a.depth)
    data = marshal.dumps(stats, 4)
    with open(a.out, "wb") as f:
        f.write(data)
    nedges = sum(len(v[4]) for v in stats.values())
    print(f"{a.out}: {len(stats)} functions, {nedges} edges, {len(data)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
