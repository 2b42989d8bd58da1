"""Helpers several tests call, each with a cost that depends on the caller's input."""
import json
import re


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def checksum(items):
    total = 0
    for i, item in enumerate(items):
        total = (total * 31 + hash(str(item)) + i) & 0xFFFFFFFF
    return total


def roundtrip(obj):
    return json.loads(json.dumps(obj, sort_keys=True))


WORD = re.compile(r"\b(\w+)a\b")


def count_words(lines):
    counts = {}
    for line in lines:
        for m in WORD.finditer(line):
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts
