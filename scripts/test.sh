#!/usr/bin/env bash
# The README's test command (and CI's): set up what is missing, then typecheck, lint and run every
# test (unit, then integration against a real Temporal dev server and the real Docker engine).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh --fixtures --openstack --kubernetes --temporal-cluster
# The record-store scale test applies this many revisions here (continuing as new every 300 events);
# `npm run test:scale` runs all 5,000 at the product's own threshold.
export PATCHBAY_SCALE_REVISIONS="${PATCHBAY_SCALE_REVISIONS:-80}"
# The whole suite: typecheck, lint and the unit tests side by side (all three CPU-bound, none timing-
# sensitive; ~1 min saved on two cores), then the integration tests alone. With arguments (a path,
# a project), only the typecheck, the lint and that jest run.
unit=
unit_log=
if [ $# -eq 0 ]; then
  unit_log=$(mktemp)
  npx jest --runInBand --selectProjects unit >"$unit_log" 2>&1 &
  unit=$!
fi
echo "== typecheck and lint${unit:+ (unit tests beside them)}"
npx tsc --noEmit &
typecheck=$!
lint=0
npx eslint . && npx prettier --check . >/dev/null || lint=$?
wait "$typecheck" || { echo "typecheck failed" >&2; [ -z "$unit" ] || kill "$unit" 2>/dev/null; exit 1; }
[ "$lint" = 0 ] || { echo "lint failed" >&2; [ -z "$unit" ] || kill "$unit" 2>/dev/null; exit 1; }
if [ -n "$unit" ]; then
  echo "== unit tests"
  unit_status=0
  wait "$unit" || unit_status=$?
  cat "$unit_log"
  rm -f "$unit_log"
  [ "$unit_status" = 0 ] || { echo "unit tests failed" >&2; exit 1; }
  echo "== integration tests" && npx jest --runInBand --selectProjects integration
else
  echo "== tests" && npx jest --runInBand "$@"
fi
