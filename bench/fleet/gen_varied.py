"""Writes N varied cProfile stats files into DIR, as a worker pool profiling each
request would: every profile runs a few of some twenty standard-library workloads
(JSON, regular expressions, difflib, email, ast, tokenize, decimal, statistics, CSV,
XML, HTML, zip, ...) chosen and sized by its number, so the profiles share most
functions but differ in which ones run and how often.

    python3 bench/fleet/gen_varied.py DIR [N]   (N: 1000)
"""

import ast
import cProfile
import csv
import decimal
import difflib
import email
import email.policy
import fractions
import gzip
import html.parser
import io
import json
import os
import random
import re
import statistics
import string
import sys
import textwrap
import tokenize
import xml.etree.ElementTree as ET
import zipfile


def words(rng, n):
    return [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
        for _ in range(n)
    ]


def w_json(rng, n):
    doc = {w: [rng.random(), {"k": w, "v": list(range(5))}] for w in words(rng, n)}
    json.loads(json.dumps(doc, indent=rng.choice([None, 2]), sort_keys=True))


def w_re(rng, n):
    text = " ".join(words(rng, n * 4))
    re.findall(r"\b([aeiou]\w+)\b", text)
    re.sub(r"(\w)(\w*)", lambda m: m.group(2) + m.group(1), text)


def w_difflib(rng, n):
    a = words(rng, n)
    b = a[:]
    rng.shuffle(b[: n // 3])
    list(difflib.unified_diff(a, b, lineterm=""))
    difflib.SequenceMatcher(None, " ".join(a), " ".join(b)).ratio()


def w_email(rng, n):
    body = "\n".join(textwrap.wrap(" ".join(words(rng, n * 3)), 60))
    raw = f"From: a@example.com\nTo: b@example.com\nSubject: {' '.join(words(rng, 3))}\n\n{body}\n"
    msg = email.message_from_string(raw, policy=email.policy.default)
    msg.get_body().get_content()


def w_ast(rng, n):
    src = "\n".join(
        f"def f{i}(x, y={i}):\n    return [x * k + y for k in range({i})]" for i in range(n)
    )
    compile(ast.parse(src), "<gen>", "exec")


def w_tokenize(rng, n):
    src = "\n".join(f"x{i} = ({i} + {rng.randint(0, 99)}) * 'abc'" for i in range(n))
    list(tokenize.generate_tokens(io.StringIO(src).readline))


def w_decimal(rng, n):
    total = decimal.Decimal(0)
    for _ in range(n * 5):
        total += decimal.Decimal(rng.randint(1, 10**6)) / decimal.Decimal(7)
    str(total)


def w_fractions(rng, n):
    sum(fractions.Fraction(rng.randint(1, 100), rng.randint(1, 100)) for _ in range(n * 3))


def w_statistics(rng, n):
    data = [rng.gauss(0, 1) for _ in range(n * 10)]
    statistics.mean(data), statistics.median(data), statistics.stdev(data)


def w_csv(rng, n):
    out = io.StringIO()
    writer = csv.writer(out)
    for _ in range(n):
        writer.writerow(words(rng, 5))
    list(csv.DictReader(io.StringIO(out.getvalue()), fieldnames=list("abcde")))


def w_xml(rng, n):
    root = ET.Element("root")
    for w in words(rng, n):
        ET.SubElement(root, "item", name=w).text = w * 2
    ET.fromstring(ET.tostring(root)).findall(".//item")


class _Links(html.parser.HTMLParser):
    def handle_starttag(self, tag, attrs):
        pass


def w_html(rng, n):
    page = "".join(f'<p><a href="/{w}">{w}</a></p>' for w in words(rng, n))
    _Links().feed(f"<html><body>{page}</body></html>")


def w_zip(rng, n):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for w in words(rng, max(1, n // 10)):
            z.writestr(w + ".txt", w * 100)
    with zipfile.ZipFile(buf) as z:
        for name in z.namelist():
            z.read(name)


def w_gzip(rng, n):
    gzip.decompress(gzip.compress(" ".join(words(rng, n * 5)).encode()))


def w_textwrap(rng, n):
    textwrap.fill(" ".join(words(rng, n * 5)), width=rng.randint(30, 90))


def w_sort(rng, n):
    sorted(words(rng, n * 5), key=lambda w: (len(w), w))


WORKLOADS = [
    w_json, w_re, w_difflib, w_email, w_ast, w_tokenize, w_decimal, w_fractions,
    w_statistics, w_csv, w_xml, w_html, w_zip, w_gzip, w_textwrap, w_sort,
]


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        rng = random.Random(i)
        chosen = rng.sample(WORKLOADS, rng.randint(2, 6))
        prof = cProfile.Profile()
        prof.enable()
        for w in chosen:
            w(rng, rng.randint(20, 200))
        prof.disable()
        prof.dump_stats(os.path.join(out, f"request-{i:05d}.prof"))


if __name__ == "__main__":
    main()
