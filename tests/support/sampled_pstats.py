"""Writes tests/data/pstats/synth_sampled_py315.prof: the stats file CPython 3.15's
sampling profiler (`python -m profiling.sampling`, pstats output) would write for a
fixed set of stacks.

The counting below follows Lib/profiling/sampling/pstats_collector.py
(`PstatsCollector._process_frames`, `create_stats`, `_dump_stats`) line for line, and
the frames follow what the unwinder gives it: a frame is (filename, location,
funcname) with funcname the code object's qualified name, the key's line is the line
being executed (`extract_lineno`: 0 when the location is None), `<GC>` and
`<native>` are ("~", None, "<GC>"/"<native>") (Modules/_remote_debugging), and an
asyncio task is ("<task>", None, task name) (`Collector._build_linear_stacks`).
Stacks are listed leaf first, as the unwinder gives them.

Python 3.15 dumps with marshal version 6 and 3.14 with 5; for a dict of tuples, ints,
floats, strings and a bool the bytes are those of version 4, so any Python 3.4+ writes
the same file.

Run: python3 tests/support/sampled_pstats.py
"""

import collections
import marshal
import os

INTERVAL_USEC = 1000  # the default of --interval (1 ms)


def frame(filename, lineno, funcname):
    return (filename, lineno, funcname)


def collect(samples):
    """The collector's counting, for (weight, frames) samples."""
    result = collections.defaultdict(
        lambda: dict(total_rec_calls=0, direct_calls=0, cumulative_calls=0)
    )
    callers = collections.defaultdict(lambda: collections.defaultdict(int))
    for weight, frames in samples:
        seen = set()
        for f in frames:
            location = (f[0], f[1] or 0, f[2])
            if location not in seen:
                seen.add(location)
                result[location]["cumulative_calls"] += weight
        top = frames[0]
        result[(top[0], top[1] or 0, top[2])]["direct_calls"] += weight
        for i in range(1, len(frames)):
            callee, caller = frames[i - 1], frames[i]
            callee = (callee[0], callee[1] or 0, callee[2])
            caller = (caller[0], caller[1] or 0, caller[2])
            callers[callee][caller] += weight
    interval = INTERVAL_USEC / 1_000_000
    stats = {}
    for fname, counts in result.items():
        stats[fname] = (
            counts["direct_calls"],
            counts["cumulative_calls"],
            counts["direct_calls"] * interval,
            counts["cumulative_calls"] * interval,
            dict(callers.get(fname, {})),
        )
    stats[("__sampled__",)] = True
    return stats


APP = "/app/app.py"
MOD = "<frozen runpy>"
run = [frame(MOD, 88, "_run_code"), frame(MOD, 198, "_run_module_as_main")]
main = lambda line: frame(APP, line, "main")
gc = frame("~", None, "<GC>")
native = frame("~", None, "<native>")

SAMPLES = [
    # main() at line 30 calls parse(), which runs at two lines.
    (40, [frame(APP, 12, "parse"), main(30)] + run),
    (25, [frame(APP, 14, "parse"), main(30)] + run),
    # main() at line 31 calls Model.fit, which recurses through step().
    (30, [frame(APP, 21, "Model.step"), frame(APP, 18, "Model.fit"), main(31)] + run),
    (20, [frame(APP, 22, "Model.step"), frame(APP, 21, "Model.step"),
          frame(APP, 18, "Model.fit"), main(31)] + run),
    # A garbage collection started while fit() allocated.
    (8, [gc, frame(APP, 19, "Model.fit"), main(31)] + run),
    # Time in C code called from main() (with --native).
    (12, [native, main(32)] + run),
    # main() itself on top, at two lines.
    (5, [main(30)] + run),
    (3, [main(33)] + run),
    # An asyncio task's stack (--async-aware): coroutine frames, then the task marker.
    (7, [frame(APP, 41, "fetch"), frame("<task>", None, "Task-2"),
         frame(APP, 45, "gather_all"), frame("<task>", None, "Task-1")]),
]


def main_():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "data", "pstats", "synth_sampled_py315.prof")
    with open(out, "wb") as f:
        marshal.dump(collect(SAMPLES), f, 4)


if __name__ == "__main__":
    main_()
