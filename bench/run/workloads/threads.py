"""Many short threads: 10,000 in batches of 50, each making a few hundred calls.

    python threads.py [BATCHES]

Before 3.12 `python -m cProfile` records the main thread only, and `flameprof run`
every thread: the run pays for recording the threads' calls as well."""
import sys
import threading


def spin(n):
    return sum(len(str(i)) for i in range(n))


def handle(k):
    spin(200)


def main(batches):
    for _ in range(batches):
        threads = [threading.Thread(target=handle, args=(k,)) for k in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
