#!/usr/bin/env bash
# What the import nesting is worth: draws every real workload with the true importing
# body of each module body given (an oracle the file does not hold), and scores it next
# to the normal drawing. If even the true nesting leaves most of the error, the error is
# elsewhere (in how shared helpers split their time between contexts).
#
# Needs a run of run.py (bench/out/data/real) and of nesting.py (bench/out/oracle).
# Builds a patched copy of HEAD (oracle.patch: the nesting is read from the file named
# by FLAMEPROF_ORACLE instead of fitted) in a temporary worktree; the product never
# reads that variable.
#
# usage: bash bench/fidelity/oracle.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo/bench/out
truth=${FLAMEPROF_TRUTH:-$repo/../shared/truth}
[ -d "$out/oracle" ] || { echo "oracle.sh: run bench/fidelity/nesting.py first" >&2; exit 1; }
wt=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$wt" >/dev/null 2>&1 || true' EXIT
git -C "$repo" worktree add --detach -q "$wt" HEAD
git -C "$wt" apply "$here/oracle.patch"
cargo build -q --release --manifest-path "$wt/Cargo.toml" --target-dir "$out/oracle-target"
bin=$out/oracle-target/release/flameprof
score() { python3 "$truth/fidelity.py" "$1" "$2" | tr ' ' '\n' | sed -n "s/^$3=//p"; }
echo "| workload | full, fitted nesting | full, true nesting | full 0.4 | true nesting / 0.4 | norec, fitted | norec, true nesting |"
echo "|---|---|---|---|---|---|---|"
for name in pip_list sympy pygments docutils unittest_json pyflakes json_tool; do
  prof=$out/data/real/$name.prof
  t=$out/data/real/$name.truth.folded
  "$bin" -f log "$prof" > "$out/oracle/$name.fitted.folded"
  FLAMEPROF_ORACLE=$out/oracle/$name.tsv "$bin" -f log "$prof" > "$out/oracle/$name.true.folded"
  fa=$(score "$t" "$out/oracle/$name.fitted.folded" tvd_full)
  fb=$(score "$t" "$out/oracle/$name.true.folded" tvd_full)
  v04=$out/est/v04/$name.folded  # flameprof 0.4's output, from run.py
  f4=$( [ -f "$v04" ] && score "$t" "$v04" tvd_full || echo "")
  ratio=$( [ -n "$f4" ] && python3 -c "print(f'{$fb / $f4:.2f}')" || echo "")
  na=$(score "$t" "$out/oracle/$name.fitted.folded" tvd_norec)
  nb=$(score "$t" "$out/oracle/$name.true.folded" tvd_norec)
  echo "| $name | $fa | $fb | $f4 | $ratio | $na | $nb |"
done
