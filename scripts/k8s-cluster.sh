#!/usr/bin/env bash
# A real, small Kubernetes control plane on 127.0.0.1 for Patchbay's Kubernetes runtime tests:
# etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from Kubernetes' own Go modules
# (tools/k8s/go.mod), and KWOK playing two nodes and their pods (tools/k8s/kwok-stages.yaml).
#
#   scripts/k8s-cluster.sh build               # build what is missing (cold ~5-6 min on 2 cores, then cached)
#   scripts/k8s-cluster.sh start  [--dir DIR]  # start (~5.5 s warm): a fresh, empty cluster; prints the kubeconfig path
#   scripts/k8s-cluster.sh stop   [--dir DIR]  # stop it, no process left
#   scripts/k8s-cluster.sh status [--dir DIR]  # exit 0 when every component runs
#
# DIR (default: $PATCHBAY_K8S_STATE, else .state/k8s) holds the kubeconfig, pki/ca.crt, admin.token,
# apiserver.port, *.pid and *.log. Each DIR is its own cluster on its own free ports. Pods become
# Running and Ready, except pods labelled patchbay.test/never-ready=true or with the image
# patchbay/fixture:never-ready (never Ready); pods of Jobs complete. See tools/k8s/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S_VERSION="v1.34.4" # k8s.io/kubernetes in tools/k8s/go.mod; etcd v3.6.4 comes with it
KWOK_VERSION="v0.7.0"
CACHE="${PATCHBAY_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patchbay/k8s-$K8S_VERSION-kwok-$KWOK_VERSION}"
BIN="$ROOT/.tools/bin"
MODULE="$ROOT/tools/k8s"
STAGES="$MODULE/kwok-stages.yaml"
FROM_MODULE=(kube-apiserver kube-controller-manager kube-scheduler etcd)
COMPONENTS=(etcd apiserver controller-manager scheduler kwok) # start order; stop is the reverse

say() { printf 'k8s-cluster: %s\n' "$*" >&2; }
die() { printf 'k8s-cluster: ERROR: %s\n' "$*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
GO="$(command -v go || echo /usr/local/go/bin/go)"
# Stripped, and reporting their version (/version, --version) as a release build would.
LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
LDFLAGS+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1"

# What the cached binaries were built from: a change to any of it rebuilds them.
recipe() { { "$GO" version; echo "$LDFLAGS"; cat "$MODULE/go.mod" "$MODULE/go.sum" "$MODULE/cmd/etcd/main.go"; } | sha256sum | cut -c1-16; }

build() { # [quiet]: say nothing when nothing was missing
  mkdir -p "$CACHE/bin" "$BIN"
  local t0 stamp missing=() pkgs=() tmp built_now=
  t0=$(now)
  stamp=$(recipe)
  [ "$(cat "$CACHE/bin/.recipe" 2>/dev/null)" = "$stamp" ] || rm -f "$CACHE/bin/.recipe" "${FROM_MODULE[@]/#/$CACHE/bin/}"
  for cmd in "${FROM_MODULE[@]}"; do
    [ -x "$CACHE/bin/$cmd" ] && continue
    missing+=("$cmd")
    case $cmd in etcd) pkgs+=(./cmd/etcd) ;; *) pkgs+=("k8s.io/kubernetes/cmd/$cmd") ;; esac
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "building ${missing[*]} (Kubernetes $K8S_VERSION) into $CACHE/bin, once: ~5 min cold on 2 cores"
    tmp=$(mktemp -d "$CACHE/build.XXXXXX")
    (cd "$MODULE" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly nice -n 10 \
      "$GO" build -trimpath -buildvcs=false -ldflags "$LDFLAGS" -o "$tmp/" "${pkgs[@]}") || { rm -rf "$tmp"; die "go build failed"; }
    for cmd in "${missing[@]}"; do mv -f "$tmp/$cmd" "$CACHE/bin/$cmd"; done
    rm -rf "$tmp"
    echo "$stamp" > "$CACHE/bin/.recipe"
    built_now="${missing[*]}"
  fi
  if [ ! -x "$CACHE/bin/kwok" ]; then
    say "building kwok $KWOK_VERSION into $CACHE/bin, once"
    tmp=$(mktemp -d "$CACHE/build.XXXXXX")
    (cd "$tmp" && GOBIN="$tmp" GOTOOLCHAIN=local GOFLAGS='' nice -n 10 \
      "$GO" install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION") || { rm -rf "$tmp"; die "go install kwok failed"; }
    mv -f "$tmp/kwok" "$CACHE/bin/kwok"
    built_now+="${built_now:+ }kwok"
    rm -rf "$tmp"
  fi
  # Into .tools/bin: a hard link (a copy across file systems), swapped in atomically so that running
  # clusters keep their binaries.
  for cmd in "${FROM_MODULE[@]}" kwok; do
    [ "$BIN/$cmd" -ef "$CACHE/bin/$cmd" ] && continue
    ln -f "$CACHE/bin/$cmd" "$BIN/.$cmd.new" 2>/dev/null || cp -f "$CACHE/bin/$cmd" "$BIN/.$cmd.new"
    mv -f "$BIN/.$cmd.new" "$BIN/$cmd"
  done
  [ "${1:-}" = quiet ] && [ -z "$built_now" ] && return
  say "build: done in $(since "$t0") s (built: ${built_now:-nothing, all cached}); binaries in $BIN"
}

# pid_of, alive, launch, exited, wait_for: shared with scripts/temporal-cluster.sh
# shellcheck source=lib/cluster-processes.sh
source "$ROOT/scripts/lib/cluster-processes.sh"

api() { # method path [body]: the API as the admin
  curl -sS --noproxy '*' --max-time 5 -A patchbay-k8s-cluster --cacert "$STATE/pki/ca.crt" \
    -H "Authorization: Bearer $(cat "$STATE/admin.token")" -H 'Content-Type: application/json' \
    -X "$1" "https://127.0.0.1:$(cat "$STATE/apiserver.port")$2" ${3:+-d "$3"}
}

readyz() { [ "$(api GET /readyz)" = ok ]; }
default_sa() { api GET /api/v1/namespaces/default/serviceaccounts/default | grep -q '"kind":"ServiceAccount"'; }
nodes_ready() { [ "$(api GET /api/v1/nodes | grep -o '"type":"Ready","status":"True"' | wc -l)" -ge 2 ]; }

pki() {
  local p="$STATE/pki" ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  mkdir -p "$p"
  openssl req -x509 "${ec[@]}" -keyout "$p/ca.key" -out "$p/ca.crt" -days 30 -subj /CN=patchbay-k8s-ca 2>/dev/null
  openssl req "${ec[@]}" -keyout "$p/apiserver.key" -out "$p/apiserver.csr" -subj /CN=kube-apiserver 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' >"$p/san.ext"
  openssl x509 -req -in "$p/apiserver.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 30 \
    -extfile "$p/san.ext" -out "$p/apiserver.crt" 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out "$p/sa.key"
  openssl ec -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  chmod 600 "$p"/*.key
}

start() {
  build quiet # a no-op (~20 ms) when the cached binaries match tools/k8s
  if status >/dev/null; then
    say "already running: https://127.0.0.1:$(cat "$STATE/apiserver.port")"
    echo "$STATE/kubeconfig"
    return
  fi
  stop quiet
  local t0 ports etcd_port peer_port api_port
  t0=$(now)
  rm -rf "$STATE/pki" "$STATE/etcd" "$STATE"/*.log "$STATE"/*.pid "$STATE"/*.token "$STATE/tokens.csv"
  mkdir -p "$STATE/etcd" && chmod 700 "$STATE/etcd"
  pki
  # Static tokens: the admin (group system:masters) and a user with no rights at all (RBAC checks).
  openssl rand -hex 24 >"$STATE/admin.token"
  openssl rand -hex 24 >"$STATE/nobody.token"
  printf '%s,admin,admin,system:masters\n%s,nobody,nobody\n' "$(cat "$STATE/admin.token")" "$(cat "$STATE/nobody.token")" >"$STATE/tokens.csv"
  chmod 600 "$STATE"/*.token "$STATE/tokens.csv"
  ports=$(node -e '
    const net = require("net"); const ss = [0, 1, 2].map(() => net.createServer());
    Promise.all(ss.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(s.address().port)))))
      .then((ps) => { console.log(ps.join(" ")); ss.forEach((s) => s.close()); });')
  read -r etcd_port peer_port api_port <<<"$ports"
  echo "$api_port" >"$STATE/apiserver.port"
  cat >"$STATE/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: patchbay-test
    cluster:
      server: https://127.0.0.1:$api_port
      certificate-authority-data: $(base64 -w0 "$STATE/pki/ca.crt")
users:
  - name: admin
    user: { token: $(cat "$STATE/admin.token") }
  - name: nobody
    user: { token: $(cat "$STATE/nobody.token") }
contexts:
  - name: patchbay-test
    context: { cluster: patchbay-test, user: admin }
  - name: patchbay-test-nobody
    context: { cluster: patchbay-test, user: nobody }
current-context: patchbay-test
KUBECONFIG
  chmod 600 "$STATE/kubeconfig"

  launch etcd "$BIN/etcd" --name patchbay --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "patchbay=http://127.0.0.1:$peer_port" --unsafe-no-fsync --log-level warn
  # No kubelet and no node lifecycle controller: nodes get no not-ready taint, and the "kubernetes"
  # service gets no endpoint (127.0.0.1 is not a valid one).
  launch apiserver "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$STATE/pki/apiserver.crt" --tls-private-key-file "$STATE/pki/apiserver.key" \
    --client-ca-file "$STATE/pki/ca.crt" --token-auth-file "$STATE/tokens.csv" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$STATE/pki/sa.pub" \
    --service-account-signing-key-file "$STATE/pki/sa.key" --service-cluster-ip-range 10.96.0.0/16 \
    --endpoint-reconciler-type none --disable-admission-plugins TaintNodesByCondition --allow-privileged \
    --enable-priority-and-fairness=false --profiling=false -v 0
  wait_for "API server /readyz" 60 readyz
  # Started after /readyz: the controller-manager gives up when the API is not healthy within 10 s,
  # which a loaded machine exceeded. The controllers (Deployments, ReplicaSets, Jobs, namespaces,
  # garbage collection, service accounts...) and the scheduler talk to the API as the admin and serve
  # nothing themselves.
  launch controller-manager "$BIN/kube-controller-manager" --kubeconfig "$STATE/kubeconfig" \
    --secure-port 0 --leader-elect=false --use-service-account-credentials=false \
    --service-account-private-key-file "$STATE/pki/sa.key" --root-ca-file "$STATE/pki/ca.crt" \
    --controllers '*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service-lb-controller,-route,-persistentvolume-binder,-attachdetach,-csrsigning' \
    --kube-api-qps 100 --kube-api-burst 200 --profiling=false -v 0
  launch scheduler "$BIN/kube-scheduler" --kubeconfig "$STATE/kubeconfig" --secure-port 0 --leader-elect=false -v 0
  # KWOK: the nodes annotated kwok.x-k8s.io/node=fake and their pods, by tools/k8s/kwok-stages.yaml.
  launch kwok "$BIN/kwok" --kubeconfig "$STATE/kubeconfig" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake --config "$STAGES"
  for node in kwok-node-0 kwok-node-1; do
    api POST /api/v1/nodes "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$node\",
      \"annotations\":{\"kwok.x-k8s.io/node\":\"fake\",\"node.alpha.kubernetes.io/ttl\":\"0\"},
      \"labels\":{\"type\":\"kwok\",\"kubernetes.io/hostname\":\"$node\",\"kubernetes.io/os\":\"linux\",\"kubernetes.io/arch\":\"amd64\"}},
      \"status\":{\"allocatable\":{\"cpu\":\"32\",\"memory\":\"256Gi\",\"pods\":\"110\"},
      \"capacity\":{\"cpu\":\"32\",\"memory\":\"256Gi\",\"pods\":\"110\"}}}" | grep -q '"kind":"Node"' \
      || die "could not create node $node"
  done
  wait_for "ready KWOK nodes" 60 nodes_ready
  wait_for "service account default/default" 60 default_sa
  say "started in $(since "$t0") s: https://127.0.0.1:$api_port, logs in $STATE"
  echo "$STATE/kubeconfig"
}

stop() { # [quiet]
  local pids=() pid c i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    c=${COMPONENTS[$i]}
    if pid=$(pid_of "$c"); then pids+=("$pid"); kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; fi
  done
  # Anything else of this cluster's binaries whose command line names this state directory (a lost
  # pid file, a child): not one process of another cluster or program.
  for pid in $(pgrep -f -- "$STATE/" || true); do
    [ "$pid" = $$ ] && continue
    [[ " ${pids[*]} " == *" $pid "* ]] && continue
    case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in "$BIN"/* | "$CACHE"/bin/*) ;; *) continue ;; esac
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$STATE/" || continue
    pids+=("$pid"); kill -TERM "$pid" 2>/dev/null || true
  done
  for i in $(seq 1 100); do
    local alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    [ ${#alive[@]} -eq 0 ] && break
    [ "$i" = 100 ] && for pid in "${alive[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
    sleep 0.1
  done
  rm -f "$STATE"/*.pid
  rm -rf "$STATE/etcd"
  [ "${1:-}" = quiet ] || say "stopped (${#pids[@]} processes)"
}

status() {
  local ok=0 pid c
  for c in "${COMPONENTS[@]}"; do
    if pid=$(pid_of "$c"); then printf '%-19s running (pid %s)\n' "$c" "$pid"; else printf '%-19s stopped\n' "$c"; ok=1; fi
  done
  if [ $ok = 0 ] && readyz; then
    printf 'API server          https://127.0.0.1:%s (ready)\nkubeconfig          %s\n' "$(cat "$STATE/apiserver.port")" "$STATE/kubeconfig"
  else
    ok=1
  fi
  return $ok
}

usage() { echo "usage: $0 build | start [--dir DIR] | stop [--dir DIR] | status [--dir DIR]" >&2; exit 2; }
cmd=${1:-}
[ $# -gt 0 ] && shift
STATE="${PATCHBAY_K8S_STATE:-$ROOT/.state/k8s}"
while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] || usage; STATE=$2; shift 2 ;;
    --dir=*) STATE=${1#--dir=}; shift ;;
    *) usage ;;
  esac
done
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
[ "$STATE" != / ] || die "--dir / is not a state directory"
case "$cmd" in
  build) build ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
