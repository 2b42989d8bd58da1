import pytest

from helpers import checksum, fib, roundtrip


def test_fib():
    assert fib(22) == 17711


@pytest.mark.parametrize("n", [10, 11, 12, 13, 14, 15])
def test_fib_small(n):
    assert fib(n) > 0


@pytest.mark.parametrize("n", [200, 500, 1000, 2000, 4000, 8000, 12000])
def test_checksum(n):
    assert checksum(range(n)) >= 0


def test_roundtrip_table(table):
    assert len(roundtrip(table)) == len(table)


def test_sorted_table(table):
    rows = sorted(table, key=lambda r: (r[1], r[0]))
    assert rows[0][1] <= rows[-1][1]
    assert checksum(rows[:500]) >= 0


@pytest.mark.parametrize("k", range(6))
def test_cheap(k):
    assert sum(range(100 + k)) >= 4950
