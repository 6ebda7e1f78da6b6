#!/usr/bin/env bash
# A real Temporal cluster on 127.0.0.1, shaped like production and like docker-compose.yml: Temporal
# server v1.32.2 built from its Go module, its four services (history, matching, frontend, worker)
# each a process of its own, on a PostgreSQL cluster of its own (Debian's server binaries), the
# frontend behind mutual TLS with a throw-away CA, namespace `default` with Patchbay's search
# attributes. For the tests that need more than the dev server: a service killed and restarted under
# a running change, TLS, the compose topology (test/composeTopology.it.test.ts).
#
#   scripts/temporal-cluster.sh build [--quiet|--check]   # build what is missing (cold ~6.5 min on 2 cores, then cached);
#                                                         # --quiet: silent when cached; --check: exit 0 when cached
#   scripts/temporal-cluster.sh start  [--dir DIR]        # start a fresh cluster (4-9 s warm); prints the env file's path
#   scripts/temporal-cluster.sh stop   [--dir DIR]        # stop it, no process left
#   scripts/temporal-cluster.sh status [--dir DIR]        # exit 0 when PostgreSQL and the four services run
#   scripts/temporal-cluster.sh stop-service NAME [--kill] [--dir DIR]  # stop one service (SIGTERM, or SIGKILL)
#   scripts/temporal-cluster.sh start-service NAME [--dir DIR]          # start it again, same ports and config
#
# DIR (default: $PATCHBAY_TEMPORAL_CLUSTER_STATE, else .state/temporal-cluster) holds `env` (export
# TEMPORAL_ADDRESS=... TEMPORAL_NAMESPACE=... TEMPORAL_TLS_CERT/KEY/CA/SERVER_NAME=..., to source),
# cluster.json (the same for programs, with every service's pid, ports and log), temporal.yaml (the
# server's config), pki/ (ca.crt, server.crt/key, client.crt/key, system-worker.crt/key), postgres/
# (the data), *.port, *.pid and *.log.
# Each DIR is its own cluster on its own free loopback ports.
#
# TLS: the frontend requires a client certificate signed by DIR/pki/ca.crt (client.crt is one, CN
# patchbay) and presents server.crt (SANs 127.0.0.1, localhost, temporal-frontend; clients use the
# server name temporal-frontend, as in docker-compose.yml). The system worker (the worker service's
# internal workflows) reaches the frontend with a certificate of its own (global.tls.systemWorker).
# Traffic between the services (history, matching, membership) stays plaintext on loopback.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="v1.32.2"        # go.temporal.io/server; docker-compose.yml runs the same release's images
GO_TOOLCHAIN="go1.26.10" # what v1.32.2's go.mod needs; the go command fetches it through the module proxy
CACHE="${PATCHBAY_TEMPORAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patchbay/temporal-server-$VERSION}"
BIN="$ROOT/.tools/bin"
CLI="$BIN/temporal" # the pinned CLI that bootstrap installs
COMPOSE_DIR="$ROOT/compose/temporal"
DYNAMIC_CONFIG="$COMPOSE_DIR/dynamicconfig.yaml" # read by this cluster and by docker-compose.yml's servers
SERVER_NAME="temporal-frontend"
NAMESPACE="default"
RETENTION="72h"
DATABASES=(temporal temporal_visibility)
SERVICES=(history matching frontend worker)  # start order (as Temporal's multi-role compose); stop is the reverse
COMPONENTS=(postgres "${SERVICES[@]}")
LDFLAGS="-s -w"

say() { printf 'temporal-cluster: %s\n' "$*" >&2; }
die() { printf 'temporal-cluster: ERROR: %s\n' "$*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
GO="$(command -v go || echo /usr/local/go/bin/go)"
PG_BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)"

# What the cached build was made from: a change to any of it rebuilds it.
recipe() { echo "go.temporal.io/server@$VERSION $GO_TOOLCHAIN -trimpath -ldflags $LDFLAGS schema/postgresql/v12" | sha256sum | cut -c1-16; }

cached() { # the cache holds a complete build of this recipe
  [ "$(cat "$CACHE/.recipe" 2>/dev/null)" = "$(recipe)" ] && [ -x "$CACHE/bin/temporal-server" ] &&
    [ -x "$CACHE/bin/temporal-sql-tool" ] && [ -d "$CACHE/schema/postgresql/v12/visibility/versioned" ] &&
    [ -f "$CACHE/config/config_template_embedded.yaml" ]
}

build() { # [quiet]: say nothing when nothing was missing
  mkdir -p "$CACHE" "$BIN"
  local t0 stamp tmp modcache built_now=
  t0=$(now)
  stamp=$(recipe)
  if ! cached; then
    rm -f "$CACHE/.recipe"
    say "building temporal-server and temporal-sql-tool $VERSION into $CACHE, once: ~6.5 min cold on 2 cores"
    tmp=$(mktemp -d "$CACHE/build.XXXXXX")
    (cd "$tmp" && GOBIN="$tmp/bin" GOTOOLCHAIN="$GO_TOOLCHAIN" GOFLAGS='' nice -n 10 \
      "$GO" install -trimpath -ldflags "$LDFLAGS" "go.temporal.io/server/cmd/server@$VERSION" \
      "go.temporal.io/server/cmd/tools/sql@$VERSION") || { rm -rf "$tmp"; die "go install of go.temporal.io/server $VERSION failed"; }
    mv -f "$tmp/bin/server" "$tmp/bin/temporal-server"
    mv -f "$tmp/bin/sql" "$tmp/bin/temporal-sql-tool"
    # The schema's versioned folders, so that start needs nothing from Go's module cache.
    modcache="$(cd "$tmp" && GOTOOLCHAIN=local GOFLAGS='' "$GO" env GOMODCACHE)/go.temporal.io/server@$VERSION"
    mkdir -p "$tmp/schema/postgresql/v12"
    for d in temporal visibility; do
      mkdir -p "$tmp/schema/postgresql/v12/$d"
      cp -R "$modcache/schema/postgresql/v12/$d/versioned" "$tmp/schema/postgresql/v12/$d/" ||
        { rm -rf "$tmp"; die "no schema in $modcache"; }
    done
    # The template the temporalio/server image configures itself with from the environment
    # (docker-compose.yml's variables; test/composeTopology.it.test.ts checks them against it).
    mkdir -p "$tmp/config"
    cp "$modcache/common/config/config_template_embedded.yaml" "$tmp/config/" || { rm -rf "$tmp"; die "no config template in $modcache"; }
    chmod -R u+w,a+rX "$tmp/schema" "$tmp/config" # the module cache's files are read-only
    rm -rf "${CACHE:?}/bin" "${CACHE:?}/schema" "${CACHE:?}/config"
    mv "$tmp/bin" "$tmp/schema" "$tmp/config" "$CACHE/"
    rm -rf "$tmp"
    echo "$stamp" >"$CACHE/.recipe"
    built_now="temporal-server temporal-sql-tool"
  fi
  # Into .tools/bin: a hard link (a copy across file systems), swapped in atomically so that running
  # clusters keep their binaries.
  for cmd in temporal-server temporal-sql-tool; do
    [ "$BIN/$cmd" -ef "$CACHE/bin/$cmd" ] && continue
    ln -f "$CACHE/bin/$cmd" "$BIN/.$cmd.new" 2>/dev/null || cp -f "$CACHE/bin/$cmd" "$BIN/.$cmd.new"
    mv -f "$BIN/.$cmd.new" "$BIN/$cmd"
  done
  [ "${1:-}" = quiet ] && [ -z "$built_now" ] && return
  say "build: done in $(since "$t0") s (built: ${built_now:-nothing, all cached}); binaries in $BIN"
}

# pid_of, alive, launch, exited, wait_for: shared with scripts/k8s-cluster.sh
# shellcheck source=lib/cluster-processes.sh
source "$ROOT/scripts/lib/cluster-processes.sh"

port_of() { cat "$STATE/$1.port"; } # name: the port recorded at start (postgres, frontend, history.membership...)
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
tls_flags() { printf '%s\n' --tls-ca-path "$STATE/pki/ca.crt" --tls-cert-path "$STATE/pki/client.crt" \
  --tls-key-path "$STATE/pki/client.key" --tls-server-name "$SERVER_NAME"; }
cli() { # temporal CLI against this cluster's frontend, over mTLS
  local flags
  mapfile -t flags < <(tls_flags)
  "$CLI" "$@" --address "127.0.0.1:$(port_of frontend)" "${flags[@]}" --command-timeout 10s
}
healthy() { cli operator cluster health | grep -q SERVING; }

# The server runs as the postgres user when we are root (it refuses root), as src/store/embeddedPostgres.ts does.
AS_POSTGRES=()
[ "$(id -u)" = 0 ] && AS_POSTGRES=(setpriv --reuid=postgres --regid=postgres --init-groups --reset-env --)

pki() {
  local p="$STATE/pki" ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes) who
  mkdir -p "$p"
  openssl req -x509 "${ec[@]}" -keyout "$p/ca.key" -out "$p/ca.crt" -days 30 -subj /CN=patchbay-temporal-ca 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:%s\nextendedKeyUsage=serverAuth\n' "$SERVER_NAME" >"$p/server.ext"
  printf 'extendedKeyUsage=clientAuth\n' >"$p/client.ext"
  # server: the frontend's; client: Patchbay's and the tests' (CN patchbay); system-worker: the worker service's.
  for who in server:temporal-frontend client:patchbay system-worker:temporal-system-worker; do
    openssl req "${ec[@]}" -keyout "$p/${who%%:*}.key" -out "$p/${who%%:*}.csr" -subj "/CN=${who#*:}" 2>/dev/null
    openssl x509 -req -in "$p/${who%%:*}.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 30 \
      -extfile "$p/$([ "${who%%:*}" = server ] && echo server || echo client).ext" -out "$p/${who%%:*}.crt" 2>/dev/null
  done
  rm -f "$p"/*.csr "$p"/*.ext "$p/ca.srl"
  chmod 600 "$p"/*.key
}

postgres_up() { # a new cluster, then its server on 127.0.0.1:PORT only (no Unix socket)
  local port=$1 data="$STATE/postgres" dir template
  [ -n "$PG_BIN" ] || die "PostgreSQL's server binaries are not in /usr/lib/postgresql/*/bin; run scripts/bootstrap.sh"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "PostgreSQL refuses to run as root and there is no postgres user to run it as"
    # The postgres user must get through to DIR: ours we open (a mkdtemp directory is 0700); above it, we say so.
    chmod o+x "$STATE"
    dir=$(dirname "$STATE")
    while :; do
      setpriv --reuid=postgres --regid=postgres --init-groups -- test -x "$dir" ||
        die "the postgres user cannot reach $STATE: $dir has mode $(stat -c %a "$dir"); run \"chmod o+x $dir\" or choose another --dir"
      [ "$dir" = / ] && break
      dir=$(dirname "$dir")
    done
  fi
  # An empty cluster as initdb makes it (user temporal, trust on loopback), copied from the cache: initdb
  # takes ~2.5 s, a copy ~0.1 s. Made here once (the postgres user may not reach the cache), then kept.
  template="$CACHE/pgdata-$(basename "$(dirname "$PG_BIN")")-$(id -u)"
  if [ -f "$template/PG_VERSION" ]; then
    cp -a "$template" "$data"
  else
    mkdir -m 700 "$data"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
    # Trust is safe here: the server listens on loopback only, and it is a throw-away test cluster.
    (cd / && "${AS_POSTGRES[@]}" "$PG_BIN/initdb" -D "$data" -U temporal --auth=trust --encoding=UTF8 --locale=C --no-sync) \
      >"$STATE/initdb.log" 2>&1 || die "initdb failed: $(tail -n 20 "$STATE/initdb.log")"
    rm -rf "$template.$$" && cp -a "$data" "$template.$$" && { mv -T "$template.$$" "$template" 2>/dev/null || rm -rf "$template.$$"; }
  fi
  # fsync, synchronous commits and full-page writes off: a test cluster, thrown away after; a crash of the
  # machine may lose it, nothing else.
  launch postgres "${AS_POSTGRES[@]}" "$PG_BIN/postgres" -D "$data" -p "$port" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200
}

config() { # the server's config for all four services (each process starts one of them)
  local pg; pg=$(port_of postgres)
  cat <<YAML
# Written by scripts/temporal-cluster.sh for this cluster only.
log:
  stdout: true
  level: info
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
      sql:
        pluginName: postgres12
        databaseName: ${DATABASES[0]}
        connectAddr: "127.0.0.1:$pg"
        connectProtocol: tcp
        user: temporal
        password: ""
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    visibility:
      sql:
        pluginName: postgres12
        databaseName: ${DATABASES[1]}
        connectAddr: "127.0.0.1:$pg"
        connectProtocol: tcp
        user: temporal
        password: ""
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  pprof:
    port: 0
  tls:
    # Clients of the frontend (Patchbay, the CLI, the tests) must present a certificate of our CA.
    frontend:
      server:
        certFile: $STATE/pki/server.crt
        keyFile: $STATE/pki/server.key
        clientCaFiles: [$STATE/pki/ca.crt]
        requireClientAuth: true
    # The worker service's system workflows (and the frontend's calls to itself) are such a client too.
    systemWorker:
      certFile: $STATE/pki/system-worker.crt
      keyFile: $STATE/pki/system-worker.key
      client:
        serverName: $SERVER_NAME
        rootCaFiles: [$STATE/pki/ca.crt]
    # No internode section: history, matching and membership traffic stays plaintext on 127.0.0.1.
services:
YAML
  for s in "${SERVICES[@]}"; do
    printf '  %s:\n    rpc:\n      grpcPort: %s\n      membershipPort: %s\n      bindOnIP: 127.0.0.1\n' \
      "$s" "$(port_of "$s")" "$(port_of "$s.membership")"
    [ "$s" = frontend ] && printf '      httpPort: %s\n' "$(port_of frontend.http)"
  done
  cat <<YAML
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$(port_of frontend)"
      httpAddress: "127.0.0.1:$(port_of frontend.http)"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: $DYNAMIC_CONFIG
  pollInterval: 10s
YAML
}

service_up() { # name: launch one service, wait until it listens (the frontend: until it is healthy)
  launch "$1" "$BIN/temporal-server" --config-file "$STATE/temporal.yaml" --allow-no-auth start --service "$1"
}
service_ready() { # name
  wait_for "$1 on port $(port_of "$1")" 60 listening "$(port_of "$1")"
  if [ "$1" = frontend ]; then wait_for "a healthy frontend" 60 healthy; fi
}

# src/workflows/searchAttributes.ts's SEARCH_ATTRIBUTES, the single list, as "Name=Type ..."
search_attributes() {
  (cd "$ROOT" && node -e "require('tsx/cjs'); console.log(require('./src/workflows/searchAttributes.ts')
    .SEARCH_ATTRIBUTES.map(([n, t]) => n + '=' + t).join(' '))")
}
# The namespace answers a query over all its search attributes (the frontend's namespace cache has them).
queryable() { # "Name=Type ..."
  local a query=
  for a in $1; do query+="${query:+ OR }${a%%=*} IS NOT NULL"; done
  cli workflow list --namespace "$NAMESPACE" --query "$query" --limit 1 >/dev/null
}

write_env() {
  local p="$STATE/pki"
  printf 'export TEMPORAL_ADDRESS=%q TEMPORAL_NAMESPACE=%q TEMPORAL_TLS_CERT=%q TEMPORAL_TLS_KEY=%q TEMPORAL_TLS_CA=%q TEMPORAL_TLS_SERVER_NAME=%q\n' \
    "127.0.0.1:$(port_of frontend)" "$NAMESPACE" "$p/client.crt" "$p/client.key" "$p/ca.crt" "$SERVER_NAME" >"$STATE/env.new"
  mv -f "$STATE/env.new" "$STATE/env"
  STATE="$STATE" NAMESPACE="$NAMESPACE" SERVER_NAME="$SERVER_NAME" DYNAMIC_CONFIG="$DYNAMIC_CONFIG" VERSION="$VERSION" CACHE="$CACHE" \
    SERVICES="${SERVICES[*]}" DATABASES="${DATABASES[*]}" node -e '
    const fs = require("fs"), path = require("path"), e = process.env, s = e.STATE;
    const read = (f) => fs.readFileSync(path.join(s, f), "utf8").trim();
    const services = {};
    for (const name of e.SERVICES.split(" ")) {
      services[name] = { pid: Number(read(name + ".pid")), grpcPort: Number(read(name + ".port")),
        membershipPort: Number(read(name + ".membership.port")), log: path.join(s, name + ".log") };
    }
    services.frontend.httpPort = Number(read("frontend.http.port"));
    const pki = path.join(s, "pki");
    const cluster = {
      address: "127.0.0.1:" + services.frontend.grpcPort, namespace: e.NAMESPACE,
      tls: { ca: path.join(pki, "ca.crt"), cert: path.join(pki, "client.crt"), key: path.join(pki, "client.key"), serverName: e.SERVER_NAME },
      services,
      postgres: { pid: Number(read("postgres.pid")), port: Number(read("postgres.port")), dataDir: path.join(s, "postgres"),
        user: "temporal", databases: e.DATABASES.split(" "), log: path.join(s, "postgres.log") },
      config: path.join(s, "temporal.yaml"), dynamicConfig: e.DYNAMIC_CONFIG,
      build: { version: e.VERSION, schemaDir: path.join(e.CACHE, "schema"),
        configTemplate: path.join(e.CACHE, "config", "config_template_embedded.yaml") },
      env: path.join(s, "env"),
    };
    fs.writeFileSync(path.join(s, "cluster.json.new"), JSON.stringify(cluster, null, 2) + "\n");
    fs.renameSync(path.join(s, "cluster.json.new"), path.join(s, "cluster.json"));'
}

start() {
  build quiet # a no-op (~10 ms) when the cached build matches
  [ -x "$CLI" ] || die "no temporal CLI at $CLI; run scripts/bootstrap.sh"
  if status >/dev/null 2>&1; then
    say "already running: 127.0.0.1:$(port_of frontend) (mTLS, server name $SERVER_NAME)"
    echo "$STATE/env"
    return
  fi
  stop quiet
  local t0 t ports names sas
  t0=$(now)
  rm -rf "$STATE/pki" "$STATE/postgres" "$STATE"/*.log "$STATE"/*.pid "$STATE"/*.port "$STATE/env" \
    "$STATE/cluster.json" "$STATE/temporal.yaml"
  pki
  names=(postgres frontend frontend.membership frontend.http history history.membership matching
    matching.membership worker worker.membership)
  # Free ports below 32768: Temporal keeps a service's ports in a SMALLINT column (cluster_membership),
  # and Linux hands out ephemeral ports from 32768 up, so these never collide with outgoing connections.
  ports=$(node -e '
    const net = require("net");
    const free = (port) => new Promise((resolve) => {
      const s = net.createServer().once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    (async () => {
      const ports = new Set();
      for (let tries = 0; ports.size < Number(process.argv[1]); tries++) {
        if (tries > 1000) throw new Error("no free ports between 20000 and 32767");
        const port = 20000 + Math.floor(Math.random() * 12768);
        if (!ports.has(port) && (await free(port))) ports.add(port);
      }
      console.log([...ports].join(" "));
    })();' "${#names[@]}")
  read -r -a ports <<<"$ports"
  for i in "${!names[@]}"; do echo "${ports[$i]}" >"$STATE/${names[$i]}.port"; done

  t=$(now)
  postgres_up "$(port_of postgres)"
  wait_for "PostgreSQL on port $(port_of postgres)" 30 listening "$(port_of postgres)"
  # The same script docker-compose.yml's temporal-schema-setup runs, with this build's schema folders.
  SQL_HOST=127.0.0.1 SQL_PORT="$(port_of postgres)" SQL_USER=temporal SQL_PASSWORD='' DBNAME="${DATABASES[0]}" \
    VISIBILITY_DBNAME="${DATABASES[1]}" TEMPORAL_SCHEMA_DIR="$CACHE/schema" TEMPORAL_SQL_TOOL="$BIN/temporal-sql-tool" \
    sh "$COMPOSE_DIR/setup-schema.sh" >"$STATE/setup-schema.log" 2>&1 ||
    die "schema setup failed: $(tail -n 20 "$STATE/setup-schema.log")"
  say "PostgreSQL and the schema ready in $(since "$t") s"

  t=$(now)
  config >"$STATE/temporal.yaml"
  # History first, alone: the first service to start writes the cluster's metadata, and two at once
  # race on it (one fails on a duplicate key). The other three then start together.
  service_up history
  service_ready history
  for s in "${SERVICES[@]:1}"; do service_up "$s"; done
  for s in "${SERVICES[@]:1}"; do service_ready "$s"; done
  say "services ${SERVICES[*]} up in $(since "$t") s"

  t=$(now)
  sas=$(search_attributes) || die "could not read SEARCH_ATTRIBUTES from src/workflows/searchAttributes.ts"
  # The same script docker-compose.yml's temporal-namespace-setup runs.
  TEMPORAL_ADDRESS="127.0.0.1:$(port_of frontend)" TEMPORAL_NAMESPACE="$NAMESPACE" TEMPORAL_NAMESPACE_RETENTION="$RETENTION" \
    PATCHBAY_SEARCH_ATTRIBUTES="$sas" TEMPORAL_TLS_CA="$STATE/pki/ca.crt" TEMPORAL_TLS_CERT="$STATE/pki/client.crt" \
    TEMPORAL_TLS_KEY="$STATE/pki/client.key" TEMPORAL_TLS_SERVER_NAME="$SERVER_NAME" TEMPORAL_CLI="$CLI" \
    sh "$COMPOSE_DIR/setup-namespace.sh" >"$STATE/setup-namespace.log" 2>&1 ||
    die "namespace setup failed: $(tail -n 20 "$STATE/setup-namespace.log")"
  wait_for "namespace $NAMESPACE answering queries over its search attributes" 30 queryable "$sas"
  say "namespace $NAMESPACE with search attributes $sas in $(since "$t") s"

  write_env
  say "started in $(since "$t0") s: 127.0.0.1:$(port_of frontend) (mTLS, server name $SERVER_NAME), logs in $STATE"
  echo "$STATE/env"
}

signal_and_wait() { # signal pid...: signal each process group (else the process), SIGKILL what is left after 10 s
  local sig=$1 pid i alive
  shift
  for pid in "$@"; do kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true; done
  for i in $(seq 1 100); do
    alive=()
    for pid in "$@"; do alive "$pid" && alive+=("$pid"); done
    [ ${#alive[@]} -eq 0 ] && return
    [ "$i" = 100 ] && for pid in "${alive[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
    sleep 0.1
  done
}

stop() { # [quiet]
  local pids=() pid c i n=0
  # The services first (SIGTERM), then PostgreSQL (SIGINT: fast shutdown), so nothing logs a lost database.
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    c=${SERVICES[$i]}
    if pid=$(pid_of "$c"); then pids+=("$pid"); fi
  done
  # Anything else of this cluster's binaries whose command line names this state directory (a lost
  # pid file): not one process of another cluster or program.
  for pid in $(pgrep -f -- "$STATE/" || true); do
    [ "$pid" = $$ ] && continue
    [[ " ${pids[*]} " == *" $pid "* ]] && continue
    [ "$pid" = "$(pid_of postgres || true)" ] && continue
    case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in "$BIN"/temporal-server* | "$CACHE"/bin/*) ;; *) continue ;; esac
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$STATE/" || continue
    pids+=("$pid")
  done
  n=${#pids[@]}
  [ "$n" -gt 0 ] && signal_and_wait TERM "${pids[@]}"
  pids=()
  for pid in $(pgrep -f -- "$STATE/postgres" || true); do
    case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in "$PG_BIN"/postgres* | /usr/lib/postgresql/*/bin/postgres*) ;; *) continue ;; esac
    pids+=("$pid")
  done
  n=$((n + ${#pids[@]}))
  [ ${#pids[@]} -gt 0 ] && signal_and_wait INT "${pids[@]}"
  rm -f "$STATE"/*.pid
  rm -rf "$STATE/postgres"
  [ "${1:-}" = quiet ] || say "stopped ($n processes)"
}

status() {
  local ok=0 pid c
  for c in "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$c"); then
      printf '%-10s running (pid %s, port %s)\n' "$c" "$pid" "$(port_of "$c")"
    else
      printf '%-10s stopped\n' "$c"
      ok=1
    fi
  done
  # The env file is written last, when the namespace is ready: without it, start did not finish.
  if [ $ok = 0 ] && [ -f "$STATE/env" ] && healthy 2>/dev/null; then
    printf 'frontend   127.0.0.1:%s healthy (mTLS, server name %s)\nenv        %s\n' "$(port_of frontend)" "$SERVER_NAME" "$STATE/env"
  else
    ok=1
  fi
  return $ok
}

known_service() { [[ " ${SERVICES[*]} " == *" $1 "* ]] || usage; }

stop_service() { # name [--kill]
  local pid
  known_service "$1"
  if ! pid=$(pid_of "$1"); then
    rm -f "$STATE/$1.pid"
    say "$1 is not running"
    return
  fi
  signal_and_wait "$([ "$KILL" = 1 ] && echo KILL || echo TERM)" "$pid"
  rm -f "$STATE/$1.pid"
  say "$1 (pid $pid) stopped with SIG$([ "$KILL" = 1 ] && echo KILL || echo TERM)"
}

start_service() { # name: again, on the ports and config of the running cluster
  local pid t0
  known_service "$1"
  { [ -f "$STATE/temporal.yaml" ] && pid_of postgres >/dev/null; } || die "no cluster runs in $STATE (start it first)"
  if pid=$(pid_of "$1"); then say "$1 is already running (pid $pid)"; return; fi
  t0=$(now)
  service_up "$1"
  service_ready "$1"
  write_env # cluster.json: the new pid
  say "$1 started (pid $(pid_of "$1")) in $(since "$t0") s"
}

usage() {
  echo "usage: $0 build [--quiet|--check] | start|stop|status [--dir DIR] | stop-service NAME [--kill] [--dir DIR] | start-service NAME [--dir DIR]" >&2
  echo "  NAME: ${SERVICES[*]}" >&2
  exit 2
}
cmd=${1:-}
[ $# -gt 0 ] && shift
SERVICE=
case "$cmd" in
  stop-service | start-service) [ $# -gt 0 ] || usage; SERVICE=$1; shift ;;
  build)
    case "${1:-}" in
      "") build ;;
      --quiet) build quiet ;;
      --check) cached ;; # exit 0 when the cache is complete (bootstrap: build in the background or not)
      *) usage ;;
    esac
    exit ;;
esac
STATE="${PATCHBAY_TEMPORAL_CLUSTER_STATE:-$ROOT/.state/temporal-cluster}"
KILL=0
while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] || usage; STATE=$2; shift 2 ;;
    --dir=*) STATE=${1#--dir=}; shift ;;
    --kill) [ "$cmd" = stop-service ] || usage; KILL=1; shift ;;
    *) usage ;;
  esac
done
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
[ "$STATE" != / ] || die "--dir / is not a state directory"
case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  stop-service) stop_service "$SERVICE" ;;
  start-service) start_service "$SERVICE" ;;
  *) usage ;;
esac
