"""Context-dependent callee: `process` calls `parse_row` when `load` calls it and
`validate_row` when `check` does; the two callers spend their time differently, so a
stats file (caller->callee totals only) cannot tell which `process` did what."""
import sys


def parse_row(row):
    t = 0
    for c in row:
        t += ord(c) * 3
    return t


def validate_row(row):
    return len(row) > 3 and row[0] != "#"


def process(rows, fn):
    return [fn(r) for r in rows]


def load(rows):
    return process(rows, parse_row)


def check(rows):
    return process(rows, validate_row)


def main(n):
    rows = ["row %d of the data, some text" % i for i in range(200)]
    for _ in range(n):
        load(rows)
        for _ in range(4):
            check(rows)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1200)
