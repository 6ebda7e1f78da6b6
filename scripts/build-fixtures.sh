#!/usr/bin/env bash
# Builds the test fixture images patchbay/fixture:{v1,v2,v3,broken,crash,slow} locally (FROM scratch +
# static busybox). Reuses an image whose io.patchbay.fixture-hash label matches its build inputs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/test/fixtures/image"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
# ldd fails on a static binary: that is the one we want (a scratch image has no libc).
[ -x "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 \
  || { echo "build-fixtures: a static busybox is needed at $BUSYBOX (apt-get install busybox-static)" >&2; exit 1; }

# tag:MODE
FIXTURES="v1:healthy v2:healthy v3:healthy broken:never-healthy crash:crash-after slow:slow-start"
inputs_hash="$(cat "$SRC/Dockerfile" "$SRC/entry.sh" "$BUSYBOX" | sha256sum | cut -c1-16)"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$SRC/Dockerfile" "$SRC/entry.sh" "$ctx/" && cp "$BUSYBOX" "$ctx/busybox"
for spec in $FIXTURES; do
  tag="${spec%%:*}" mode="${spec##*:}"
  image="patchbay/fixture:$tag"
  hash="$inputs_hash-$tag-$mode"
  if [ "$(docker image inspect -f '{{ index .Config.Labels "io.patchbay.fixture-hash" }}' "$image" 2>/dev/null)" = "$hash" ]; then
    echo "reused $image"
    continue
  fi
  # The engine's legacy builder warns that it is deprecated on every build: show its output only on failure.
  DOCKER_BUILDKIT=0 docker build -q --build-arg MODE="$mode" --build-arg VERSION="$tag" --build-arg FIXTURE_HASH="$hash" \
    -t "$image" "$ctx" >"$ctx/build.log" 2>&1 || { cat "$ctx/build.log" >&2; exit 1; }
  echo "built  $image"
  rebuilt=1
done
# Older builds of the fixtures, untagged by the rebuild, are garbage.
[ -z "${rebuilt:-}" ] || docker image prune -f --filter label=io.patchbay.fixture=1 >/dev/null
