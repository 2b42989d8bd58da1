"""Text work: counting, regular expressions, JSON round trips."""

import collections
import json
import re

import pytest


def test_counts(words):
    counts = collections.Counter(words)
    assert sum(counts.values()) == len(words)


@pytest.mark.parametrize("pattern", [r"^a\w+z$", r"(ab|cd)+", r"[aeiou]{3}"])
def test_regex(words, pattern):
    rx = re.compile(pattern)
    hits = [w for w in words if rx.search(w)]
    assert len(hits) < len(words)


def test_json_round_trip(words):
    doc = {"words": words, "index": {w: i for i, w in enumerate(words[:5000])}}
    for _ in range(5):
        assert json.loads(json.dumps(doc)) == doc
