"""Merging many profiles, side by side: flameprof, a previous flameprof binary, and
`pstats.Stats(*files)` (loading and merging only), with the merged profile alone as
the measure of memory. Writes a Markdown table to standard output.

    python3 bench/fleet/compare.py [--prev BIN] [--runs N] [--bin BIN]

Inputs (made under bench/out/fleet/ if missing): 300 copies of
tests/data/real/pip_list.prof, and 1,000 varied profiles of bench/fleet/gen_varied.py.
Each figure is the median of N runs (default 5) of `/usr/bin/time -f "%e %M"`: wall
seconds and peak resident memory. flameprof renders `-f text` to /dev/null from the
directory; the previous binary, which reads no directory, gets the files as arguments.
"""

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "bench", "out", "fleet")


def timed(cmd, runs):
    walls, peaks = [], []
    for _ in range(runs):
        r = subprocess.run(
            ["/usr/bin/time", "-f", "%e %M"] + cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if r.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd[:3])} ...\n{r.stderr}")
        wall, peak = r.stderr.strip().splitlines()[-1].split()
        walls.append(float(wall))
        peaks.append(int(peak) / 1024)
    return statistics.median(walls), statistics.median(peaks)


def inputs():
    copies = os.path.join(OUT, "copies300")
    if not os.path.isdir(copies):
        os.makedirs(copies)
        for i in range(300):
            shutil.copy(
                os.path.join(ROOT, "tests/data/real/pip_list.prof"),
                os.path.join(copies, f"pip_list-{i:03d}.prof"),
            )
    varied = os.path.join(OUT, "varied1000")
    if not os.path.isdir(varied):
        subprocess.run(
            [sys.executable, os.path.join(ROOT, "bench/fleet/gen_varied.py"), varied, "1000"],
            check=True,
        )
    return [("300 copies of pip_list", copies), ("1,000 varied profiles", varied)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/flameprof"))
    ap.add_argument("--prev")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(
        "| inputs | total size | pstats.Stats(*files) | previous flameprof | flameprof "
        "| vs pstats | merged profile alone | memory vs alone |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, folder in inputs():
        files = sorted(glob.glob(os.path.join(folder, "*.prof")))
        size = sum(os.path.getsize(f) for f in files) / 1e6
        merged = os.path.join(OUT, os.path.basename(folder) + "-merged.prof")
        pstats_cmd = [
            sys.executable,
            "-c",
            "import glob, pstats, sys; "
            "s = pstats.Stats(*sorted(glob.glob(sys.argv[1] + '/*.prof'))); "
            "s.dump_stats(sys.argv[2]) if len(sys.argv) > 2 else None",
            folder,
        ]
        subprocess.run(pstats_cmd + [merged], check=True)
        py = timed(pstats_cmd, args.runs)
        ours = timed([args.bin, "-f", "text", folder, "-o", "/dev/null"], args.runs)
        alone = timed([args.bin, "-f", "text", merged, "-o", "/dev/null"], args.runs)
        prev = "–"
        if args.prev:
            t = timed([args.prev, "-f", "text", "-o", "/dev/null"] + files, args.runs)
            prev = f"{t[0]:.2f} s, {t[1]:.0f} MB"
        print(
            f"| {name} | {size:.0f} MB | {py[0]:.2f} s, {py[1]:.0f} MB | {prev} "
            f"| {ours[0]:.2f} s, {ours[1]:.0f} MB | {py[0] / ours[0]:.0f}× "
            f"| {alone[1]:.0f} MB | {ours[1] / alone[1]:.2f}× |"
        )


if __name__ == "__main__":
    main()
