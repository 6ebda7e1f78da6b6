#!/usr/bin/env bash
# npm run bench:<name>: set up what is missing, then run bench/<name>.ts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="$1"
shift
extra=()
case "$name" in zero-downtime | reconfigure | campaign | snapshot) extra=(--openstack) ;; esac
bash "$ROOT/scripts/bootstrap.sh" --fixtures "${extra[@]}"
exec node --require tsx/cjs "$ROOT/bench/$name.ts" "$@"
