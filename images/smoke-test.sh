#!/usr/bin/env bash
# Proves that the images built by scripts/build-openstack-images.sh work together, the way Patchbay
# runs them (host networking, --init, one port per instance, volumes on host paths):
#   MariaDB; keystone db-sync and bootstrap jobs; two Keystone replicas sharing keys: a token issued
#   by one validates on the other, and on a replica of the next version (a rolling patch); the
#   -broken tag never answers 200; HAProxy in front, driven over its Runtime API; Glance and
#   Placement answer after their db-sync jobs; every package at the version its tag says.
# Removes every container and directory it made, also on failure. Ports: 15000-15029, 15306-15307
# on 127.0.0.1 (SMOKE_PORT_BASE / SMOKE_DB_PORT move them). Needs curl and python3 on the host.
set -euo pipefail

KS_OLD="patchbay/keystone:22.0.2-0-deb12u3"
KS_NEW="patchbay/keystone:22.0.2-0-deb12u6"
KS_BROKEN="patchbay/keystone:22.0.2-0-deb12u6-broken"
GLANCE_OLD="patchbay/glance-api:25.1.0-2-deb12u3"
GLANCE_NEW="patchbay/glance-api:25.1.0-2-deb12u5"
PLACEMENT="patchbay/placement-api:8.0.0-2"
MARIADB="patchbay/mariadb:10.11.19-0-deb12u1"
HAPROXY="patchbay/haproxy:2.6.12-1-deb12u4"

P="${SMOKE_PORT_BASE:-15000}"
DB_PORT="${SMOKE_DB_PORT:-15306}"
LB_PORT=$P KS_A=$((P + 1)) KS_B=$((P + 2)) KS_C=$((P + 3)) KS_BAD=$((P + 4)) LB_RUNTIME=$((P + 9))
GL_OLD=$((P + 11)) GL_NEW=$((P + 12)) PL=$((P + 21)) DB_HEALTH=$((DB_PORT + 1))
ADMIN_PASSWORD="smoke-admin"
# shellcheck disable=SC2016 # a literal $: passwords with $ and quotes must survive every layer
export KEYSTONE_DB_PASSWORD="ks-smoke" GLANCE_DB_PASSWORD='gl$smoke"1' PLACEMENT_DB_PASSWORD="pl'smoke"
# The same passwords URL-encoded, as SQLAlchemy URLs want them.
KS_DB_URL="mysql+pymysql://keystone:ks-smoke@127.0.0.1:$DB_PORT/keystone"
GL_DB_URL="mysql+pymysql://glance:gl%24smoke%221@127.0.0.1:$DB_PORT/glance"
PL_DB_URL="mysql+pymysql://placement:pl%27smoke@127.0.0.1:$DB_PORT/placement"

STATE="$(mktemp -d /tmp/pb-smoke.XXXXXX)"
CONTAINERS=()
cleanup() {
  [ "${#CONTAINERS[@]}" = 0 ] || docker rm -f "${CONTAINERS[@]}" >/dev/null 2>&1 || true
  rm -rf "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0="$(date +%s.%N)"
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
pass() { printf 'PASS  %-66s %s\n' "$1" "${2:-}"; }
fail() { printf 'FAIL  %s\n' "$1" >&2; exit 1; }
status() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" || true; }
# Starts a long-running container; the name is remembered for the cleanup.
start() { local name="pb-smoke-$1"; shift; CONTAINERS+=("$name"); docker run -d --name "$name" --network host --init "$@" >/dev/null; }
# Runs a job container to completion; its log is shown when it fails.
job() {
  local name="pb-smoke-job-$1"; shift
  CONTAINERS+=("$name")
  docker run --name "$name" --network host --init "$@" >"$STATE/$name.log" 2>&1 || { tail -30 "$STATE/$name.log" >&2; fail "job $name"; }
  docker rm "$name" >/dev/null
}
# Waits (bounded) until URL answers one of the statuses; prints the seconds it took.
wait_status() { # URL SECONDS STATUS...
  local url="$1" seconds="$2" t0 code; shift 2; t0="$(date +%s.%N)"
  local deadline=$((SECONDS + seconds))
  while [ "$SECONDS" -lt "$deadline" ]; do
    code="$(status "$url")"
    for want in "$@"; do [ "$code" = "$want" ] && { elapsed "$t0"; return 0; }; done
    sleep 0.25
  done
  fail "$url did not answer $* within $seconds s (last: $code)"
}
runtime_api() { # COMMAND: through the socket in the volume, as Patchbay does
  python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2]+"\n").encode())
out=b""
while True:
    b=s.recv(65536)
    if not b: break
    out+=b
sys.stdout.write(out.decode())' "$STATE/lb-run/admin.sock" "$1"
}
token_request() {
  printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"%s"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}' "$ADMIN_PASSWORD"
}
issue_token() { # PORT -> the token; fails unless 201 with X-Subject-Token
  local code
  code="$(curl -s -m 10 -D "$STATE/headers" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "$(token_request)" "http://127.0.0.1:$1/v3/auth/tokens")"
  [ "$code" = 201 ] || fail "POST /v3/auth/tokens on :$1 answered $code"
  awk 'tolower($1) == "x-subject-token:" { print $2 }' "$STATE/headers" | tr -d '\r'
}

# --- every package at the version of its tag ------------------------------------------------
for image in "$KS_OLD" "$KS_NEW" "$KS_BROKEN" "$GLANCE_OLD" "$GLANCE_NEW" "$PLACEMENT" "$MARIADB" "$HAPROXY"; do
  want="$(docker image inspect -f '{{ index .Config.Labels "io.patchbay.packages" }}' "$image")" \
    || fail "$image is missing: run scripts/build-openstack-images.sh"
  pkgs=(); for p in ${want//,/ }; do pkgs+=("${p%%=*}"); done
  # shellcheck disable=SC2016 # dpkg-query's format, not the shell's
  got="$(docker run --rm --entrypoint dpkg-query "$image" -W -f '${Package}=${Version},' "${pkgs[@]}")"
  sorted() { tr ',' '\n' | grep . | sort | paste -sd, -; }
  [ "$(sorted <<<"$got")" = "$(sorted <<<"$want")" ] || fail "$image: installed ${got%,}, label says $want"
  pass "$image: dpkg-query ${want//,/ }"
done

# --- MariaDB -------------------------------------------------------------------------------
mkdir -p "$STATE/db" "$STATE/fernet" "$STATE/credential" "$STATE/lb-run" "$STATE/glance-images"
start db -v "$STATE/db:/var/lib/mysql" -e MARIADB_PORT="$DB_PORT" -e MARIADB_HEALTH_PORT="$DB_HEALTH" \
  -e MARIADB_ROOT_PASSWORD=smoke-root -e KEYSTONE_DB_PASSWORD -e GLANCE_DB_PASSWORD -e PLACEMENT_DB_PASSWORD \
  -e MARIADB_DATABASES="keystone:keystone:KEYSTONE_DB_PASSWORD glance:glance:GLANCE_DB_PASSWORD placement:placement:PLACEMENT_DB_PASSWORD" \
  "$MARIADB"
pass "mariadb: health 200 on :$DB_HEALTH (empty data directory initialised)" "$(wait_status "http://127.0.0.1:$DB_HEALTH/" 60 200) s"
docker exec pb-smoke-db mariadb -h127.0.0.1 -P"$DB_PORT" -uglance -p"$GLANCE_DB_PASSWORD" -e 'USE glance' \
  || fail "the glance user cannot use its database"
pass "mariadb: users from MARIADB_DATABASES log in over TCP (password with \$ and \")"

# --- Keystone jobs and replicas ---------------------------------------------------------------
KS_VOLUMES=(-v "$STATE/fernet:/etc/keystone/fernet-keys" -v "$STATE/credential:/etc/keystone/credential-keys")
t="$(date +%s.%N)"; job ks-db-sync "${KS_VOLUMES[@]}" -e KEYSTONE_DB_URL="$KS_DB_URL" "$KS_OLD" db-sync
pass "keystone db-sync job" "$(elapsed "$t") s"
t="$(date +%s.%N)"
job ks-bootstrap "${KS_VOLUMES[@]}" -e KEYSTONE_DB_URL="$KS_DB_URL" -e KEYSTONE_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
  -e KEYSTONE_PUBLIC_PORT="$LB_PORT" "$KS_OLD" bootstrap
pass "keystone bootstrap job (Fernet and credential keys made)" "$(elapsed "$t") s"
keys="$(cat "$STATE"/fernet/* | sha256sum)"
job ks-bootstrap-again "${KS_VOLUMES[@]}" -e KEYSTONE_DB_URL="$KS_DB_URL" -e KEYSTONE_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
  -e KEYSTONE_PUBLIC_PORT="$LB_PORT" "$KS_OLD" bootstrap
[ "$(cat "$STATE"/fernet/* | sha256sum)" = "$keys" ] || fail "a second bootstrap changed the Fernet keys"
pass "keystone bootstrap again: idempotent, keys unchanged"

start ks-a "${KS_VOLUMES[@]}" -e KEYSTONE_DB_URL="$KS_DB_URL" -e KEYSTONE_PORT="$KS_A" "$KS_OLD"
start ks-b "${KS_VOLUMES[@]}" -e KEYSTONE_DB_URL="$KS_DB_URL" -e KEYSTONE_PORT="$KS_B" "$KS_OLD"
pass "keystone A ($KS_OLD): first 200 on /v3 (A and B started together)" "$(wait_status "http://127.0.0.1:$KS_A/v3" 180 200) s"
pass "keystone B: first 200 on /v3" "$(wait_status "http://127.0.0.1:$KS_B/v3" 180 200) s"
TOKEN="$(issue_token "$KS_A")"
[ -n "$TOKEN" ] || fail "no X-Subject-Token"
pass "POST /v3/auth/tokens on A: 201 + X-Subject-Token (${#TOKEN} chars)"
code="$(status -H "X-Auth-Token: $TOKEN" -H "X-Subject-Token: $TOKEN" "http://127.0.0.1:$KS_B/v3/auth/tokens")"
[ "$code" = 200 ] || fail "GET /v3/auth/tokens on B answered $code"
pass "GET /v3/auth/tokens on B validates A's token: 200"

# --- HAProxy in front of the two replicas -----------------------------------------------------
start lb -v "$STATE/lb-run:/run/haproxy" -e HAPROXY_PORT="$LB_PORT" -e HAPROXY_RUNTIME_PORT="$LB_RUNTIME" \
  -e HAPROXY_BACKEND=keystone -e HAPROXY_SERVERS="ks-a=127.0.0.1:$KS_A ks-b=127.0.0.1:$KS_B" -e HAPROXY_CHECK_PATH=/v3 "$HAPROXY"
pass "haproxy: /v3 through the frontend :$LB_PORT" "$(wait_status "http://127.0.0.1:$LB_PORT/v3" 30 200) s"
[ "$(status "http://127.0.0.1:$LB_PORT/haproxy-health")" = 200 ] || fail "monitor-uri /haproxy-health"
for _ in $(seq 20); do [ -S "$STATE/lb-run/admin.sock" ] && break; sleep 0.25; done
stat="$(runtime_api 'show stat')"
if ! grep -q '^keystone,ks-a,' <<<"$stat" || ! grep -q '^keystone,ks-b,' <<<"$stat"; then fail "show stat: $stat"; fi
pass "Runtime API over $STATE/lb-run/admin.sock: show stat lists ks-a, ks-b"
[ -z "$(runtime_api 'set server keystone/ks-a state drain')" ] || fail "set server ... drain"
runtime_api 'show stat' | awk -F, '$2 == "ks-a" { exit !($18 == "DRAIN") }' || fail "ks-a not in DRAIN"
runtime_api 'set server keystone/ks-a state ready' >/dev/null
pass "Runtime API: set server keystone/ks-a state drain, then ready"
LB_TOKEN="$(issue_token "$LB_PORT")"
pass "token through haproxy: 201"

# --- the next version validates tokens of the previous one (a rolling patch) ------------------
job ks-db-sync-new "${KS_VOLUMES[@]}" -e KEYSTONE_DB_URL="$KS_DB_URL" "$KS_NEW" db-sync
start ks-c "${KS_VOLUMES[@]}" -e KEYSTONE_DB_URL="$KS_DB_URL" -e KEYSTONE_PORT="$KS_C" "$KS_NEW"
pass "keystone C ($KS_NEW): first 200 on /v3" "$(wait_status "http://127.0.0.1:$KS_C/v3" 180 200) s"
code="$(status -H "X-Auth-Token: $LB_TOKEN" -H "X-Subject-Token: $TOKEN" "http://127.0.0.1:$KS_C/v3/auth/tokens")"
[ "$code" = 200 ] || fail "deb12u6 did not validate a deb12u3 token: $code"
pass "C (deb12u6) validates the token A (deb12u3) issued: 200"

# --- the bad patch ------------------------------------------------------------------------------
start ks-bad "${KS_VOLUMES[@]}" -e KEYSTONE_DB_URL="$KS_DB_URL" -e KEYSTONE_PORT="$KS_BAD" "$KS_BROKEN"
for _ in $(seq 30); do
  code="$(status "http://127.0.0.1:$KS_BAD/v3")"
  [ "$code" != 200 ] || fail "$KS_BROKEN answered 200"
  sleep 1
done
pass "$KS_BROKEN: no 200 on /v3 in 30 s (last: $code)"

# --- Glance and Placement ---------------------------------------------------------------------
t="$(date +%s.%N)"; job glance-db-sync -e GLANCE_DB_URL="$GL_DB_URL" "$GLANCE_OLD" db-sync
pass "glance db-sync job" "$(elapsed "$t") s"
start glance-old -v "$STATE/glance-images:/var/lib/glance/images" -e GLANCE_DB_URL="$GL_DB_URL" -e GLANCE_PORT="$GL_OLD" "$GLANCE_OLD"
start glance-new -v "$STATE/glance-images:/var/lib/glance/images" -e GLANCE_DB_URL="$GL_DB_URL" -e GLANCE_PORT="$GL_NEW" "$GLANCE_NEW"
pass "glance-api $GLANCE_OLD: GET / 300" "$(wait_status "http://127.0.0.1:$GL_OLD/" 120 300) s"
pass "glance-api $GLANCE_NEW: GET / 300" "$(wait_status "http://127.0.0.1:$GL_NEW/" 120 300) s"
image_id="$(curl -s -m 10 -H 'Content-Type: application/json' -d '{"name":"smoke","disk_format":"raw","container_format":"bare"}' \
  "http://127.0.0.1:$GL_OLD/v2/images" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
head -c 65536 /dev/urandom >"$STATE/blob"
[ "$(status -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$STATE/blob" "http://127.0.0.1:$GL_OLD/v2/images/$image_id/file")" = 204 ] \
  || fail "image upload"
[ "$(status "http://127.0.0.1:$GL_NEW/v2/images/$image_id/file")" = 200 ] || fail "image download from the other replica"
pass "glance: image uploaded to one version, downloaded from the other (shared store)"
t="$(date +%s.%N)"; job placement-db-sync -e PLACEMENT_DB_URL="$PL_DB_URL" "$PLACEMENT" db-sync
pass "placement db-sync job" "$(elapsed "$t") s"
start placement -e PLACEMENT_DB_URL="$PL_DB_URL" -e PLACEMENT_PORT="$PL" "$PLACEMENT"
pass "placement-api: GET / 200" "$(wait_status "http://127.0.0.1:$PL/" 120 200) s"
[ "$(status -H 'X-Auth-Token: admin' -H 'Content-Type: application/json' -d '{"name":"smoke-rp"}' "http://127.0.0.1:$PL/resource_providers")" = 201 ] \
  || fail "placement: create a resource provider"
pass "placement: POST /resource_providers 201 (noauth2)"

# --- stopping is prompt (SIGTERM through --init) ----------------------------------------------
for c in ks-a glance-old placement lb db; do
  t="$(date +%s.%N)"; docker stop -t 20 "pb-smoke-$c" >/dev/null
  pass "docker stop pb-smoke-$c" "$(elapsed "$t") s"
done
docker logs pb-smoke-db 2>&1 | grep -q 'Shutdown complete' || fail "mariadb did not shut down cleanly"
pass "mariadb: clean shutdown on SIGTERM"
echo "all passed in $(elapsed "$T0") s"
