#!/usr/bin/env bash
# Regenerates the screenshots in docs/: the first screen of the SVG of four real
# profiles, as a browser window of 1400x1000 opens them (headless Chromium, scrollbars
# hidden), to check that the roots and the widest frames show, labelled, without
# scrolling. The README shows docs/screenshot-pip_list.png.
#   docs/screenshot-pip_list.png  tests/data/real/pip_list.prof (`pip list`)
#   docs/screenshot-pygments.png  tests/data/real/pygments.prof (73 levels deep)
#   docs/screenshot-sympy.png     tests/data/real/sympy.prof
#   docs/screenshot-pytest.png    a pytest run of bench/svg/pytest_suite, profiled here
#                                 (python3 -m cProfile -m pytest; needs pytest)
#   docs/screenshot-diff.png      flameprof diff of bench/svg/cache_demo.py profiled here
#                                 without and with its cache (the README's diff picture)
#   bench/svg/screenshot.sh [extra flameprof options]
# The PNGs are reduced to 256 colours with pngquant when it is installed (apt-get install
# pngquant): a third of the size, no visible change.
set -euo pipefail
cd "$(dirname "$0")/../.."
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SIZE=${SIZE:-1400,1000}
OUT=bench/out/svg
mkdir -p "$OUT" docs
cargo build --quiet
FLAMEPROF=${CARGO_TARGET_DIR:-target}/debug/flameprof

python3 -m cProfile -o "$OUT/pytest.prof" -m pytest -q -p no:cacheprovider \
  bench/svg/pytest_suite >/dev/null
python3 -m cProfile -o "$OUT/before.prof" bench/svg/cache_demo.py >/dev/null
python3 -m cProfile -o "$OUT/after.prof" bench/svg/cache_demo.py --cache >/dev/null

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
shot() { # name profile title [NEW profile: a diff against it]
  if [ $# -gt 3 ]; then
    "$FLAMEPROF" diff "$2" "$4" --title "$3" "${EXTRA[@]}" -o "$OUT/$1.svg"
  else
    "$FLAMEPROF" "$2" --title "$3" "${EXTRA[@]}" -o "$OUT/$1.svg"
  fi
  local png="$PWD/docs/screenshot-$1.png"
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --disable-sync --hide-scrollbars \
    --user-data-dir="$profile" --window-size="$SIZE" --screenshot="$png" \
    "file://$PWD/$OUT/$1.svg" 2>/dev/null
  if command -v pngquant >/dev/null; then
    pngquant --force --skip-if-larger --strip --output "$png" 256 "$png" || true
  fi
  ls -l "$png"
}
EXTRA=("$@")
shot pip_list tests/data/real/pip_list.prof "pip list, profiled with cProfile"
shot pygments tests/data/real/pygments.prof "pygments highlighting a large file"
shot sympy tests/data/real/sympy.prof "sympy: symbolic integration and series"
shot pytest "$OUT/pytest.prof" "pytest running bench/svg/pytest_suite"
shot diff "$OUT/before.prof" "cache_demo.py: before and after an lru_cache on the date parser" "$OUT/after.prof"
