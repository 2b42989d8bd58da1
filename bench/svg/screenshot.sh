#!/usr/bin/env bash
# Regenerates docs/screenshot.png: the SVG of a real profile (tests/data/real/pylint.prof)
# in headless Chromium, with a search applied through the URL, as the README shows it.
#   bench/svg/screenshot.sh [extra flameprof options]
set -euo pipefail
cd "$(dirname "$0")/../.."
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
OUT=bench/out/svg
mkdir -p "$OUT" docs
cargo build --quiet
target/debug/flameprof tests/data/real/pylint.prof --title "pylint, profiled with cProfile" \
  --subtitle "flameprof: flame graph above, self time by caller below" "$@" -o "$OUT/screenshot.svg"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --no-first-run --disable-sync --hide-scrollbars --user-data-dir="$profile" \
  --window-size=1280,1100 --screenshot="$PWD/docs/screenshot.png" \
  "file://$PWD/$OUT/screenshot.svg#s=get_ast" 2>/dev/null
ls -l docs/screenshot.png
