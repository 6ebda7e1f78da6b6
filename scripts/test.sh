#!/usr/bin/env bash
# The README's test command (and CI's): set up what is missing, then typecheck, lint and run every
# test (unit, then integration against a real Temporal dev server and the real Docker engine).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh --fixtures --openstack --kubernetes --temporal-cluster
# Typecheck and lint side by side (two cores; ~40 s instead of ~70 s), each reporting its own errors.
echo "== typecheck and lint"
npx tsc --noEmit &
typecheck=$!
lint=0
npx eslint . && npx prettier --check . >/dev/null || lint=$?
wait "$typecheck" || { echo "typecheck failed" >&2; exit 1; }
[ "$lint" = 0 ] || { echo "lint failed" >&2; exit 1; }
# The record-store scale test applies this many revisions here (continuing as new every 300 events);
# `npm run test:scale` runs all 5,000 at the product's own threshold.
export PATCHBAY_SCALE_REVISIONS="${PATCHBAY_SCALE_REVISIONS:-80}"
echo "== tests" && npx jest --runInBand "$@"
