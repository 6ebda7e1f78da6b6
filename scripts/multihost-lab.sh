#!/usr/bin/env bash
# A multi-host test lab on this one machine, for Patchbay agents on separate hosts (issue 15): N "hosts"
# h1..hN, each a Linux network namespace with its own address and its own Docker engine.
#
#   scripts/multihost-lab.sh start [N]              # N = 1..4 (default 3): ensures h1..hN; cold 8-11 s (first image copy), warm ~1 s
#   scripts/multihost-lab.sh stop                   # engines, processes in the namespaces, mounts, links: all gone
#   scripts/multihost-lab.sh status [--json]        # one line per host; exit 0 when every host's engine answers
#   scripts/multihost-lab.sh exec HOST CMD...       # CMD in HOST's network namespace (DOCKER_HOST = its engine)
#   scripts/multihost-lab.sh link HOST up|down      # cut / restore HOST's network (its bridge-side veth)
#   scripts/multihost-lab.sh engine HOST stop|start # stop / start HOST's Docker engine
#
# Topology: bridge pblab0 with 10.77.0.1/24 in the root namespace; host hX is namespace pblab-hX with
# eth0 = 10.77.0.1X/24 and lo, joined to the bridge by a veth pair (bridge side pblab-hX-br). Traffic
# between hosts is allowed through the bridge (one iptables FORWARD rule for pblab0, removed by stop);
# nothing is routed or NATed beyond 10.77.0.0/24.
# hX's engine: dockerd started with `nsenter --net` (not `ip netns exec`, which remounts /sys and hides
# the cgroup v1 mounts), socket /run/pblab/hX/docker.sock, exec-root /run/pblab/hX/exec, data-root
# /var/lib/pblab/hX/docker (kept by stop, so copied images stay cached), log /var/lib/pblab/hX/dockerd.log.
# No bridge network, no iptables, no NAT: use `--network host` containers, which share hX's addresses.
# There is no registry: start copies PBLAB_IMAGES (space-separated; default: the main engine's
# patchbay/fixture:* and patchbay/haproxy:* images) with one docker save and a docker load per host,
# skipping images a host has with the same image ID (a warm start copies nothing).
# HOST is h1..h4 (or 1..4). start/stop/link/engine serialize on a lock; start ensures h1..hN and
# leaves other running hosts and their containers alone; stop removes every host and its containers.
# A dockerd killed with SIGKILL leaves its containerd shims and containers running: the next engine
# start kills them first (a dockerd waits ~10 s per orphaned shim and then gives up; measured).
set -euo pipefail

RUN=/run/pblab
DATA=/var/lib/pblab
BRIDGE=pblab0
SUBNET_PREFIX=10.77.0
BRIDGE_ADDR="$SUBNET_PREFIX.1"
MAX_HOSTS=4
FORWARD_RULE=(FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment pblab -j ACCEPT)

say() { printf 'multihost-lab: %s\n' "$*" >&2; }
die() { printf 'multihost-lab: ERROR: %s\n' "$*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- names ---------------------------------------------------------------------------------------
host_name() { # h1 | 1 | pblab-h1 -> h1
  local h=${1#pblab-}
  h=${h#h}
  [[ "$h" =~ ^[1-9]$ ]] && [ "$h" -le "$MAX_HOSTS" ] || die "no such host: $1 (h1..h$MAX_HOSTS)"
  echo "h$h"
}
ns_of() { echo "pblab-$1"; }
veth_of() { echo "pblab-$1-br"; }
addr_of() { echo "$SUBNET_PREFIX.1${1#h}"; }
sock_of() { echo "$RUN/$1/docker.sock"; }
existing_hosts() { # the hosts whose namespace exists, in order
  local f
  for f in /var/run/netns/pblab-h[1-9]; do [ -e "$f" ] && basename "$f" | sed 's/^pblab-//'; done
  return 0
}

# --- engines -------------------------------------------------------------------------------------
engine_pid() { # host: the pid of its dockerd, if it runs
  local pid
  pid=$(cat "$RUN/$1/dockerd.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--host unix://$(sock_of "$1") " && echo "$pid"
}
engine_answers() { curl -fsS --max-time 2 --unix-socket "$(sock_of "$1")" http://localhost/_ping >/dev/null 2>&1; }
ldocker() { local h=$1; shift; DOCKER_HOST="unix://$(sock_of "$h")" docker "$@"; }

engine_launch() { # host: start its dockerd unless it runs (does not wait)
  local h=$1 run="$RUN/$1" data="$DATA/$1"
  engine_pid "$h" >/dev/null && return 0
  [ -e "/var/run/netns/$(ns_of "$h")" ] || die "$h has no network namespace: run start first"
  mkdir -p "$run/exec" "$data/docker"
  engine_leftovers "$h"
  rm -f "$run/dockerd.pid" # stale: dockerd refuses a pid file naming a live (reused) pid
  echo '{}' >"$run/daemon.json" # not /etc/docker/daemon.json, which is the main engine's
  # setsid: the engine outlives this script; 9>&-: it must not inherit the lab lock.
  setsid nsenter --net="/var/run/netns/$(ns_of "$h")" dockerd --config-file "$run/daemon.json" \
    --host "unix://$run/docker.sock" --data-root "$data/docker" --exec-root "$run/exec" --pidfile "$run/dockerd.pid" \
    --bridge none --iptables=false --ip-masq=false --ip6tables=false --ip-forward=false --userland-proxy=false \
    --shutdown-timeout 3 --log-level warn >>"$data/dockerd.log" 2>&1 </dev/null 9>&- &
  echo "$!" >"$run/launch.pid"
}

engine_wait() { # host seconds: until its engine answers
  local h=$1 deadline=$(( SECONDS + $2 )) pid
  until engine_answers "$h"; do
    pid=$(cat "$RUN/$h/launch.pid" 2>/dev/null || true)
    if ! engine_pid "$h" >/dev/null && { [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; }; then
      die "$h's dockerd exited; last lines of $DATA/$h/dockerd.log:
$(tail -n 15 "$DATA/$h/dockerd.log" 2>/dev/null)"
    fi
    [ $SECONDS -lt "$deadline" ] || die "$h's engine did not answer within $2 s; see $DATA/$h/dockerd.log"
    sleep 0.1
  done
}

lab_pids() { # host: its engine's helpers by command line (containerd, shims), in case dockerd was killed
  local pid exe
  for pid in $(pgrep -f -- "$RUN/$1/" || true); do
    [ "$pid" = $$ ] && continue
    exe=$(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)" 2>/dev/null) || continue
    case $exe in dockerd | containerd | containerd-shim* | runc | docker-init) echo "$pid" ;; esac
  done
}

kill_wait() { # seconds pids...: TERM, then KILL what is left after that many seconds
  local secs=$1 i pid left; shift
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do
    left=()
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] && left+=("$pid"); done
    [ ${#left[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  say "killing ${#left[@]} process(es) still running after ${secs} s: ${left[*]}"
  kill -KILL "${left[@]}" 2>/dev/null || true
}

container_pids() { # host: the processes of its engine's containers, by their cgroups
  local id f
  for id in $(ls "$DATA/$1/docker/containers" 2>/dev/null); do
    for f in /sys/fs/cgroup/*/docker/"$id"/cgroup.procs /sys/fs/cgroup/docker/"$id"/cgroup.procs; do
      if [ -f "$f" ]; then cat "$f"; fi
    done
  done | sort -un
}

engine_leftovers() { # host: what a killed dockerd left (containers, shims, containerd): a restarted engine
  # would wait ~10 s per orphaned shim, and time out (measured), so none may be left running.
  local pids
  pids=$(container_pids "$1")
  # shellcheck disable=SC2086
  [ -z "$pids" ] || { say "$1: killing processes of containers its stopped engine left: $(echo $pids)"; kill -KILL $pids 2>/dev/null || true; }
  # shellcheck disable=SC2046
  kill_wait 5 $(lab_pids "$1")
}

engine_stop() { # host: its dockerd (which stops its containers, 3 s at most each, and its containerd)
  local h=$1 pid
  if pid=$(engine_pid "$h"); then kill_wait 20 "$pid"; fi
  engine_leftovers "$h"
  rm -f "$RUN/$h/dockerd.pid" "$RUN/$h/launch.pid"
}

# --- images --------------------------------------------------------------------------------------
image_ids() { # [host]: "repo:tag id" lines of the main engine, or of the host's
  if [ $# -gt 0 ]; then ldocker "$1" images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  else docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'; fi
}

copy_images() { # hosts...: PBLAB_IMAGES into each, skipping those present with the same ID
  local t0 main have images=() want=() union=() loads=() h img id pid tar status=0
  t0=$(now)
  main=$(image_ids) || die "the main Docker engine does not answer (bash scripts/bootstrap.sh)"
  if [ -n "${PBLAB_IMAGES+x}" ]; then
    read -r -a images <<<"$PBLAB_IMAGES"
  else
    mapfile -t images < <(awk '$1 ~ /^patchbay\/(fixture|haproxy):/ { print $1 }' <<<"$main" | sort)
  fi
  [ ${#images[@]} -gt 0 ] || { say "no images to copy"; return 0; }
  for img in "${images[@]}"; do
    [[ "$img" == *:* ]] || img="$img:latest"
    id=$(awk -v i="$img" '$1 == i { print $2; exit }' <<<"$main")
    [ -n "$id" ] || die "image $img is not in the main engine (bash scripts/build-fixtures.sh?)"
    want+=("$img $id")
  done
  declare -A missing=()
  for h in "$@"; do
    have=$(image_ids "$h") || die "$h's engine does not answer"
    for img in "${want[@]}"; do
      grep -qxF -- "$img" <<<"$have" && continue
      missing[$h]+=" ${img%% *}"
      [[ " ${union[*]} " == *" ${img%% *} "* ]] || union+=("${img%% *}")
    done
  done
  if [ ${#union[@]} -eq 0 ]; then
    say "images: all ${#want[@]} present on $* (checked in $(since "$t0") s)"
    return 0
  fi
  mkdir -p "$DATA"
  tar=$(mktemp "$DATA/images.XXXXXX.tar")
  docker save -o "$tar" "${union[@]}" || { rm -f "$tar"; die "docker save ${union[*]} failed"; }
  for h in "${!missing[@]}"; do
    ( ldocker "$h" load -q -i "$tar" >/dev/null && ldocker "$h" image prune -f >/dev/null ) 9>&- &
    loads+=("$!")
  done
  for pid in "${loads[@]}"; do wait "$pid" || status=1; done
  rm -f "$tar"
  [ $status = 0 ] || die "docker load into a lab engine failed"
  for h in "${!missing[@]}"; do
    have=$(image_ids "$h")
    for img in "${want[@]}"; do grep -qxF -- "$img" <<<"$have" || die "$h: ${img%% *} has not the main engine's ID after load"; done
  done
  say "images: copied ${#union[@]} of ${#want[@]} ($(for h in $(printf '%s\n' "${!missing[@]}" | sort); do printf '%s:%s ' "$h" "$(wc -w <<<"${missing[$h]}")"; done)) in $(since "$t0") s"
}

# --- network -------------------------------------------------------------------------------------
net_up() { # hosts...: bridge, namespaces, veths, addresses (each step only when missing)
  local h ns veth route
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    route=$(ip -4 route show "$SUBNET_PREFIX.0/24")
    [ -z "$route" ] || die "$SUBNET_PREFIX.0/24 is already routed here ($route): not starting a lab over it"
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$BRIDGE_ADDR/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  if command -v iptables >/dev/null; then
    # The main engine's FORWARD policy is DROP and bridged frames go through it (br_netfilter).
    iptables -C "${FORWARD_RULE[@]}" 2>/dev/null || iptables -I "${FORWARD_RULE[@]}"
  fi
  for h in "$@"; do
    ns=$(ns_of "$h") veth=$(veth_of "$h")
    [ -e "/var/run/netns/$ns" ] || ip netns add "$ns"
    if ! ip link show "$veth" >/dev/null 2>&1; then
      ip -n "$ns" link del eth0 2>/dev/null || true
      ip link add "$veth" type veth peer name eth0 netns "$ns"
    fi
    ip link set "$veth" master "$BRIDGE"
    ip link set "$veth" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr replace "$(addr_of "$h")/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
}

unmount_under() { # dir: every mount at or under it, deepest first
  local m
  findmnt -rn -o TARGET | awk -v d="$1" 'index($0, d "/") == 1 || $0 == d' | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || say "could not unmount $m"
  done
}

host_down() { # host: its engine, anything else in its namespace, mounts, namespace, veth, exec-root
  local h=$1 ns veth
  ns=$(ns_of "$h") veth=$(veth_of "$h")
  engine_stop "$h"
  # Whatever else runs in the namespace: agents and servers started with `exec`, stray containers.
  if [ -e "/var/run/netns/$ns" ]; then
    # shellcheck disable=SC2046
    kill_wait 5 $(ip netns pids "$ns" 2>/dev/null || true)
  fi
  unmount_under "$RUN/$h"
  unmount_under "$DATA/$h/docker"
  [ -e "/var/run/netns/$ns" ] && { ip netns del "$ns" || say "could not delete namespace $ns"; }
  ip link del "$veth" 2>/dev/null || true
  if findmnt -rn -o TARGET | grep -q "^$RUN/$h/"; then say "mounts left under $RUN/$h: keeping it"; else rm -rf "${RUN:?}/$h"; fi
}

# --- commands ------------------------------------------------------------------------------------
lock() { # serialize start/stop/link/engine across processes (parallel test files)
  mkdir -p "$RUN"
  exec 9>"$RUN/.lock"
  flock -w 600 9 || die "another multihost-lab command held $RUN/.lock for 600 s"
}

need() {
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces, dockerd)"
  local cmd
  for cmd in ip nsenter flock findmnt setsid pgrep curl dockerd docker; do
    command -v "$cmd" >/dev/null || die "missing $cmd (bash scripts/bootstrap.sh installs iproute2, util-linux, procps, curl, docker.io)"
  done
}

start() {
  local n=${1:-3} t0 h hosts=()
  [[ "$n" =~ ^[1-9]$ ]] && [ "$n" -le "$MAX_HOSTS" ] || die "start N: N is 1..$MAX_HOSTS (got $n)"
  t0=$(now)
  for ((i = 1; i <= n; i++)); do hosts+=("h$i"); done
  net_up "${hosts[@]}"
  for h in "${hosts[@]}"; do engine_launch "$h"; done
  for h in "${hosts[@]}"; do engine_wait "$h" 60; done
  copy_images "${hosts[@]}"
  say "started ${hosts[*]} on $BRIDGE ($BRIDGE_ADDR/24): done in $(since "$t0") s"
}

stop() {
  local t0 h hosts pids=() jobs=() ids
  t0=$(now)
  hosts=$( { existing_hosts; for h in "$RUN"/h[1-9]; do if [ -d "$h" ]; then basename "$h"; fi; done; } | sort -u)
  # A stopped lab is empty: its containers go (the data-roots, and so the images, stay), in parallel.
  for h in $hosts; do
    engine_answers "$h" || continue
    ids=$(ldocker "$h" ps -aq) || continue
    [ -z "$ids" ] && continue
    # shellcheck disable=SC2086
    ldocker "$h" rm -f $ids >/dev/null 9>&- &
    jobs+=("$!")
  done
  for h in "${jobs[@]}"; do wait "$h" || true; done
  # All engines at once: each takes ~1 s to shut down.
  for h in $hosts; do pids+=($(engine_pid "$h" || true)); done
  kill_wait 20 "${pids[@]}"
  for h in $hosts; do host_down "$h"; done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -f "$RUN/.started-by-run" # test/support/multiHostLab.ts: which test run started the lab
  if command -v iptables >/dev/null; then
    while iptables -C "${FORWARD_RULE[@]}" 2>/dev/null; do iptables -D "${FORWARD_RULE[@]}"; done
  fi
  say "stopped (hosts: $(echo ${hosts:-none})): done in $(since "$t0") s"
}

status() { # [--json]
  local json=0 ok=0 h first=1 engine link pid
  [ "${1:-}" = --json ] && json=1
  ip link show "$BRIDGE" >/dev/null 2>&1 || ok=1
  [ $json = 1 ] && printf '{"bridge":{"name":"%s","address":"%s","up":%s},"hosts":[' \
    "$BRIDGE" "$BRIDGE_ADDR" "$([ $ok = 0 ] && echo true || echo false)"
  for h in $(existing_hosts); do
    engine=false link=down pid=null
    engine_answers "$h" && engine=true
    [ $engine = true ] || ok=1
    pid=$(engine_pid "$h") || pid=null
    ip link show "$(veth_of "$h")" 2>/dev/null | grep -q '[<,]UP[,>]' && link=up
    if [ $json = 1 ]; then
      [ $first = 1 ] || printf ','
      printf '{"name":"%s","address":"%s","netns":"%s","socket":"%s","engine":%s,"enginePid":%s,"link":"%s"}' \
        "$h" "$(addr_of "$h")" "$(ns_of "$h")" "$(sock_of "$h")" "$engine" "$pid" "$link"
    else
      printf '%-3s %-11s %-26s engine %-13s link %s\n' "$h" "$(addr_of "$h")" "$(sock_of "$h")" \
        "$([ $engine = true ] && echo "answers" || echo "NOT answering")" "$link"
    fi
    first=0
  done
  [ $first = 0 ] || ok=1
  if [ $json = 1 ]; then printf ']}\n'; return 0; fi
  [ $first = 0 ] || echo "no lab hosts (start: $0 start [N])"
  return $ok
}

usage() {
  echo "usage: $0 start [N] | stop | status [--json] | exec HOST CMD... | link HOST up|down | engine HOST stop|start" >&2
  exit 2
}
cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  start) [ $# -le 1 ] || usage; need; lock; start "${1:-3}" ;;
  stop) [ $# -eq 0 ] || usage; need; lock; stop ;;
  status) [ $# -eq 0 ] || [ "$*" = --json ] || usage; status "${1:-}" ;;
  exec)
    [ $# -ge 2 ] || usage
    h=$(host_name "$1"); shift
    [ -e "/var/run/netns/$(ns_of "$h")" ] || die "$h is not running (start it first)"
    DOCKER_HOST="unix://$(sock_of "$h")" PBLAB_HOST="$h" exec nsenter --net="/var/run/netns/$(ns_of "$h")" -- "$@"
    ;;
  link)
    [ $# -eq 2 ] && [[ "$2" == up || "$2" == down ]] || usage
    h=$(host_name "$1"); need; lock
    ip link show "$(veth_of "$h")" >/dev/null 2>&1 || die "$h is not running (start it first)"
    t0=$(now)
    ip link set "$(veth_of "$h")" "$2"
    say "link $h $2: done in $(since "$t0") s"
    ;;
  engine)
    [ $# -eq 2 ] && [[ "$2" == stop || "$2" == start ]] || usage
    h=$(host_name "$1"); need; lock
    t0=$(now)
    if [ "$2" = stop ]; then engine_stop "$h"; else engine_launch "$h"; engine_wait "$h" 60; fi
    say "engine $h $2: done in $(since "$t0") s"
    ;;
  *) usage ;;
esac
