#!/usr/bin/env bash
# Fingerprints what a binary writes for every bundled profile: stdout, stderr and exit
# status of every format at the default threshold and at --threshold 0, one md5 line per
# run. Two binaries that print the same file write the same bytes:
#   BIN=old/flameprof bench/identity.sh > old.md5; bench/identity.sh > new.md5
#   diff old.md5 new.md5
# Set EXTRA to a folder of more .prof files (e.g. ../shared/fixtures) to include them.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/flameprof}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
files=(tests/data/pstats/*.prof tests/data/real/*.prof)
if [ -n "${EXTRA:-}" ]; then
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$EXTRA" -name '*.prof' -print0 | sort -z)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "${files[@]}"; do
  for fmt in $("$BIN" --list-formats | awk '{print $1}'); do
    for threshold in 0.1 0; do
      status=0
      "$BIN" -f "$fmt" --threshold "$threshold" "$f" >"$tmp/out" 2>"$tmp/err" || status=$?
      printf '%s %s %s %s %s %s\n' "$(md5sum <"$tmp/out" | cut -c1-32)" \
        "$(md5sum <"$tmp/err" | cut -c1-32)" "$status" "$fmt" "$threshold" "$f"
    done
  done
done
