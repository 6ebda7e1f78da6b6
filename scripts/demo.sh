#!/usr/bin/env bash
# The README's main command: set up what is missing, then run the demo on the embedded stack.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh" --fixtures --openstack
exec node "$ROOT/bin/patchbay.js" demo "$@"
