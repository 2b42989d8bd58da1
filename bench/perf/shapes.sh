#!/usr/bin/env bash
# No quadratic step: times flameprof on the shapes that expose one, at 10k and 100k, and
# prints the cost of 10x the size (linear work gives about 10x; quadratic, 100x).
#   chain      a 10k / 100k-deep call stack (f0 -> f1 -> ...)
#   recursive  one function recursing 10k / 100k deep, and a mutual recursion as deep
#   fanin      10k / 100k callers of one shared function
# Each cell: median of 3 runs (CPU seconds, user + system: the machine may be shared) and peak RSS, `-f svg` at the
# default threshold and at --threshold 0 (every frame kept, up to the frame budget).
#
# usage: bash bench/perf/shapes.sh   (after cargo build --release; writes bench/out/shapes)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${FLAMEPROF:-$repo/target/release/flameprof}
out=$repo/bench/out/shapes
mkdir -p "$out"
run() {  # run FILE ARGS... -> "cpu-seconds peak-MB": median of 3 runs, each in its own process
  python3 - "$bin" "$@" <<'PY'
import os, resource, subprocess, sys
bin_, f, args = sys.argv[1], sys.argv[2], sys.argv[3:]
runs = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)  # at --threshold 0 the frame budget warns; expected
        os.execv(bin_, [bin_, *args, f])
    _, status, ru = os.wait4(pid, 0)
    runs.append((ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024))
runs.sort()
print(f"{runs[1][0]:.3f} {runs[1][1]:.0f}")
PY
}
echo "| shape | threshold | 10k: CPU s | 10k: MB | 100k: CPU s | 100k: MB | 100k / 10k time |"
echo "|---|---|---:|---:|---:|---:|---:|"
for shape in chain recursive fanin; do
  for n in 10000 100000; do
    f=$out/${shape}_$n.prof
    [ -f "$f" ] || python3 "$here/gen_profile.py" --shape "$shape" --depth "$n" -o "$f" 2>/dev/null
  done
  for th in default 0; do
    args=(-f svg)
    [ "$th" = 0 ] && args+=(--threshold 0)
    read -r s1 m1 <<<"$(run "$out/${shape}_10000.prof" "${args[@]}")"
    read -r s2 m2 <<<"$(run "$out/${shape}_100000.prof" "${args[@]}")"
    ratio=$(awk -v a="$s1" -v b="$s2" 'BEGIN { printf "%.1fx", (a > 0 ? b / a : 0) }')
    echo "| $shape | $th | $s1 | $m1 | $s2 | $m2 | $ratio |"
  done
done
