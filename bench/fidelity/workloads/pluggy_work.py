"""A plugin host the way pluggy-based tools are built: a hook specification, four
plugins implementing it with costs that differ per plugin and per item, and a host
calling the hooks for every item of a batch."""
import pluggy

hookspec = pluggy.HookspecMarker("fidelity")
hookimpl = pluggy.HookimplMarker("fidelity")


class Spec:
    @hookspec
    def process(self, item):
        """Handle one item."""

    @hookspec
    def finish(self, results):
        """Summarise a batch."""


def work(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


class Parse:
    @hookimpl
    def process(self, item):
        return work(40 + item % 50)


class Validate:
    @hookimpl
    def process(self, item):
        return work(200 if item % 10 == 0 else 15)


class Render:
    @hookimpl(trylast=True)
    def process(self, item):
        return "".join(str(c) for c in range(item % 300))

    @hookimpl
    def finish(self, results):
        return work(len(results) * 30)


class Audit:
    @hookimpl(hookwrapper=True)
    def process(self, item):
        outcome = yield
        work(5)
        return outcome

    @hookimpl
    def finish(self, results):
        return sorted(results, key=str)[:3]


def main():
    pm = pluggy.PluginManager("fidelity")
    pm.add_hookspecs(Spec)
    for plugin in (Parse(), Validate(), Render(), Audit()):
        pm.register(plugin)
    for batch in range(6):
        results = [pm.hook.process(item=i) for i in range(batch * 400, batch * 400 + 400)]
        pm.hook.finish(results=results)


if __name__ == "__main__":
    main()
