"""A traced run's true stacks, with each function's time set to a live run's.

    python3 bench/run/truth.py TRACED.truth.folded LIVE.prof OUT.folded

TRACED.truth.folded is ../shared/truth/trace.py's truth for a run of a program;
LIVE.prof is cProfile's file for another, untraced run of it (`flameprof run
--save-prof`). OUT.folded has the traced run's stacks (builtin methods named as
cProfile names them: cprofile_labels), each function's self time
(the stacks ending in it) scaled by one factor so that it adds up to that function's
tottime in LIVE.prof; stacks ending in a function LIVE.prof does not have are
dropped. Prints the distance (total variation) between the two runs' times per
function, which is what the scaling takes out.

Why: trace.py's tracer is a Python callback, several times dearer per event than
cProfile's C one, and its cost does not fall where cProfile's does: it lands on the
functions that make or are many small calls (a traced run of context.py gives `ord`
0.49 of the time, a cProfile run 0.18, and its list comprehension 0.03 against
0.18). No constant per event takes that out (subtracting one from every interval
between events, fitted to the live run, leaves the distance where it was), so a
drawing that holds cProfile's times exactly would be charged for the tracer. What
a drawing from cProfile's times has to get right, and what a stats file cannot
say, is how each function's time is spread over the stacks it ran in: the traced
run says that, and this keeps it while taking each function's total from the run
that was drawn.
"""
import marshal
import sys


def leaf_sums(stacks):
    """{function label: self time} of a {stack: self time} dict."""
    out = {}
    for stack, value in stacks.items():
        leaf = stack.rsplit(";", 1)[-1]
        out[leaf] = out.get(leaf, 0.0) + value
    return out


def rescale(truth, own_times):
    """`truth` ({stack: self time}) with the stacks ending in each function scaled to
    add up to `own_times[function]`; stacks of functions it lacks are dropped."""
    traced = leaf_sums(truth)
    out = {}
    for stack, value in truth.items():
        leaf = stack.rsplit(";", 1)[-1]
        if own_times.get(leaf, 0) > 0 and traced[leaf] > 0:
            out[stack] = value * own_times[leaf] / traced[leaf]
    return out


def cprofile_labels(stacks, keys):
    """`stacks` with trace.py's names of builtin methods made cProfile's: the tracer
    names a method by its type's bare name (`<method 'group' of 'Match' objects>`),
    cProfile by the method's own repr, its type's qualified name (`... of 're.Match'
    objects`). A name is changed where `keys` (cProfile's, of a live run) hold exactly
    one name for that method of a type of that bare name; else kept."""
    import re

    pattern = re.compile(r"^~:0:<method '(.*)' of '(.*)' objects>$")
    known = set(keys)
    by_bare = {}
    for k in known:
        m = pattern.match(k)
        if m:
            bare = (m.group(1), m.group(2).rsplit(".", 1)[-1])
            by_bare.setdefault(bare, set()).add(k)
    renamed = {}

    def name(frame):
        if frame in known or not frame.startswith("~:0:<method "):
            return frame
        if frame not in renamed:
            m = pattern.match(frame)
            found = by_bare.get((m.group(1), m.group(2))) if m else None
            renamed[frame] = next(iter(found)) if found and len(found) == 1 else frame
        return renamed[frame]

    out = {}
    for stack, value in stacks.items():
        key = ";".join(name(f) for f in stack.split(";"))
        out[key] = out.get(key, 0.0) + value
    return out


def own_time_distance(truth, own_times):
    """Total variation between the two runs' self time per function they share."""
    traced = leaf_sums(truth)
    common = [f for f in traced if f in own_times]
    ta = sum(traced[f] for f in common) or 1.0
    tb = sum(own_times[f] for f in common) or 1.0
    return 0.5 * sum(abs(traced[f] / ta - own_times[f] / tb) for f in common)


def ideal_samples(stacks, n, seed=1):
    """The stacks file an unbiased sampler taking `n` samples would write for a run
    whose true self time per stack is `stacks` (rooted where flameprof's sampler roots
    its stacks): each sample picks a stack with probability proportional to its time,
    and sees no builtin frame (bar the root). What the guided drawing makes of it is
    the best a sampler with that many samples can give."""
    import random

    seen = {}
    for stack, value in stacks.items():
        frames = stack.split(";")
        frames = frames[:1] + [f for f in frames[1:] if not f.startswith("~:0:")]
        key = ";".join(frames)
        seen[key] = seen.get(key, 0.0) + value
    keys = sorted(seen)
    weights = [seen[k] for k in keys]
    total = sum(weights)
    counts = {}
    for k in random.Random(seed).choices(keys, weights=weights, k=n):
        counts[k] = counts.get(k, 0) + 1
    lines = ["# flameprof run: ideal samples; values are microseconds",
             "# samples: %d, sampled time: %.6f s, interval: 0.001 s" % (n, total / 1e6),
             "# mode: wall"]
    lines += ["%s %d" % (k, round(c * total / n)) for k, c in sorted(counts.items())]
    return "\n".join(lines) + "\n"


def read_folded(path):
    out = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        stack, _, value = line.rpartition(" ")
        out[stack] = out.get(stack, 0.0) + float(value)
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    traced_path, live_path, out_path = sys.argv[1:]
    own = {}
    for key, value in marshal.load(open(live_path, "rb")).items():
        own["%s:%s:%s" % key] = value[2] * 1e6  # microseconds, as trace.py writes
    truth = cprofile_labels(read_folded(traced_path), own)
    print("tottime_tvd=%.4f" % own_time_distance(truth, own))
    with open(out_path, "w", encoding="utf-8") as out:
        for stack, value in sorted(rescale(truth, own).items()):
            out.write("%s %.3f\n" % (stack, value))


if __name__ == "__main__":
    main()
