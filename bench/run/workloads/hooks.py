"""A pluggy-like hook dispatcher: every hook call goes through the same `__call__` and
`_multicall`, which call different plugin functions for different hooks."""
import sys


class HookImpl(object):
    def __init__(self, function):
        self.function = function


def _multicall(impls, kwargs):
    results = []
    for impl in reversed(impls):
        res = impl.function(**kwargs)
        if res is not None:
            results.append(res)
    return results


class HookCaller(object):
    def __init__(self, name):
        self.name = name
        self.impls = []

    def __call__(self, **kwargs):
        return _multicall(self.impls, kwargs)


class Hooks(object):
    pass


def collect_a(item):
    return sum(range(item % 50))


def collect_b(item):
    return None


def report_a(item):
    return "%s:%s" % (item, item * 2)


def report_b(item):
    s = 0
    for i in range(item % 200):
        s += i * i
    return s


def setup():
    hook = Hooks()
    hook.collect = HookCaller("collect")
    hook.report = HookCaller("report")
    hook.collect.impls = [HookImpl(collect_a), HookImpl(collect_b)]
    hook.report.impls = [HookImpl(report_a), HookImpl(report_b)]
    return hook


def run_session(hook, n):
    for i in range(n):
        hook.collect(item=i)
        if i % 3 == 0:
            hook.report(item=i)


if __name__ == "__main__":
    run_session(setup(), int(sys.argv[1]) if len(sys.argv) > 1 else 400000)
