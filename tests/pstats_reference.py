"""Reference output for tests/stats.rs: what CPython's own pstats prints.

Usage: python3 pstats_reference.py OUTDIR KEYS VIEW_KEYS FILE...

For each FILE pstats can read, writes OUTDIR/<n>.<key>.<view>.txt for every sort key
in KEYS (comma-separated) with print_stats, and for every key of VIEW_KEYS with
print_callers and print_callees, and prints one
tab-separated line per output: FILE, key, view, path. Files pstats refuses are
printed as SKIP lines with the reason.

The stats dict (and every callers dict) is first put in key order: pstats sorts
stably on dict order, flameprof's model is sorted by (file, line, name), so this is
the order in which both break ties. The 'ctime    path' line print_stats starts
with (and the blank line after it) is dropped: flameprof does not print it.
"""
import io
import pstats
import sys

outdir, keys, view_keys, files = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), sys.argv[4:]
for n, path in enumerate(files):
    try:
        st = pstats.Stats(path, stream=io.StringIO())
        st.stats = dict(sorted(st.stats.items()))
        for k, v in st.stats.items():
            callers = v[4]
            if isinstance(callers, dict):
                st.stats[k] = v[:4] + (dict(sorted(callers.items())),)
    except Exception as e:  # pstats refuses the file, or its keys do not sort
        print("SKIP\t%s\t%s: %s" % (path, type(e).__name__, e))
        continue
    jobs = [(k, "stats") for k in keys] + [(k, v) for k in view_keys for v in ("callers", "callees")]
    for key, view in jobs:
        if True:
            buf = io.StringIO()
            st.stream = buf
            st.all_callees = None
            try:
                st.sort_stats(key)
                getattr(st, "print_" + view)()
            except Exception as e:
                print("SKIP\t%s\t%s %s %s: %s" % (path, key, view, type(e).__name__, e))
                continue
            text = buf.getvalue()
            if view == "stats":
                first, rest = text.split("\n", 1)
                assert path in first, first
                assert rest.startswith("\n"), rest[:40]
                text = rest[1:]
            out = "%s/%d.%s.%s.txt" % (outdir, n, key, view)
            with open(out, "w", encoding="utf-8", errors="surrogatepass") as f:
                f.write(text)
            print("%s\t%s\t%s\t%s" % (path, key, view, out))
