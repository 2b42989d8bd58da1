"""Fixtures shared by the fidelity pytest workloads: a session-scoped corpus and a
function-scoped table, so that fixture setup is part of the run as in real suites.

`--wide` parametrizes the same tests more (31 tests instead of 13: the
pytest_suite31 workload)."""
import random

import pytest

PARAMS = {
    # name: (13-test suite, --wide)
    "fib_n": ([15], [10, 11, 12, 13, 14, 15]),
    "checksum_n": ([200, 2000, 8000], [200, 500, 1000, 2000, 4000, 8000, 12000]),
    "cheap_k": ([0], list(range(6))),
    "head_m": ([300], [300, 600]),
    "sep": (["\n"], ["\n", " ", ",", ";"]),
}


def pytest_addoption(parser):
    parser.addoption("--wide", action="store_true", help="parametrize the tests more")


def pytest_generate_tests(metafunc):
    wide = metafunc.config.getoption("--wide")
    for name, (narrow, more) in PARAMS.items():
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, more if wide else narrow)


@pytest.fixture(scope="session")
def corpus():
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    return [" ".join(rng.choice(words) for _ in range(12)) for _ in range(3000)]


@pytest.fixture
def table():
    rng = random.Random(11)
    return [(rng.randint(0, 10**6), rng.random()) for _ in range(4000)]
