#!/bin/bash
# The built image patchbay/keystone:27 (scripts/build-openstack-images.sh) and its migration phases
# run the way a record's services[].migrations runs them: each phase a one-off job container of the
# 27 image, the delivered keystone.conf copied in before it starts (docker create, docker cp,
# docker start), the exit code read afterwards. Keystone 22 (patchbay/keystone:22.0.2-0-deb12u6)
# serves throughout, with a client asking it for tokens during expand and contract.
# Host networking on 127.0.0.1: 19806 MariaDB, 19801 Keystone 22, 19802 Keystone 27. Containers
# pbr-k27-*; all removed at the end (the images stay). Run as root on the build host; PROCESS=1 grants
# the keystone user the PROCESS privilege first. Prints PASS or FAIL last.
set -uo pipefail
W=/tmp/pb/k27-proof
DB_IMG=patchbay/mariadb:10.11.19-0-deb12u1
K22=patchbay/keystone:22.0.2-0-deb12u6
K27=patchbay/keystone:27
DB_PORT=19806 K22_PORT=19801 K27_PORT=19802
ROOT_PW=rootpw19806 KS_PW=kspw19806 ADMIN_PW=adminpw19806
DB_CT=pbr-k27-db
ts() { date +%s.%N; }
el() { awk -v a="$1" -v b="$(ts)" 'BEGIN{printf "%.1f", b-a}'; }
note() { printf '\n### %s  [%s]\n' "$*" "$(date -u +%T)"; }
sql() { docker exec "$DB_CT" mariadb -N -B keystone -e "$1"; }
# The servers' logs are kept for reading after the run (LOGS, outside the work directory).
LOGS=${LOGS:-/tmp/pb/k27-proof-logs}
cleanup() {
  local c
  mkdir -p "$LOGS"
  for c in pbr-k27-k22 pbr-k27-k27; do docker logs "$c" >"$LOGS/$c.log" 2>&1 || true; done
  [ -f "$W/load.all" ] && cp "$W/load.all" "$LOGS/load.log"
  for c in pbr-k27-db pbr-k27-k22 pbr-k27-k27 pbr-k27-job; do
    docker inspect "$c" >/dev/null 2>&1 && docker rm -f "$c" >/dev/null && echo "removed $c"
  done
  rm -rf --one-file-system "$W"
}
trap cleanup EXIT
cleanup >/dev/null
mkdir -p "$W/mysql" "$W/fernet" "$W/credential"
# The delivered configuration (examples/config/keystone/keystone.conf, password resolved).
cat >"$W/keystone.conf" <<EOF
[DEFAULT]
use_stderr = true
debug = false
[database]
connection = mysql+pymysql://keystone:$KS_PW@127.0.0.1:$DB_PORT/keystone
[token]
provider = fernet
[fernet_tokens]
key_repository = /etc/keystone/fernet-keys
[fernet_receipts]
key_repository = /etc/keystone/fernet-keys
[credential]
key_repository = /etc/keystone/credential-keys
[cache]
enabled = false
[catalog]
template_file = /etc/keystone/default_catalog.templates
EOF
VOLS=(-v "$W/fernet:/etc/keystone/fernet-keys" -v "$W/credential:/etc/keystone/credential-keys")
# job NAME IMAGE ARGS...: a one-off container as Patchbay's docker runtime makes it; prints its output
# and sets RC to its exit code.
job() {
  local name="$1" img="$2" t0; shift 2
  t0=$(ts)
  docker rm -f pbr-k27-job >/dev/null 2>&1
  docker create --name pbr-k27-job --network host --init "${VOLS[@]}" "${JOB_ENV[@]}" "$img" "$@" >/dev/null
  docker cp "$W/keystone.conf" pbr-k27-job:/etc/keystone/keystone.conf
  docker start -a pbr-k27-job 2>&1 | grep -v '\[00m$' | sed 's/^/    /'
  RC=$(docker inspect -f '{{.State.ExitCode}}' pbr-k27-job)
  docker rm -f pbr-k27-job >/dev/null
  echo "  job $name ($img $*): exit $RC in $(el "$t0") s"
}
JOB_ENV=()
serve() { # NAME IMAGE PORT
  local name="$1" img="$2" port="$3" t0
  docker rm -f "$name" >/dev/null 2>&1
  t0=$(ts)
  docker create --name "$name" --network host --init "${VOLS[@]}" -e KEYSTONE_PORT="$port" "$img" >/dev/null
  docker cp "$W/keystone.conf" "$name:/etc/keystone/keystone.conf"
  docker start "$name" >/dev/null
  for _ in $(seq 1 240); do
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/v3")" = 200 ] && { echo "  $name ($img): GET /v3 200 after $(el "$t0") s"; return 0; }
    sleep 0.5
  done
  echo "  $name: no 200"; docker logs --tail 20 "$name"; return 1
}
AUTH='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"'"$ADMIN_PW"'"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}'
token() { # PORT: prints the status of POST /v3/auth/tokens; the token into $W/token.PORT
  local code
  code=$(curl -s -m 30 -o /dev/null -D "$W/hdr.$1" -w '%{http_code}' -H 'Content-Type: application/json' "http://127.0.0.1:$1/v3/auth/tokens" -d "$AUTH")
  tr -d '\r' <"$W/hdr.$1" | awk -F': ' 'tolower($1)=="x-subject-token"{print $2}' >"$W/token.$1"
  echo "  POST /v3/auth/tokens on :$1 -> $code"
}
validate() { # PORT TOKEN_FILE
  local t; t=$(cat "$2")
  echo "  GET /v3/auth/tokens on :$1 (token from $(basename "$2")) -> $(curl -s -m 30 -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $t" -H "X-Subject-Token: $t" "http://127.0.0.1:$1/v3/auth/tokens")"
}
# A client asking for a token every 0.2 s on the given ports while a phase runs: each request's
# status and duration to $W/load.log.
load_start() {
  : >"$W/load.log"
  touch "$W/load.on"
  ( while [ -f "$W/load.on" ]; do
      for p in "$@"; do
        curl -s -m 60 -o /dev/null -w "$p %{http_code} %{time_total} curl-exit=%{exitcode} %{errormsg} $(date -u +%T.%N)\n" -H 'Content-Type: application/json' "http://127.0.0.1:$p/v3/auth/tokens" -d "$AUTH" >>"$W/load.log"
      done
      sleep 0.2
    done ) &
  LOAD_PID=$!
}
load_stop() {
  rm -f "$W/load.on"; wait "$LOAD_PID" 2>/dev/null
  cat "$W/load.log" >>"$W/load.all"
  grep -v ' 201 ' "$W/load.log" | sed 's/^/  not 201: /'
  awk '{ n[$1" "$2]++; if ($3 > max[$1]) max[$1] = $3 } END { for (k in n) { split(k, a, " "); printf "  load on :%s: %d x %s (slowest on that port %.2f s)\n", a[1], n[k], a[2], max[a[1]] } }' "$W/load.log"
}
idle_trx() {
  docker exec "$DB_CT" mariadb -N -e "SELECT COUNT(*) FROM information_schema.innodb_trx t JOIN information_schema.processlist p ON p.ID=t.trx_mysql_thread_id WHERE p.COMMAND='Sleep' AND p.DB='keystone'"
}

note "MariaDB ($DB_IMG) on 127.0.0.1:$DB_PORT"
docker run -d --name "$DB_CT" --network host --init -e MARIADB_PORT=$DB_PORT -e MARIADB_ROOT_PASSWORD=$ROOT_PW \
  -e MARIADB_DATABASES="keystone:keystone:KS_PW" -e KS_PW=$KS_PW -v "$W/mysql:/var/lib/mysql" "$DB_IMG" >/dev/null
for _ in $(seq 1 120); do docker exec "$DB_CT" mariadb -e 'select 1' keystone >/dev/null 2>&1 && break; sleep 0.5; done
# PROCESS=1: also grant the PROCESS privilege, so that only idle sessions holding a transaction are killed.
[ "${PROCESS:-0}" = 1 ] && docker exec "$DB_CT" mariadb -e "GRANT PROCESS ON *.* TO 'keystone'@'%'"
echo "  keystone's grants: $(docker exec "$DB_CT" mariadb -N -e "SHOW GRANTS FOR 'keystone'@'%'" | sed 's/IDENTIFIED.*//' | tr '\n' ';')"

note "Keystone 22: db-sync, bootstrap, serve"
job db-sync "$K22" db-sync
JOB_ENV=(-e "KEYSTONE_ADMIN_PASSWORD=$ADMIN_PW" -e "KEYSTONE_PUBLIC_PORT=$K22_PORT")
job bootstrap "$K22" bootstrap
JOB_ENV=()
echo "  alembic_version: $(sql 'SELECT version_num FROM alembic_version ORDER BY 1' | tr '\n' ' ')"
serve pbr-k27-k22 "$K22" $K22_PORT
token $K22_PORT; token $K22_PORT; cp "$W/token.$K22_PORT" "$W/token.k22-before"
echo "  idle keystone sessions with an open transaction: $(idle_trx)"

note "check with the 27 image on Keystone 22's schema (expect 2)"
job check "$K27" patchbay-keystone-db check; CHECK1=$RC

note "expand with the 27 image while Keystone 22 serves (and a client asks it for tokens)"
load_start $K22_PORT; sleep 1
job expand "$K27" patchbay-keystone-db expand; EXPAND=$RC
sleep 1; load_stop
echo "  alembic_version: $(sql 'SELECT version_num FROM alembic_version ORDER BY 1' | tr '\n' ' ')"

note "check (expect 4)"
job check "$K27" patchbay-keystone-db check; CHECK2=$RC

note "both serve on the expanded schema"
token $K22_PORT; validate $K22_PORT "$W/token.k22-before"
serve pbr-k27-k27 "$K27" $K27_PORT
token $K27_PORT; cp "$W/token.$K27_PORT" "$W/token.k27"
validate $K27_PORT "$W/token.k22-before"; validate $K22_PORT "$W/token.k27"
echo "  idle keystone sessions with an open transaction: $(idle_trx)"

note "contract with the 27 image while 22 and 27 serve (and a client asks both for tokens)"
load_start $K22_PORT $K27_PORT; sleep 1
job contract "$K27" patchbay-keystone-db contract; CONTRACT=$RC
sleep 1; load_stop
echo "  alembic_version: $(sql 'SELECT version_num FROM alembic_version ORDER BY 1' | tr '\n' ' ')"

note "check (expect 0)"
job check "$K27" patchbay-keystone-db check; CHECK3=$RC

note "both serve after contract"
token $K22_PORT; token $K27_PORT; validate $K22_PORT "$W/token.k27"; validate $K27_PORT "$W/token.k22-before"

note "phases repeated: expand and contract at the heads are no-ops"
job expand "$K27" patchbay-keystone-db expand; EXPAND2=$RC
job contract "$K27" patchbay-keystone-db contract; CONTRACT2=$RC

note "the environment way (KEYSTONE_DB_URL), on other databases: empty (expect 2), a revision 27 does not know (expect 1)"
docker exec "$DB_CT" mariadb -e "CREATE DATABASE scratch"
t0=$(ts); docker run --rm --network host --init -e KEYSTONE_DB_URL="mysql+pymysql://root:$ROOT_PW@127.0.0.1:$DB_PORT/scratch" "$K27" patchbay-keystone-db check 2>&1 | sed 's/^/    /'
CHECK_EMPTY=${PIPESTATUS[0]}; echo "  check on an empty database: exit $CHECK_EMPTY in $(el "$t0") s"
docker exec "$DB_CT" mariadb -e "CREATE TABLE scratch.alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY)"
docker exec "$DB_CT" mariadb -e "INSERT INTO scratch.alembic_version VALUES ('29e87d24a316'), ('deadbeef0001')"
docker run --rm --network host --init -e KEYSTONE_DB_URL="mysql+pymysql://root:$ROOT_PW@127.0.0.1:$DB_PORT/scratch" "$K27" patchbay-keystone-db check 2>&1 | sed 's/^/    /'
CHECK_UNKNOWN=${PIPESTATUS[0]}; echo "  check with an unknown revision: exit $CHECK_UNKNOWN"
docker run --rm --network host --init "$K27" patchbay-keystone-db check 2>&1 | sed 's/^/    /'
CHECK_NOCONF=${PIPESTATUS[0]}; echo "  check with no configuration: exit $CHECK_NOCONF"

note "a new cloud on 27: expand on an empty database (expect 0), check (4), contract (0), check (0)"
docker exec "$DB_CT" mariadb -e "CREATE DATABASE fresh"
FRESH=(docker run --rm --network host --init -e KEYSTONE_DB_URL="mysql+pymysql://root:$ROOT_PW@127.0.0.1:$DB_PORT/fresh" "$K27" patchbay-keystone-db)
"${FRESH[@]}" contract 2>&1 | grep -v 'alembic.runtime.migration \[-\] \(Context\|Will\)' | sed 's/^/    /'; F0=${PIPESTATUS[0]}
"${FRESH[@]}" expand 2>&1 | grep -c 'Running upgrade' | sed 's/^/    revisions run by expand: /'; F1=${PIPESTATUS[0]}
"${FRESH[@]}" check 2>&1 | tail -1 | sed 's/^/    /'; F2=${PIPESTATUS[0]}
"${FRESH[@]}" contract 2>&1 | grep -c 'Running upgrade' | sed 's/^/    revisions run by contract: /'; F3=${PIPESTATUS[0]}
"${FRESH[@]}" check 2>&1 | tail -1 | sed 's/^/    /'; F4=${PIPESTATUS[0]}
echo "  contract first: $F0 (keystone-manage refuses: 1); expand $F1, check $F2, contract $F3, check $F4"

note "summary"
echo "check on 22: $CHECK1 (want 2); expand: $EXPAND (0); check: $CHECK2 (4); contract: $CONTRACT (0); check: $CHECK3 (0)"
echo "expand again: $EXPAND2 (0); contract again: $CONTRACT2 (0); empty: $CHECK_EMPTY (2); unknown: $CHECK_UNKNOWN (1); no conf: $CHECK_NOCONF (1)"
echo "new cloud: contract first $F0 (1), expand $F1 (0), check $F2 (4), contract $F3 (0), check $F4 (0)"
[ "$CHECK1$EXPAND$CHECK2$CONTRACT$CHECK3$EXPAND2$CONTRACT2$CHECK_EMPTY$CHECK_UNKNOWN$CHECK_NOCONF-$F0$F1$F2$F3$F4" = 2040000211-10400 ] \
  && echo PASS || echo FAIL
