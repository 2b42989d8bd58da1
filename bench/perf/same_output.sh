#!/usr/bin/env bash
# Compare every format of two flameprof binaries on the fixtures (and optional extra
# files): prints DIFF lines and exits 1 on any difference. Used to check that a speed
# change leaves outputs byte-identical.
#   bench/perf/same_output.sh OLD_BINARY NEW_BINARY [extra.prof ...]
set -u
old="$1"; new="$2"; shift 2
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bad=0; n=0
for f in "$root"/tests/data/real/*.prof "$root"/tests/data/pstats/*.prof "$@"; do
  for fmt in svg log json text stats; do
    for extra in "" "--threshold 0"; do
      a="$("$old" -f "$fmt" $extra "$f" 2>&1; echo "rc=$?")"
      b="$("$new" -f "$fmt" $extra "$f" 2>&1; echo "rc=$?")"
      n=$((n+1))
      if [ "$a" != "$b" ]; then echo "DIFF: $fmt $extra $f"; bad=1; fi
    done
  done
done
echo "$n comparisons, $([ $bad = 0 ] && echo identical || echo DIFFERENCES)"
exit $bad
