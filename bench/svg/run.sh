#!/usr/bin/env bash
# Benchmark (not a test): size and load time in headless Chromium of the SVG of
# tests/data/real/pylint.prof, next to flameprof 0.4's SVG and inferno-flamegraph's SVG
# of our `-f log` output of the same file.
#
#   bench/svg/run.sh                # RUNS=9 loads of each file, interleaved; medians
#   THRESHOLD=0 bench/svg/run.sh    # every frame (flameprof 0.4 is left out: it does not
#                                   # finish at threshold 0)
#
# Needs: chromium (CHROMIUM=/usr/bin/chromium), python3 (a venv with flameprof==0.4 is
# made under bench/out/), inferno-flamegraph (INFERNO=..., else PATH, else it is
# `cargo install`ed under bench/out/inferno, a few minutes of CPU once).
# "Load" is the time from inserting an <iframe> with the SVG into a blank page to the
# iframe's load event: parsing, building the DOM and every load-time script (inferno
# and flamegraph.pl fit their labels in an onload handler; flameprof's script runs at
# the end of parsing); "+ layout" then forces style and layout of the picture (what a
# first paint needs). Medians of RUNS fresh browsers per file. Frames are the boxes in the file; bytes/frame is the whole file
# (script, style, data included) divided by them.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=bench/out/svg
mkdir -p "$OUT"
PROF=tests/data/real/pylint.prof
RUNS=${RUNS:-9}
THRESHOLD=${THRESHOLD:-0.1}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

cargo build --release --quiet
FLAMEPROF=target/release/flameprof

if ! bench/out/venv/bin/python -c 'import flameprof' 2>/dev/null; then
  python3 -m venv bench/out/venv
  bench/out/venv/bin/pip install -q flameprof==0.4
fi
if [ -z "${INFERNO:-}" ]; then
  if [ -x bench/out/inferno/bin/inferno-flamegraph ]; then
    INFERNO=bench/out/inferno/bin/inferno-flamegraph
  elif command -v inferno-flamegraph >/dev/null; then
    INFERNO=$(command -v inferno-flamegraph)
  else
    nice cargo install --quiet --root bench/out/inferno inferno
    INFERNO=bench/out/inferno/bin/inferno-flamegraph
  fi
fi

"$FLAMEPROF" --threshold "$THRESHOLD" "$PROF" -o "$OUT/flameprof.svg" 2>/dev/null
"$FLAMEPROF" --threshold "$THRESHOLD" --flame-only "$PROF" -o "$OUT/flameprof-flame.svg" 2>/dev/null
"$FLAMEPROF" --threshold "$THRESHOLD" -f log "$PROF" 2>/dev/null | "$INFERNO" > "$OUT/inferno.svg"
NAMES="flameprof flameprof-flame inferno"
if [ "$THRESHOLD" != 0 ]; then
  bench/out/venv/bin/python -m flameprof --threshold "$THRESHOLD" "$PROF" > "$OUT/flameprof04.svg" 2>/dev/null
  NAMES+=" flameprof04"
fi

frames() {
  case "$1" in
    flameprof | flameprof-flame) grep -o ' tabindex="0" aria-label="' "$OUT/$1.svg" | wc -l ;;
    inferno) grep -o ' fg:w="' "$OUT/$1.svg" | wc -l ;;
    flameprof04) grep -o 'class="func_g"' "$OUT/$1.svg" | wc -l ;;
  esac
}

for name in $NAMES; do
  cat > "$OUT/load-$name.html" <<HTML
<!doctype html><html><body style="margin:0"><script>
var t0 = performance.now(), f = document.createElement('iframe');
f.style.cssText = 'width:1280px;height:900px;border:0';
f.onload = function () {
  var t1 = performance.now(), inner = '';
  try { inner = f.contentDocument.documentElement.getAttribute('data-ready-ms') || ''; } catch (e) {}
  try { f.contentDocument.documentElement.getBoundingClientRect(); } catch (e) {}
  var t2 = performance.now();
  document.body.setAttribute('data-load-ms', (t1 - t0).toFixed(1));
  document.body.setAttribute('data-layout-ms', (t2 - t0).toFixed(1));
  document.body.setAttribute('data-inner-ready-ms', inner);
};
f.src = '$name.svg';
document.body.appendChild(f);
</script></body></html>
HTML
done

load_once() {
  local profile dom
  profile=$(mktemp -d)
  dom=$(timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --disable-sync --allow-file-access-from-files \
    --window-size=1300,1000 --user-data-dir="$profile" --dump-dom "file://$PWD/$OUT/load-$1.html" 2>/dev/null)
  rm -rf "$profile"
  sed -n 's/.*data-load-ms="\([0-9.]*\)".*data-layout-ms="\([0-9.]*\)".*/\1,\2/p' <<<"$dom"
}

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

declare -A loads layouts
for ((r = 1; r <= RUNS; r++)); do
  for name in $NAMES; do
    IFS=, read -r load layout <<<"$(load_once $name)"
    loads[$name]+="$load "
    layouts[$name]+="$layout "
  done
done

{
  echo "$(date -u +%Y-%m-%d) $(uname -m), $(nproc) cores, $("$CHROMIUM" --version 2>/dev/null | head -1), RUNS=$RUNS, --threshold $THRESHOLD"
  printf '| %-15s | %9s | %6s | %11s | %8s | %15s |\n' file bytes frames bytes/frame "load ms" "+ layout ms"
  printf '|%s|%s|%s|%s|%s|%s|\n' ----------------- ----------- -------- ------------- ---------- -----------------
  for name in $NAMES; do
    bytes=$(stat -c %s "$OUT/$name.svg")
    n=$(frames $name)
    load=$(tr ' ' '\n' <<<"${loads[$name]}" | grep . | median)
    layout=$(tr ' ' '\n' <<<"${layouts[$name]}" | grep . | median)
    printf '| %-15s | %9d | %6d | %11d | %8s | %15s |\n' "$name" "$bytes" "$n" $((bytes / n)) "$load" "$layout"
  done
} | tee "$OUT/results-$THRESHOLD.txt"
