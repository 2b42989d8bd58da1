#!/usr/bin/env bash
# The `pip install .` path, as a user would take it: a throwaway virtual environment,
# pip builds the wheel with maturin (fetched from PyPI as the build backend), the
# installed `flameprof` renders a fixture and, run by its path with the venv not
# activated, profiles a script with the venv's Python; the man page and completions
# land in the venv's share/; then `pip uninstall` removes them all. Prints how long
# it took.
#
# The venv is made with a Python other than PATH's python3 when there is one (the
# oldest of pyenv's that pyproject's requires-python allows, which also checks that
# floor), and a fake python3 that fails comes first on PATH while the script runs.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "pip-install-check: $*" >&2; exit 1; }
start=$(date +%s)

version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }
path_version=$(version python3)
python=${PYTHON:-}
if [ -z "$python" ]; then
  python=python3
  floor=$(sed -n 's/^requires-python = ">=\([0-9.]*\)"$/\1/p' pyproject.toml)
  for minor in $(seq "${floor#3.}" 13); do
    for cand in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3."$minor".*/bin/python3; do
      [ -x "$cand" ] && [ "$(version "$cand")" != "$path_version" ] || continue
      "$cand" -c 'import venv, ensurepip' 2>/dev/null || continue
      python=$cand
      break 2
    done
  done
fi
venv_version=$(version "$python")
echo "pip-install-check: venv made with Python $venv_version ($python), PATH's python3 is $path_version"

"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q .
fp="$tmp/venv/bin/flameprof"
[ -x "$fp" ] || fail "pip install did not put flameprof in the venv's bin/"
"$fp" --version

"$fp" -o "$tmp/small.svg" tests/data/pstats/real_cprofile_small_py311.prof
grep -q '<svg' "$tmp/small.svg" || fail "no SVG from the fixture"
"$fp" -f log tests/data/pstats/real_cprofile_small_py311.prof | grep -q ';' || fail "no folded stacks"

# Not activated, as tox, make or an IDE run it: `flameprof run` uses the venv's
# Python, not the python3 on PATH (a fake one that fails, first on PATH).
mkdir "$tmp/fake"
printf '#!/bin/sh\necho "the python3 on PATH ran" >&2\nexit 1\n' > "$tmp/fake/python3"
chmod +x "$tmp/fake/python3"
printf 'import sys\nprint("%%s %%d.%%d" %% (sys.prefix, sys.version_info[0], sys.version_info[1]))\n' > "$tmp/where.py"
got=$(env -u VIRTUAL_ENV PATH="$tmp/fake:$PATH" "$fp" run -o "$tmp/where.svg" "$tmp/where.py")
[ "$got" = "$tmp/venv $venv_version" ] || fail "run used '$got', not the venv's Python $venv_version"
grep -q '<svg' "$tmp/where.svg" || fail "no SVG from flameprof run"

# The man page and completions, in the venv's share/ (maturin's data directory).
share="$tmp/venv/share"
for f in man/man1/flameprof.1 man/man1/flameprof-run.1 bash-completion/completions/flameprof \
  zsh/site-functions/_flameprof fish/vendor_completions.d/flameprof.fish; do
  [ -s "$share/$f" ] || fail "pip install did not put $f in the venv's share/"
done
cmp -s "$share/man/man1/flameprof.1" <("$fp" man) || fail "the installed man page is not flameprof man's"

"$tmp/venv/bin/python" -m pip uninstall -y -q flameprof-rs
[ ! -e "$fp" ] || fail "pip uninstall left $fp behind"
[ ! -e "$share/man/man1/flameprof.1" ] || fail "pip uninstall left the man page behind"

echo "pip-install-check: ok in $(( $(date +%s) - start )) s"
