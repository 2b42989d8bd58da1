"""Reference output for tests/stats.rs: what CPython's own pstats prints.

Usage: python3 pstats_reference.py OUTDIR KEYS FILE...

For each FILE pstats can read, writes OUTDIR/<n>.<key>.<view>.txt for every sort key
in KEYS (comma-separated; `none` for no sort at all: `sort_stats()`, the dict's own
order) and every view (print_stats, print_callers, print_callees), and prints one
tab-separated line per output: FILE, key, view, path. Files pstats refuses are printed
as SKIP lines with the reason. A FILE `a+b+c` is the three files merged as
`python -m pstats a b c` merges them: Stats(a), then .add(b), then .add(c).

The stats dict is used as marshal read it, in the file's order: ties between rows,
and the order of an unsorted report, are the dict's order, which flameprof keeps.
The 'ctime    path' line print_stats starts with (and the blank line after it) is
dropped: flameprof does not print it.
"""
import io
import pstats
import sys

outdir, keys, files = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
for n, path in enumerate(files):
    try:
        parts = path.split("+")
        st = pstats.Stats(parts[0], stream=io.StringIO())
        for part in parts[1:]:
            st.add(part)
    except Exception as e:  # pstats refuses the file
        print("SKIP\t%s\t%s: %s" % (path, type(e).__name__, e))
        continue
    for key in keys:
        for view in ("stats", "callers", "callees"):
            buf = io.StringIO()
            st.stream = buf
            try:
                if key == "none":
                    st.sort_stats()
                else:
                    st.sort_stats(key)
                getattr(st, "print_" + view)()
            except Exception as e:
                print("SKIP\t%s\t%s %s %s: %s" % (path, key, view, type(e).__name__, e))
                continue
            text = buf.getvalue()
            if view == "stats":
                lines = text.split("\n", len(parts) + 1)
                assert all(p in line for p, line in zip(parts, lines)), lines
                assert lines[len(parts)] == "", lines[len(parts)][:40]
                text = lines[len(parts) + 1]
            out = "%s/%d.%s.%s.txt" % (outdir, n, key, view)
            with open(out, "w", encoding="utf-8", errors="surrogatepass") as f:
                f.write(text)
            print("%s\t%s\t%s\t%s" % (path, key, view, out))
