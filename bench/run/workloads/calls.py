"""CPU-bound with many small calls, cProfile's worst case: `calls.py N [SWITCH]` makes
about 4*N calls; SWITCH (seconds), if given, is set with sys.setswitchinterval first
(to see what a shorter switch interval does to the sampler's rate)."""
import sys


def add(a, b):
    return a + b


def sq(x):
    return add(x * x, 1)


def step(i):
    return sq(i) - add(i, i)


def main(n):
    t = 0
    for i in range(n):
        t = add(t, step(i) & 1023)
    return t


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.setswitchinterval(float(sys.argv[2]))
    main(int(sys.argv[1]))
