#!/usr/bin/env python3
"""Writes the synth_check_*.prof fixtures in tests/data/pstats/: valid stats whose
shape is odd, one per data check of src/input/checks.rs. Deterministic; rerun with
python3 tests/support/gen_check_fixtures.py (marshal version 4, as Python 3.4-3.13)."""
import marshal
import os

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "pstats")


def dump(name, stats):
    with open(os.path.join(OUT, name), "wb") as f:
        marshal.dump(stats, f, 4)


main = ("app.py", 1, "main")
f = ("app.py", 10, "f")
g = ("app.py", 20, "g")
worker = ("app.py", 30, "worker")

# A cycle f <-> g that nothing enters: every function with time has a caller with time.
dump("synth_check_no_root.prof", {
    f: (1, 2, 0.5, 2.0, {g: (2, 1, 0.4, 1.5)}),
    g: (1, 3, 1.5, 2.0, {f: (3, 1, 1.5, 2.0)}),
})

# Python 3.12+ cProfile with threads: worker records recursive calls (nc > cc) and more
# own time than cumulative time, yet nothing in the call graph calls it again.
dump("synth_check_phantom_recursion_py312.prof", {
    main: (1, 1, 0.1, 1.0, {}),
    worker: (2, 5, 1.2, 0.9, {main: (5, 2, 1.2, 0.9)}),
})

# Two different keys that pstats prints with the same label "{len}".
dump("synth_check_label_collision.prof", {
    main: (1, 1, 0.1, 1.0, {}),
    ("~", 0, "<len>"): (3, 3, 0.4, 0.4, {main: (3, 3, 0.4, 0.4)}),
    ("~", 0, "{len}"): (2, 2, 0.5, 0.5, {main: (2, 2, 0.5, 0.5)}),
})

# Own times that add up past the largest float: 3 x 1e308 (the sum is inf).
dump("synth_check_time_overflow.prof", {
    ("app.py", 40 + i, "huge"): (1, 1, 1e308, 1e308, {}) for i in range(3)
})
