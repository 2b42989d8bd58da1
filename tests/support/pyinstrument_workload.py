"""The program profiled for tests/data/pstats/real_pyinstrument_py311.prof:
pyinstrument -r pstats -o tests/data/pstats/real_pyinstrument_py311.prof \
    tests/support/pyinstrument_workload.py
(pyinstrument 5, Python 3.11). Busy loops long enough for its 1 ms sampler."""

import time


def spin(seconds):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def inner():
    return spin(0.05)


def outer():
    spin(0.03)
    return inner()


def main():
    outer()
    time.sleep(0.02)


main()
