#!/usr/bin/env bash
# npm run bench:<name>: set up what is missing, then run bench/<name>.ts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh" --fixtures
exec node --require tsx/cjs "$ROOT/bench/$1.ts"
