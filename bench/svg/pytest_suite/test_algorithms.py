"""Pure-Python algorithms, deep enough to give the graph some height."""

import pytest


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def merge_sort(xs):
    if len(xs) <= 1:
        return xs
    mid = len(xs) // 2
    left, right = merge_sort(xs[:mid]), merge_sort(xs[mid:])
    out, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    return out + left[i:] + right[j:]


@pytest.mark.parametrize("n", [18, 20, 21])
def test_fib(n):
    assert fib(n) > 0


def test_merge_sort(words):
    assert merge_sort(words) == sorted(words)


def test_primes():
    sieve = bytearray([1]) * 200000
    sieve[0:2] = b"\0\0"
    for i in range(2, 448):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    assert sum(sieve) == 17984
