"""Fixtures shared by the fidelity pytest workloads (pytest_suite31: the same suite
parametrized to 31 tests): a session-scoped corpus and a
function-scoped table, so that fixture setup is part of the run as in real suites."""
import random

import pytest


@pytest.fixture(scope="session")
def corpus():
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    return [" ".join(rng.choice(words) for _ in range(12)) for _ in range(3000)]


@pytest.fixture
def table():
    rng = random.Random(11)
    return [(rng.randint(0, 10**6), rng.random()) for _ in range(4000)]
