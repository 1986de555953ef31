#!/usr/bin/env bash
# Counts the #include "..." lines of src/, kernels/ and include/ that run
# against kiln's layering (docs/architecture.md, "Layers"), lowest first:
#   0 core (src/core, include/kiln/core)   1 kernels/functors   2 kernels/common
#   3 kernels   4 src/backend   5 src/cpu, src/cuda (and include/kiln/cuda.h)
#   6 src/ops, src/autograd (and their include/kiln/ folders)
#   7 src/nn, src/optim, src/data, src/metrics (and theirs)
#   8 src/amp (GradScaler steps optimizers; autocast's op-side state is in src/ops)
#   9 src/io (checkpoints hold optimizers' and modules' state)
#  10 src/dist, src/train (training machinery: wraps modules and optimizers, saves checkpoints)
#  11 include/kiln/*.h umbrellas
# An include is against the layering when it reaches a higher layer, or a
# different folder of the same layer (cpu <-> cuda; nn <-> optim <-> data ...),
# where a folder and its own public headers (src/nn, include/kiln/nn) count as one.
# Prints each offending folder pair with its number of includes, then the
# totals. Exit status 1 when any include runs against the layering.
# Usage: tests/layering/check_includes.sh [REPO_ROOT]
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"

layer() {
  case "$1" in
    include/kiln/cuda.h) echo 5 ;;
    include/kiln/*/*) ;&
    src/*/*)
      local room=${1#include/kiln/}; room=${room#src/}; room=${room%%/*}
      case "$room" in
        core) echo 0 ;; backend) echo 4 ;; cpu | cuda) echo 5 ;; ops | autograd) echo 6 ;; amp) echo 8 ;; io) echo 9 ;;
        dist | train) echo 10 ;; *) echo 7 ;;
      esac ;;
    include/kiln/*) echo 11 ;;
    kernels/functors/*) echo 1 ;;
    kernels/common/*) echo 2 ;;
    kernels/*) echo 3 ;;
    *) echo 11 ;;
  esac
}
# The folder an include's file is counted in: src/X and include/kiln/X are one room.
room() {
  case "$1" in
    include/kiln/cuda.h) echo src/cuda ;;
    include/kiln/*/*) local r=${1#include/kiln/}; echo "src/${r%%/*}" ;;
    src/*/*) local r=${1#src/}; echo "src/${r%%/*}" ;;
    *) dirname "$1" ;;
  esac
}

bad=0
pairs=$(git ls-files -- src kernels include | grep -E '\.(h|cpp|cu|cuh)$' | while read -r file; do
  grep -oE '^#include "[^"]+"' "$file" | sed -E 's/^#include "(.*)"$/\1/' | while read -r inc; do
    target=""
    for root in "$(dirname "$file")" src kernels include; do
      if [ -f "$root/$inc" ]; then target=$(realpath -m --relative-to=. "$root/$inc"); break; fi
    done
    [ -n "$target" ] || continue
    a=$(layer "$file"); b=$(layer "$target")
    ra=$(room "$file"); rb=$(room "$target")
    if [ "$b" -gt "$a" ] || { [ "$a" = "$b" ] && [ "$a" -ge 5 ] && [ "$a" -le 7 ] && [ "$ra" != "$rb" ] &&
                                ! { [ "$a" = 6 ] && [ "$b" = 6 ]; }; }; then
      echo "$ra -> $rb"
    fi
  done
done | sort | uniq -c)
if [ -n "$pairs" ]; then
  echo "$pairs"
  bad=$(echo "$pairs" | awk '{n += $1} END {print n}')
fi
npairs=$(printf '%s' "$pairs" | grep -c . || true)
echo "against the layering: $npairs folder pairs, $bad includes"
[ "$bad" -eq 0 ]
