from helpers import checksum, fib, roundtrip


def test_fib():
    assert fib(22) == 17711


def test_fib_small(fib_n):
    assert fib(fib_n) > 0


def test_checksum(checksum_n):
    assert checksum(range(checksum_n)) >= 0


def test_roundtrip_table(table):
    assert len(roundtrip(table)) == len(table)


def test_sorted_table(table):
    rows = sorted(table, key=lambda r: (r[1], r[0]))
    assert rows[0][1] <= rows[-1][1]
    assert checksum(rows[:500]) >= 0


def test_cheap(cheap_k):
    assert sum(range(100 + cheap_k)) >= 4950
