#!/usr/bin/env bash
# Runs one bench on an earlier commit and on this tree, one after the other, in the same session:
#   bash scripts/bench-compare.sh <git-ref> <bench> [bench args…]
#   bash scripts/bench-compare.sh 172d55b campaign --real 0 --engine 1000
# The earlier commit is checked out into a temporary worktree that shares node_modules and .tools
# with this tree; both runs print their own figures, and /usr/bin/time -v their peak RSS.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ref="$1"
bench="$2"
shift 2
bash "$ROOT/scripts/bootstrap.sh" --fixtures >&2
old="$(mktemp -d /tmp/patchbay-bench-base-XXXXXX)"
trap 'git -C "$ROOT" worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"' EXIT
git -C "$ROOT" worktree add --detach -f "$old" "$ref" >/dev/null
ln -s "$ROOT/node_modules" "$old/node_modules"
mkdir -p "$old/.tools" && ln -s "$ROOT/.tools/bin" "$old/.tools/bin"
run() {
  local dir="$1" label="$2"
  echo "=== $label ($(git -C "$dir" log -1 --format='%h %s' | cut -c1-80))"
  (cd "$dir" && PATCHBAY_STATE_DIR="$dir/.state" /usr/bin/time -f "peak RSS: %M KiB, wall %e s" \
    node --require tsx/cjs "bench/$bench.ts" "$@" 2>&1)
}
run "$old" "baseline $ref" "$@"
run "$ROOT" "this tree" "$@"
