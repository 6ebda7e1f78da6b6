#!/usr/bin/env bash
# Sets up everything Patchbay needs on this machine, idempotently; a few seconds when all is there.
#   - npm dependencies (npm ci when node_modules is missing or older than package-lock.json)
#   - the temporal CLI at a pinned version, in .tools/bin (built once with `go install`, cached)
#   - a Docker engine: DOCKER_HOST or /var/run/docker.sock if it answers; otherwise, on Debian as
#     root, Debian's docker.io with dockerd started by us (log and pid under .state/docker)
#   - PostgreSQL's server binaries for the embedded record store (Debian's postgresql; Patchbay runs
#     its own cluster under .state, so the package's system cluster is not created)
#   - Temporal's time-skipping test server for the fast workflow tests: Java and Maven (Debian's
#     default-jre-headless and maven), then scripts/build-test-server.sh (cold ~10 s, cached after)
#   - for the multi-host test lab (scripts/multihost-lab.sh, which the tests start): iproute2,
#     util-linux (nsenter) and procps, as root on Debian
#   - with --fixtures: the static busybox and the local test fixture images; HAProxy; openssl and
#     OpenSSH (client and server binaries; the tests run their own sshd) for the endpoint tests;
#     Debian's chromium, which the Web UI browser test drives headless (puppeteer-core, no download)
#   - with --openstack: the real OpenStack images from Debian's packages, bookworm's and trixie's
#     Keystone 27 (cold ~7 min, warm <1 s)
#   - with --kubernetes: a Kubernetes control plane built from its Go modules, etcd and KWOK, for the
#     Kubernetes runtime tests (scripts/k8s-cluster.sh build; cold 5–12 min, cached after)
#   - with --temporal-cluster: Temporal server v1.32.2 and its SQL tool built from the Go module, for the
#     tests against a production-shaped cluster (scripts/temporal-cluster.sh build; cold ~6.5 min,
#     cached after). A cold build runs in the background from early on, beside the image builds, and
#     is waited for at the end
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPORAL_VERSION="v1.5.1" # later tags carry a `replace` directive that `go install` rejects
TOOLS="$ROOT/.tools/bin"
STATE="$ROOT/.state"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/patchbay"
WITH_FIXTURES=0
WITH_OPENSTACK=0
WITH_KUBERNETES=0
WITH_TEMPORAL_CLUSTER=0
for arg in "$@"; do
  case "$arg" in
    --fixtures) WITH_FIXTURES=1 ;;
    --openstack) WITH_OPENSTACK=1 ;;
    --kubernetes) WITH_KUBERNETES=1 ;;
    --temporal-cluster) WITH_TEMPORAL_CLUSTER=1 ;;
    *) echo "bootstrap: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: ERROR: %s\n' "$*" >&2; exit 1; }
is_debian_root() { [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; }
APT_UPDATED=0
apt_install() {
  is_debian_root || die "missing: $* (install it, or run this as root on Debian to let bootstrap do it)"
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
}

# --- Node and npm dependencies -------------------------------------------------------------
command -v node >/dev/null || die "Node.js 20 or newer is required (apt-get install nodejs, or nodesource)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is required (found $(node --version))"
if [ ! -f "$ROOT/node_modules/.package-lock.json" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  say "npm ci"
  # --prefer-offline: tarballs already in npm's cache are used without asking the registry again (a
  # clean clone on a machine that installed them before); missing ones are fetched as usual.
  (cd "$ROOT" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) || die "npm ci failed"
fi

# --- temporal CLI ---------------------------------------------------------------------------
mkdir -p "$TOOLS" "$STATE"
if [ ! -x "$TOOLS/temporal" ] || [ "$(cat "$TOOLS/.temporal-version" 2>/dev/null)" != "$TEMPORAL_VERSION" ]; then
  cached="$CACHE/temporal-$TEMPORAL_VERSION"
  if [ ! -x "$cached" ]; then
    command -v go >/dev/null || { is_debian_root && apt_install golang-go; }
    command -v go >/dev/null || die "Go is required to build the temporal CLI (go install github.com/temporalio/cli/cmd/temporal@$TEMPORAL_VERSION)"
    say "building temporal CLI $TEMPORAL_VERSION with go install (once; takes a few minutes cold)"
    mkdir -p "$CACHE/gobin"
    (cd /tmp && GOBIN="$CACHE/gobin" GOFLAGS=-buildvcs=false go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_VERSION") \
      || die "go install of the temporal CLI failed (needs the Go module proxy and a Go toolchain new enough for it)"
    mv "$CACHE/gobin/temporal" "$cached"
  fi
  cp "$cached" "$TOOLS/temporal"
  echo "$TEMPORAL_VERSION" > "$TOOLS/.temporal-version"
fi

# --- Temporal server for the test cluster (background when cold) ----------------------------------
# A cold build is ~6.5 min of mostly CPU; the image builds below are mostly I/O: started here, it
# overlaps with them (the go build runs niced) and is waited for at the end. Its own process group,
# so that a bootstrap that fails before then stops it too.
TEMPORAL_CLUSTER_BUILD=
TEMPORAL_CLUSTER_LOG="$STATE/temporal-cluster-build.log"
stop_temporal_cluster_build() {
  if [ -n "$TEMPORAL_CLUSTER_BUILD" ]; then kill -TERM -- "-$TEMPORAL_CLUSTER_BUILD" 2>/dev/null || true; fi
}
if [ "$WITH_TEMPORAL_CLUSTER" = 1 ]; then
  command -v go >/dev/null || [ -x /usr/local/go/bin/go ] ||
    die "Go 1.21 or newer is required to build the Temporal server (it fetches the toolchain it needs through the module proxy)"
  if bash "$ROOT/scripts/temporal-cluster.sh" build --check; then
    bash "$ROOT/scripts/temporal-cluster.sh" build --quiet # cached: only the links in .tools/bin
  else
    say "building the Temporal server in the background (~6.5 min cold; log: $TEMPORAL_CLUSTER_LOG)"
    setsid bash "$ROOT/scripts/temporal-cluster.sh" build >"$TEMPORAL_CLUSTER_LOG" 2>&1 </dev/null &
    TEMPORAL_CLUSTER_BUILD=$!
    trap stop_temporal_cluster_build EXIT
  fi
fi

# --- Docker engine --------------------------------------------------------------------------
docker_answers() {
  if [ -n "${DOCKER_HOST:-}" ]; then
    command -v docker >/dev/null && docker version >/dev/null 2>&1
  else
    [ -S /var/run/docker.sock ] && curl -fsS --max-time 3 --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1
  fi
}
command -v curl >/dev/null || apt_install curl ca-certificates
if ! docker_answers; then
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer (is the engine running? is the docker CLI installed?)"
  fi
  command -v dockerd >/dev/null || apt_install docker.io
  is_debian_root || die "no Docker engine answers on /var/run/docker.sock and this is not Debian as root: start Docker, or set DOCKER_HOST"
  mkdir -p "$STATE/docker"
  if [ -f "$STATE/docker/dockerd.pid" ] && kill -0 "$(cat "$STATE/docker/dockerd.pid")" 2>/dev/null; then
    say "dockerd (pid $(cat "$STATE/docker/dockerd.pid")) is starting"
  else
    say "starting dockerd (log: $STATE/docker/dockerd.log)"
    # setsid: the engine outlives this script; containers are the cloud, not a child of our shell.
    setsid dockerd --pidfile "$STATE/docker/dockerd.pid" >>"$STATE/docker/dockerd.log" 2>&1 < /dev/null &
  fi
  for _ in $(seq 1 60); do docker_answers && break; sleep 0.5; done
  docker_answers || die "dockerd did not answer within 30 s; see $STATE/docker/dockerd.log"
fi
command -v docker >/dev/null || apt_install docker.io
# The multi-host test lab (scripts/multihost-lab.sh: network namespaces, one dockerd in each) is
# started by the tests that use it, as root; it needs ip, nsenter/findmnt/flock and pgrep.
if is_debian_root; then
  command -v ip >/dev/null || apt_install iproute2
  { command -v nsenter && command -v findmnt && command -v flock; } >/dev/null || apt_install util-linux
  command -v pgrep >/dev/null || apt_install procps
fi

# --- PostgreSQL (the record store) ------------------------------------------------------------
# src/store/embeddedPostgres.ts runs /usr/lib/postgresql/<version>/bin/postgres itself (as the
# postgres user the package creates); the CLI, the demo and the tests all need it.
if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  if is_debian_root && [ ! -d /etc/postgresql ]; then
    # No system cluster on 5432 beside ours: nothing would use it.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/patchbay.conf
  fi
  apt_install postgresql
fi

# --- Temporal's test server (fast workflow tests, jest's unit project) ---------------------------
command -v java >/dev/null || apt_install default-jre-headless
command -v mvn >/dev/null || apt_install maven
TEST_SERVER="$(bash "$ROOT/scripts/build-test-server.sh")" || die "building Temporal's test server failed"

# --- test fixtures --------------------------------------------------------------------------
if [ "$WITH_FIXTURES" = 1 ]; then
  # ldd fails on a static binary, which is what a FROM scratch image needs.
  { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || apt_install busybox-static
  # Tests drain and enable servers of a real HAProxy through its Runtime API.
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || apt_install haproxy
  # Direct Docker endpoints (test/runtime/dockerEndpoints.it.test.ts): certificates for a second
  # engine with TLS, and an sshd of the test's own on loopback with keys made by ssh-keygen.
  command -v openssl >/dev/null || apt_install openssl
  command -v ssh-keygen >/dev/null || apt_install openssh-client
  [ -x /usr/sbin/sshd ] || apt_install openssh-server
  # The Web UI browser test (test/lab/webUi.it.test.ts) screenshots and reads Temporal's Web UI.
  command -v chromium >/dev/null || apt_install chromium
  # The metrics test (test/metrics/metrics.it.test.ts) runs Debian's Prometheus binary itself (own
  # config, storage and loopback port); the package's own service is not wanted, so it is stopped
  # and disabled where an init system started it (a container's policy-rc.d keeps it from starting).
  if [ ! -x /usr/bin/prometheus ]; then
    apt_install prometheus
    if [ -d /run/systemd/system ]; then systemctl disable --now prometheus >/dev/null 2>&1 || true
    else invoke-rc.d prometheus stop >/dev/null 2>&1 || true; fi
  fi
  bash "$ROOT/scripts/build-fixtures.sh" >&2
fi
# --- OpenStack images ------------------------------------------------------------------------
if [ "$WITH_OPENSTACK" = 1 ]; then
  is_debian_root || { [ -n "$(docker images -q patchbay/keystone:22.0.2-0-deb12u6 2>/dev/null)" ] &&
    [ -n "$(docker images -q patchbay/keystone:27 2>/dev/null)" ]; } ||
    die "the OpenStack images are built from Debian packages with debootstrap: run this as root on Debian"
  bash "$ROOT/scripts/build-openstack-images.sh" >&2
fi
# --- Kubernetes test cluster ------------------------------------------------------------------
if [ "$WITH_KUBERNETES" = 1 ]; then
  bash "$ROOT/scripts/k8s-cluster.sh" build
fi
# --- Temporal test cluster (the build started above) -----------------------------------------------
if [ -n "$TEMPORAL_CLUSTER_BUILD" ]; then
  say "waiting for the Temporal server build (log: $TEMPORAL_CLUSTER_LOG)"
  if wait "$TEMPORAL_CLUSTER_BUILD"; then
    TEMPORAL_CLUSTER_BUILD=
    cat "$TEMPORAL_CLUSTER_LOG" >&2
  else
    status=$?
    TEMPORAL_CLUSTER_BUILD=
    die "building the Temporal server failed (scripts/temporal-cluster.sh build, status $status); last lines of $TEMPORAL_CLUSTER_LOG:
$(tail -n 20 "$TEMPORAL_CLUSTER_LOG")"
  fi
fi
say "ready: temporal CLI $TEMPORAL_VERSION, test server $(basename "$(dirname "$TEST_SERVER")"), PostgreSQL $(ls /usr/lib/postgresql | sort -n | tail -1), docker engine $(curl -fsS --unix-socket /var/run/docker.sock http://localhost/version 2>/dev/null | node -pe 'JSON.parse(require("fs").readFileSync(0)).Version' 2>/dev/null || echo "at $DOCKER_HOST")"
