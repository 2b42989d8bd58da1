#!/usr/bin/env python3
"""Writes a large valid cProfile-shaped stats file (default 200,000 functions and
about 1,000,000 caller edges, ~45 MB) with marshal.dump, deterministic (seed 6).

    python3 bench/gen_large.py bench/out/large.prof [FUNCTIONS] [EDGES]

Function 0 is the root; every other function is called by 1-16 functions with lower
numbers (mostly nearby ones, some far), so cumulative times add up the way cProfile's
do: a caller's ct is its tt plus what its callees spent under it. One function in 50
is directly recursive."""
import marshal
import random
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "bench/out/large.prof"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
edges_wanted = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
r = random.Random(6)

keys = [
    ("/srv/app/pkg%03d/module%04d.py" % (i % 997, i // 50), 10 + (i * 7) % 5000, "func_%d" % i)
    for i in range(n)
]
per = edges_wanted / max(1, n - 1)
callers = [[] for _ in range(n)]
for j in range(1, n):
    k = max(1, min(j, int(r.expovariate(1 / per)) + 1, 16))
    chosen = set()
    for _ in range(k):
        if r.random() < 0.8:
            c = r.randrange(max(0, j - 2000), j)
        else:
            c = r.randrange(0, j)
        chosen.add(c)
    callers[j] = sorted(chosen)
tt = [r.expovariate(1 / 1e-4) for _ in range(n)]
ct = list(tt)
calls = [r.randrange(1, 50) for _ in range(n)]
edge = {}
# Callees have higher numbers: fold their cumulative time into their callers.
for j in range(n - 1, 0, -1):
    cs = callers[j]
    weights = [r.random() + 0.05 for _ in cs]
    total = sum(weights)
    left = calls[j]
    for idx, (c, w) in enumerate(zip(cs, weights)):
        share = w / total
        nc = max(1, round(calls[j] * share)) if idx < len(cs) - 1 else max(1, left)
        left = max(1, left - nc)
        edge[(c, j)] = (nc, nc, tt[j] * share, ct[j] * share)
        ct[c] += ct[j] * share
stats = {}
for j in range(n):
    cal = {keys[c]: edge[(c, j)] for c in callers[j]}
    nc = calls[j]
    cc = nc
    if j % 50 == 7:
        rec = nc * 3
        cal[keys[j]] = (rec, 0, tt[j] * 0.5, ct[j] * 0.9)
        nc += rec
    stats[keys[j]] = (cc, nc, tt[j], ct[j], cal)
with open(out, "wb") as f:
    marshal.dump(stats, f)
print(out, n, "functions", sum(len(v[4]) for v in stats.values()), "edges")
