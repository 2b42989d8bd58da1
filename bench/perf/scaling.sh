#!/usr/bin/env bash
# Linear scaling, measured side by side: times the 100k- and 1M-edge generated profiles
# back to back with hyperfine, ROUNDS times over, for each binary given, alternating the
# binaries, and prints each round's medians and their ratio (aimed at: 10x the edges for
# at most 12x the time). One compare.sh run gives one 5-run median per size, which moves
# with the machine by more than the code changes it; alternating rounds of several
# binaries show what the code changed.
#
#   bash bench/perf/scaling.sh                      # the release build
#   bash bench/perf/scaling.sh OLD_BINARY NEW_BINARY
#   RUNS=10 ROUNDS=4 FORMAT=log bash bench/perf/scaling.sh
#
# Needs hyperfine and python3; makes the generated profiles like compare.sh does.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
runs="${RUNS:-10}"
rounds="${ROUNDS:-4}"
format="${FORMAT:-svg}"
out=bench/out/perf
mkdir -p "$out"
command -v hyperfine >/dev/null || { echo "scaling.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
if [ $# -eq 0 ]; then
  cargo build --release --quiet
  set -- "$root/target/release/flameprof"
fi
for n in 100000 1000000; do
  [ -f "$out/gen_$n.prof" ] || python3 bench/perf/gen_profile.py --edges "$n" -o "$out/gen_$n.prof"
done
echo "| round | binary | 100k edges (median) | 1M edges (median) | 1M / 100k |"
echo "|---:|---|---:|---:|---:|"
for round in $(seq "$rounds"); do
  for bin in "$@"; do
    json="$out/scaling.json"
    hyperfine -N --style none --warmup 2 --runs "$runs" --export-json "$json" \
      "$bin -f $format $out/gen_100000.prof" "$bin -f $format $out/gen_1000000.prof" >/dev/null 2>&1
    python3 - "$json" "$round" "$bin" <<'PY'
import json, sys
small, big = json.load(open(sys.argv[1]))["results"]
a, b = small["median"], big["median"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {a * 1000:.1f} ms | {b * 1000:.0f} ms | {b / a:.2f}x |")
PY
  done
done
