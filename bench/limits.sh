#!/usr/bin/env bash
# Runs the release binary on every fixture, every hostile file of bench/hostile.py and
# (if present) every file of the fuzz corpora, in every format at --threshold
# $THRESHOLD (default 0: the worst case; the usual default is 0.1), under /usr/bin/time -v,
# and reports the worst peak RSS and wall time. Files over 1 MB are skipped (the bound
# is for hostile files under 1 MB). Exit status 1 if any run crashed (signal), went
# over LIMIT_MB (default 100) or over LIMIT_S seconds (default 1).
#   bench/limits.sh            # build --release first
#   FORMATS="svg log" bench/limits.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/flameprof}
LIMIT_MB=${LIMIT_MB:-100}
LIMIT_S=${LIMIT_S:-1}
THRESHOLD=${THRESHOLD:-0}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
python3 bench/hostile.py bench/out/hostile >/dev/null
FORMATS=${FORMATS:-$("$BIN" --list-formats | awk '{print $1}')}
out=bench/out/limits.tsv
: > "$out"
files=(tests/data/pstats/*.prof tests/data/real/*.prof tests/data/collapsed/*.txt bench/out/hostile/*.prof bench/out/hostile/*.folded)
for d in fuzz/corpus/marshal fuzz/corpus/pipeline fuzz/corpus/collapsed fuzz/artifacts/marshal fuzz/artifacts/pipeline fuzz/artifacts/collapsed; do
  [ -d "$d" ] && while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$d" -type f -print0)
done
bad=0
n=0
for f in "${files[@]}"; do
  # (a running fuzzer removes corpus files as it reduces them)
  size=$(stat -c %s "$f" 2>/dev/null) || continue
  [ "$size" -le 1048576 ] || continue
  for fmt in $FORMATS; do
    /usr/bin/time -f "%M %e %x" -o bench/out/time.txt "$BIN" -f "$fmt" --threshold "$THRESHOLD" "$f" >/dev/null 2>&1 || true
    read -r rss_kb secs status < <(tail -1 bench/out/time.txt | sed 's/Command terminated by signal /signal /;s/Command exited with non-zero status //')
    printf '%s\t%s\t%s\t%s\t%s\n' "$rss_kb" "$secs" "$fmt" "$f" "$status" >> "$out"
    n=$((n + 1))
  done
done
# A crash shows as a status above 1 (a panic aborts: 134).
awk -F'\t' -v mb="$LIMIT_MB" -v s="$LIMIT_S" '
  { if ($1 > max_rss) { max_rss = $1; rss_at = $3 " " $4 }
    if ($2 > max_t) { max_t = $2; t_at = $3 " " $4 }
    if ($1 > mb * 1024 || $2 > s || $5 > 2) { print "OVER/CRASH: " $0; over++ } }
  END { printf "runs: %d\nmax RSS: %.1f MB (%s)\nmax time: %.2f s (%s)\n", NR, max_rss / 1024, rss_at, max_t, t_at
        exit over > 0 }' "$out" || bad=1
echo "all runs: $out (rss_kb, seconds, format, file, exit status)"
exit $bad
