#!/usr/bin/env python3
"""Writes hostile stats files and collapsed stacks, each under 1 MB, into DIR (default bench/out/hostile):
shapes meant to make a reader allocate, loop or recurse far beyond the input's size.
Used by bench/limits.sh; deterministic. Each one is written by hand-assembled
marshal bytes where Python's marshal would refuse to write it."""
import marshal
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "out", "hostile")
os.makedirs(OUT, exist_ok=True)
LIMIT = 1_000_000


def i32(n):
    return struct.pack("<i", n)


def write(name, data):
    assert len(data) <= LIMIT, (name, len(data))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def z(s):
    b = s.encode()
    return b"z" + bytes([len(b)]) + b


# 1. 99 nested tuples, each declaring as many items as bytes remain: a reader that
#    preallocates from the declared count reserves ~99 x 4 x 1 MB.
body = b"N" * (LIMIT - 99 * 5 - 10)
head = b""
for level in range(99):
    head += b"(" + i32(LIMIT - len(head) - 5 - 10 - level)
write("nested_prealloc.prof", b"{" + head + body)

# 2. A reference bomb inside a caller value: each tuple holds 250 references to the
#    previous one (250^n leaves), decoded in full before the entry is skipped.
chain = bytearray(b"\xfb")  # flagged dict, ref 0
refs = 1
chain += b"\xa9\x01N"  # ref 1: (None,)
chain += b"i" + i32(0)  # value for that key... not a stats row
# Proper bomb as a dict value inside a row is rejected as a bad value, so put it in a
# caller value position instead (skipped as malformed, but fully decoded first).
bomb = bytearray()
bomb += b"\xa9\x01N"  # ref 0
n = 1
while len(bomb) < LIMIT - 2000:
    bomb += b"\xa9" + bytes([250]) + (b"r" + i32(n - 1)) * 250
    n += 1
key = b")\x03" + z("a.py") + b"i" + i32(1) + z("f")
row = b")\x05" + b"i" + i32(1) + b"i" + i32(1) + b"g" + struct.pack("<d", 1.0) * 1 + b"g" + struct.pack("<d", 1.0)
row += b"{" + key + bytes(bomb) + b"0"
write("ref_bomb_in_callers.prof", b"{" + key + row + b"0")

# 3. One callers dict shared by reference by every row: rows x callers edges from a
#    file of rows + callers bytes.
ncallers = 15000
callers = bytearray(b"\xfb")  # flagged dict: ref 0
for c in range(ncallers):
    callers += b")\x03" + z("c.py") + b"i" + i32(c) + z("g") + b"i" + i32(1)
callers += b"0"
rows = bytearray(b"{")
nrows = 0
first = True
while len(rows) + len(callers) < LIMIT - 100:
    rows += b")\x03" + z("r.py") + b"i" + i32(nrows) + z("h")
    rows += b")\x05" + b"i" + i32(1) + b"i" + i32(1) + b"i" + i32(1) + b"i" + i32(1)
    if first:
        rows += bytes(callers)
        first = False
    else:
        rows += b"r" + i32(0)
    nrows += 1
rows += b"0"
# The outer dict is not flagged, so the callers dict is ref 0.
write("shared_callers_dict.prof", bytes(rows))

# 4. Nested code objects: every layout is tried at every level.
code = b"N"
for level in range(60):
    code = b"c" + i32(0) * 6 + code
write("nested_code_retries.prof", b"{" + b")\x03" + z("a") + b"i" + i32(0) + code + b"N0")

# 5. A wide valid profile: 25,000 functions in one long call chain with recursion.
stats = {}
prev = None
for i in range(12000):
    k = ("chain.py", i, "f%d" % i)
    callers = {prev: (1, 1, 0.001, 0.001 * (12000 - i))} if prev else {}
    if i % 7 == 0:
        callers[k] = (3, 1, 0.0001, 0.001)
    stats[k] = (1, 4 if i % 7 == 0 else 1, 0.001, 0.001 * (12000 - i), callers)
    prev = k
write("long_chain_recursive.prof", marshal.dumps(stats))

# 6. Everything calls everything: 300 functions, 90,000 edges.
keys = [("all.py", i, "g%d" % i) for i in range(300)]
stats = {k: (300, 300, 0.01, 1.0, {c: (1, 1, 0.0001, 0.003) for c in keys}) for k in keys}
write("complete_graph_300.prof", marshal.dumps(stats))

# 7. Deep nesting just under and over the cap, and a long string.
write("deep_99.prof", b"{" + b")\x03" + z("a") + b"i" + i32(0) + b")\x01" * 99 + b"N" + b"N0")
write("long_name.prof", marshal.dumps({("a.py", 1, "x" * (LIMIT - 200)): (1, 1, 1.0, 1.0, {})}))
# 8. Amplification through shared strings: plain marshal.dumps writes a string used
#    twice once and refers back to it, so one long string can name every function.
def shared_chain(n, name, file="c.py"):
    stats, prev = {}, None
    for i in range(n):
        k = (file, i, name)
        t = 0.001 * (n - i)
        stats[k] = (1, 1, 0.001, t, {prev: (1, 1, 0.001, t)} if prev else {})
        prev = k
    return stats


name = "a" * 500_000
write("amp_keys_shared_name.prof", marshal.dumps({("f%d.py" % i, i, name): (1, 1, 0.001, 0.001, {}) for i in range(4000)}))
path = "/" + "e" * 500_000
write("amp_keys_shared_file.prof", marshal.dumps({(path, i, "g"): (1, 1, 0.001, 0.001, {}) for i in range(12000)}))
write("amp_chain_shared_name.prof", marshal.dumps(shared_chain(8000, "b" * 400_000)))
write("amp_chain_shared_100k.prof", marshal.dumps(shared_chain(2000, "d" * 100_000)))
# Names just under the per-name limit, shared: only the label budget bounds these.
write("amp_budget_1k_names.prof", marshal.dumps({("/" + "p" * 1000, i, "n" * 1000): (1, 1, 0.001, 0.001, {}) for i in range(20000)}))
# A 10,000-deep call chain: folded stacks repeat whole stacks.
write("deep_chain_10k.prof", marshal.dumps(shared_chain(10000, "f")))
# Terminal escapes, invalid UTF-8 and overflowing times.
esc = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\r\nforged line\x9b"
write("escapes_in_names.prof", marshal.dumps({(esc + ".py", 1, esc): (1, 1, 1.0, 1.0, {}), ("a.py", 2, "main"): (1, 1, 1.0, 2.0, {})}))
write("times_overflow.prof", marshal.dumps({("a.py", i, "f%d" % i): (1, 1, 1e308, 1e308, {}) for i in range(3)}))
key = b")\x03" + z("a.py") + b"i" + i32(1) + b"u" + i32(4) + b"caf\xe9"
write("invalid_utf8_name.prof", b"{" + key + b")\x05" + b"i" + i32(1) + b"i" + i32(1) + b"g" + struct.pack("<d", 1.0) + b"g" + struct.pack("<d", 1.0) + b"{0" + b"0")
# Five code objects, each holding the next in a small tuple that every layout finds
# where it expects the bytecode, around a list of 900,000 Nones: each layout of each
# level reads everything inside before it fails, so retries re-read the file.
code = b"[" + i32(900_000) + b"N" * 900_000
for level in range(5):
    code = b"c" + i32(0) * 4 + b")\x03NN)\x03NN)\x01" + code
write("nested_code_filler.prof", b"{" + b")\x03" + z("a") + b"i" + i32(0) + code + b"N0")
# Collapsed stacks (text): one line of 450,000 frames, a 900 KB frame name, 40,000
# distinct one-frame stacks, a deep chain of distinct functions, and a count of 2^64-1.
write("folded_one_line_450k_frames.folded", ("a;" * 450_000 + "b 7\n").encode())
write("folded_huge_name.folded", ("x" * 900_000 + ";y 1\n").encode())
write("folded_40k_stacks.folded", "".join("main;f%d 1\n" % i for i in range(40_000)).encode())
write("folded_deep_distinct.folded", (";".join("m.py:%d:f%d" % (i, i) for i in range(50_000)) + " 1\n").encode())
write("folded_max_count.folded", b"a;b 18446744073709551615\na;c 18446744073709551615\n")
print(OUT)
