#!/usr/bin/env bash
# The `pip install .` path, as a user would take it: a throwaway virtual environment,
# pip builds the wheel with maturin (fetched from PyPI as the build backend), the
# installed `flameprof` renders a fixture and profiles a script with the venv's
# Python, then `pip uninstall` removes the binary. Prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "pip-install-check: $*" >&2; exit 1; }
start=$(date +%s)

"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q .
fp="$tmp/venv/bin/flameprof"
[ -x "$fp" ] || fail "pip install did not put flameprof in the venv's bin/"
"$fp" --version

"$fp" -o "$tmp/small.svg" tests/data/pstats/real_cprofile_small_py311.prof
grep -q '<svg' "$tmp/small.svg" || fail "no SVG from the fixture"
"$fp" -f log tests/data/pstats/real_cprofile_small_py311.prof | grep -q ';' || fail "no folded stacks"

# With the venv active, `flameprof run` uses the venv's interpreter.
printf 'import sys\nprint(sys.prefix)\n' > "$tmp/where.py"
prefix=$(VIRTUAL_ENV="$tmp/venv" "$fp" run -o "$tmp/where.svg" "$tmp/where.py")
[ "$prefix" = "$tmp/venv" ] || fail "run used $prefix, not the venv"
grep -q '<svg' "$tmp/where.svg" || fail "no SVG from flameprof run"

"$tmp/venv/bin/python" -m pip uninstall -y -q flameprof-rs
[ ! -e "$fp" ] || fail "pip uninstall left $fp behind"

echo "pip-install-check: ok in $(( $(date +%s) - start )) s"
