#!/usr/bin/env bash
# Create bench/out/venv (Python 3.11) with flameprof 0.4 and the packages the
# real workloads need. Idempotent: re-running only checks the pins.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/bench/out/venv"
py="${PYTHON:-python3}"
mkdir -p "$root/bench/out"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
ver="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$ver" != "3.11" ]; then
  echo "warning: venv Python is $ver, the benchmark is calibrated for 3.11" >&2
fi
fix_wrapper() {
  # flameprof 0.4 installs bin/flameprof as 'exec python -m flameprof', which
  # runs whatever python is first on PATH; point it at the venv's own.
  if [ -f "$venv/bin/flameprof" ] && grep -q '^exec python -m flameprof' "$venv/bin/flameprof"; then
    printf '#!/bin/sh\nexec "%s" -m flameprof "$@"\n' "$venv/bin/python" > "$venv/bin/flameprof"
    chmod +x "$venv/bin/flameprof"
  fi
}
stamp="$venv/.requirements.sha"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  fix_wrapper
  echo "venv up to date: $venv"
  exit 0
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fix_wrapper
echo "$want" > "$stamp"
echo "venv ready: $venv"
"$venv/bin/python" -m pip list --disable-pip-version-check --format=freeze
