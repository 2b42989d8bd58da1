#!/usr/bin/env bash
# The Linux wheel (this machine's architecture) and the sdist a package index would
# get, as the release workflow builds them (.github/workflows/release.yml runs this
# script): maturin and twine in a throwaway venv, the binary linked statically against
# glibc so that the wheel meets manylinux_2_17 (maturin's own audit of pyproject's
# `compatibility` refuses a wheel needing a newer glibc), then `twine check --strict`
# on both. The cargo build shares target/static with .ci/run's static build, so one
# of them is a no-op. With DIST=DIR the wheel and sdist are kept in DIR. Prints how
# long it took.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=$(uname -m)
if [ "$(uname -s)" != Linux ] || ! ldd --version 2>&1 | grep -i 'glibc\|gnu libc' >/dev/null; then
  echo "wheel-check: skipped (builds the glibc Linux wheel only)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "wheel-check: $*" >&2; exit 1; }
start=$(date +%s)

python3 -m venv "$tmp/tools"
"$tmp/tools/bin/python" -m pip install -q maturin==1.16.0 twine==7.0.0
out="$tmp/dist"
RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=target/static \
  "$tmp/tools/bin/maturin" build --quiet --release --target "$arch-unknown-linux-gnu" -o "$out"
"$tmp/tools/bin/maturin" sdist -o "$out"

wheel=$(echo "$out"/*.whl)
sdist=$(echo "$out"/*.tar.gz)
case "$wheel" in
  *-py3-none-manylinux2014_"$arch".manylinux_2_17_"$arch".whl) ;;
  *) fail "unexpected wheel name: $wheel" ;;
esac
# What the wheel holds: the binary, linked with no shared library (so no glibc symbol
# version to outgrow), and the man page and completions of packaging/wheel/.
"$tmp/tools/bin/python" - "$wheel" "$tmp/unpacked" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
data = [n.split(".data/", 1)[1] for n in names if ".data/" in n]
for want in ["scripts/flameprof", "data/share/man/man1/flameprof.1",
             "data/share/bash-completion/completions/flameprof",
             "data/share/zsh/site-functions/_flameprof",
             "data/share/fish/vendor_completions.d/flameprof.fish"]:
    if want not in data:
        sys.exit("wheel-check: the wheel lacks %s (has %s)" % (want, data))
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
bin=$(echo "$tmp"/unpacked/*.data/scripts/flameprof)
ldd "$bin" 2>&1 | grep 'statically linked' >/dev/null || fail "the wheel's binary is not static"
# The sdist carries what a build from it needs, the data directory included.
tar tzf "$sdist" | grep '/packaging/wheel/data/share/man/man1/flameprof.1$' >/dev/null \
  || fail "the sdist lacks packaging/wheel/"
"$tmp/tools/bin/twine" check --strict "$wheel" "$sdist"

if [ -n "${DIST:-}" ]; then
  mkdir -p "$DIST"
  cp "$wheel" "$sdist" "$DIST"/
fi
echo "wheel-check: $(basename "$wheel") ok in $(( $(date +%s) - start )) s"
