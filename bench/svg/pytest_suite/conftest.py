"""Fixtures for the profiled suite: a corpus of words built once per session."""

import random

import pytest


@pytest.fixture(scope="session")
def words():
    rng = random.Random(18)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(20000)]
