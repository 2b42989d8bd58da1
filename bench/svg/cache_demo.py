"""A report over 20,000 log lines, with and without a cache: the before/after pair of
the README's `flameprof diff` picture (bench/svg/screenshot.sh profiles it twice).

    python3 bench/svg/cache_demo.py            # every date parsed with strptime
    python3 bench/svg/cache_demo.py --cache    # each distinct date parsed once
"""
import functools
import random
import sys
from collections import Counter
from datetime import datetime


def make_lines(n, seed=7):
    rng = random.Random(seed)
    days = ["2026-%02d-%02d" % (m, d) for m in range(1, 13) for d in range(1, 29)]
    levels = ["INFO", "WARNING", "ERROR"]
    return ["%s %s request %d took %d ms" % (rng.choice(days), rng.choice(levels), i, rng.randint(1, 900))
            for i in range(n)]


def parse_day(text):
    return datetime.strptime(text, "%Y-%m-%d").date()


cached_parse_day = functools.lru_cache(maxsize=None)(parse_day)


def report(lines, parse):
    per_weekday = Counter()
    slow = 0
    for line in lines:
        day, level, _, _, _, took, _ = line.split()
        if parse(day).weekday() >= 5 and level != "INFO":
            per_weekday[parse(day).strftime("%A")] += 1
        slow += int(took) > 500
    return per_weekday, slow


def main():
    lines = make_lines(20000)
    parse = cached_parse_day if "--cache" in sys.argv[1:] else parse_day
    per_weekday, slow = report(lines, parse)
    print(sorted(per_weekday.items()), slow)


if __name__ == "__main__":
    main()
