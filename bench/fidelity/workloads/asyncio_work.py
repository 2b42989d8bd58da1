"""An asyncio event loop the way servers and crawlers use it: several tasks of
different costs gathered together, some yielding with `await asyncio.sleep(0)`
inside their loops (so the loop resumes them many times through
`Handle._run`), others awaiting sub-coroutines, plus `loop.call_soon` callbacks
run by the same loop between the task steps."""
import asyncio


def work(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


async def crunch(n, steps):
    # CPU-heavy, yields between chunks
    total = 0
    for _ in range(steps):
        total += work(n)
        await asyncio.sleep(0)
    return total


async def parse_chunk(k):
    return sum(len(str(i)) for i in range(k))


async def fetch(pages):
    # awaits a sub-coroutine per page, and yields between pages
    total = 0
    for p in range(pages):
        total += await parse_chunk(40 + p % 60)
        await asyncio.sleep(0)
    return total


async def chatter(steps):
    # cheap, yields often
    for i in range(steps):
        await asyncio.sleep(0)
    return steps


def on_tick(state, i):
    state["ticks"] += work(30 + i % 20)


def on_flush(state):
    state["flushed"] += len(sorted(str(x) for x in range(150)))


async def main_async():
    loop = asyncio.get_running_loop()
    state = {"ticks": 0, "flushed": 0}
    for i in range(400):
        loop.call_soon(on_tick, state, i)
        if i % 20 == 0:
            loop.call_soon(on_flush, state)
    results = await asyncio.gather(
        crunch(600, 120),
        crunch(150, 200),
        fetch(250),
        chatter(600),
        chatter(200),
    )
    for i in range(100):
        loop.call_soon(on_tick, state, i)
    await asyncio.sleep(0)
    return results, state


def main():
    results, state = asyncio.run(main_async())
    print(sum(results), state["ticks"], state["flushed"])


if __name__ == "__main__":
    main()
