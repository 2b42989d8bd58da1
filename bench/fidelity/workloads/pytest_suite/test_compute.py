import pytest

from helpers import checksum, fib, roundtrip


def test_fib():
    assert fib(22) == 17711


def test_fib_small():
    assert fib(15) == 610


@pytest.mark.parametrize("n", [200, 2000, 8000])
def test_checksum(n):
    assert checksum(range(n)) >= 0


def test_roundtrip_table(table):
    assert len(roundtrip(table)) == len(table)


def test_sorted_table(table):
    rows = sorted(table, key=lambda r: (r[1], r[0]))
    assert rows[0][1] <= rows[-1][1]
    assert checksum(rows[:500]) >= 0


def test_cheap():
    assert sum(range(100)) == 4950
