#!/usr/bin/env bash
# The README's test command (and CI's): set up what is missing, then typecheck, lint and run every
# test (unit, and integration against a real Temporal dev server and the real Docker engine).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh --fixtures --openstack --kubernetes --temporal-cluster
# The record-store scale test applies this many revisions here (continuing as new every 150 events);
# `npm run test:scale` runs all 5,000 at the product's own threshold.
export PATCHBAY_SCALE_REVISIONS="${PATCHBAY_SCALE_REVISIONS:-40}"
# The whole suite: the integration tests start at once and stream their output; the typecheck, the
# lint and the unit tests run beside them (CPU-bound, none timing-sensitive; ~1.5 min saved on two
# cores), their output held and printed when the integration tests end — or at once, stopping the
# integration tests, if one of them fails. With arguments (a path, a project): the typecheck, the lint
# and that jest run only.
if [ $# -gt 0 ]; then
  echo "== typecheck and lint"
  npx tsc --noEmit
  npx eslint .
  npx prettier --check . >/dev/null
  echo "== tests" && exec npx jest --runInBand "$@"
fi
# A second lane: the integration files that bring servers of their own (a Temporal cluster, a
# Kubernetes control plane), ~5 min, run beside the rest once the unit tests are done, with a dev
# server and a store of their own (PATCHBAY_TEST_LANE); their output is held like the unit tests'.
LANE_B=(test/cluster/cluster.it.test.ts test/runtime/kubernetes.it.test.ts test/runtime/kubernetesConfig.it.test.ts)
LANE_B_PATTERN='/test/(cluster/cluster|runtime/kubernetes|runtime/kubernetesConfig)\.it\.test\.ts$'
held=$(mktemp -d)
( npx tsc --noEmit >"$held/typecheck" 2>&1 ) &
typecheck=$!
( npx eslint . >"$held/lint" 2>&1 && npx prettier --check . >>"$held/lint" 2>&1 ) &
lint=$!
( npx jest --runInBand --selectProjects unit >"$held/unit" 2>&1 ) &
unit=$!
echo "== integration tests (the typecheck, the lint and the unit tests run beside them; their output follows)"
# jest itself, not npx: its pid is what a failure above stops.
node_modules/.bin/jest --runInBand --selectProjects integration --testPathIgnorePatterns "$LANE_B_PATTERN" &
integration=$!
# Whichever of the three ends first with a failure stops the integration tests.
failed=
for job in typecheck lint unit; do
  if ! wait "${!job}"; then
    failed=$job
    kill "$integration" 2>/dev/null || true
    break
  fi
done
lane_b_status=0
if [ -z "$failed" ]; then
  ( PATCHBAY_TEST_LANE=b node_modules/.bin/jest --runInBand "${LANE_B[@]}" --selectProjects integration >"$held/lane-b" 2>&1 ) &
  lane_b=$!
fi
integration_status=0
wait "$integration" || integration_status=$?
[ -z "${lane_b:-}" ] || wait "$lane_b" || lane_b_status=$?
for job in typecheck lint unit lane-b; do
  echo "== $job"
  cat "$held/$job" 2>/dev/null || true
done
rm -rf "$held"
[ -z "$failed" ] || { echo "$failed failed (the integration tests were stopped)" >&2; exit 1; }
[ "$integration_status" = 0 ] || { echo "integration tests failed" >&2; exit 1; }
[ "$lane_b_status" = 0 ] || { echo "integration tests (second lane: ${LANE_B[*]}) failed" >&2; exit 1; }
