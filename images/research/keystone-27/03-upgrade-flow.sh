#!/bin/bash
# Steps 3-5: bookworm Keystone 22 DB -> trixie Keystone 27 expand / contract, serving checks, and a
# mariadb-dump snapshot restore back to 22. Host networking on 127.0.0.1 ports 19801 (k22),
# 19802 (k27), 19806 (MariaDB). Containers: pbr-trixie-db, pbr-trixie-k22, pbr-trixie-k27.
set -uo pipefail
. /tmp/pb/trixie/lib.sh
rm -rf "$W/mysql" "$W/fernet" "$W/credential"; mkdir -p "$W/mysql" "$W/fernet" "$W/credential"
rc() { echo "exit code: $1"; }

note "A. MariaDB ($DB_IMG) on 127.0.0.1:$DB_PORT"
docker rm -f $DB_CT >/dev/null 2>&1
t0=$(ts)
docker run -d --name $DB_CT --network host --init -e MARIADB_PORT=$DB_PORT -e MARIADB_ROOT_PASSWORD=$ROOT_PW \
  -e MARIADB_DATABASES="keystone:keystone:KS_PW" -e KS_PW=$KS_PW -v "$W/mysql:/var/lib/mysql" $DB_IMG >/dev/null
for i in $(seq 1 120); do docker exec $DB_CT mariadb -e 'select 1' keystone >/dev/null 2>&1 && break; sleep 0.5; done
echo "mariadb ready after $(el $t0) s"
docker exec $DB_CT mariadb -N -e "select @@version, @@log_bin, @@log_bin_trust_function_creators, @@sql_mode"

note "A. keystone 22 db-sync + bootstrap"
t0=$(ts); ks $K22 db-sync 2>&1 | grep -v '\[00m$' | tail -5; rc ${PIPESTATUS[0]}; echo "k22 db-sync took $(el $t0) s"
t0=$(ts); timeout 300 docker run --rm --network host --init -e KEYSTONE_DB_URL="$DB_URL" -e KEYSTONE_ADMIN_PASSWORD=$ADMIN_PW \
  -e KEYSTONE_PUBLIC_PORT=$K22_PORT -v "$W/fernet:/etc/keystone/fernet-keys" -v "$W/credential:/etc/keystone/credential-keys" \
  $K22 bootstrap 2>&1 | tail -3; rc ${PIPESTATUS[0]}; echo "k22 bootstrap took $(el $t0) s"
alembic; schema_dump 0-k22
sql "SELECT COUNT(*) AS tables_ FROM information_schema.tables WHERE table_schema='keystone'"

note "B. k22 serving before expand"
serve pbr-trixie-k22 $K22 $K22_PORT && token $K22_PORT && cp $W/token.$K22_PORT $W/token.k22-before

note "C. snapshot: mariadb-dump --single-transaction keystone (before expand)"
t0=$(ts); docker exec $DB_CT mariadb-dump --single-transaction --routines --triggers --databases keystone >"$W/snapshot.sql"; rc $?
echo "dump took $(el $t0) s, size $(stat -c %s $W/snapshot.sql) bytes, $(grep -c '^INSERT' $W/snapshot.sql) INSERT lines"

note "D. k27: keystone-manage db_sync --check (before expand)"
ks $K27 keystone-manage db_sync --check >"$OUT/check-1.log" 2>&1; r=$?; grep -vE 'getcurrent|^Exception ignored|^Traceback|^  File|^    ' "$OUT/check-1.log" | tail -8; rc $r

note "E. k27: keystone-manage db_sync --expand"
t0=$(ts); ks $K27 keystone-manage db_sync --expand >"$OUT/expand.log" 2>&1; r=$?; tail -15 "$OUT/expand.log"; rc $r; echo "expand took $(el $t0) s"
alembic; schema_dump 1-expanded
note "F. k27 --check after expand"
ks $K27 keystone-manage db_sync --check >"$OUT/check-2.log" 2>&1; r=$?; grep -vE 'getcurrent|^Exception ignored' "$OUT/check-2.log" | tail -8; rc $r
note "F2. k22 (old) keystone-manage db_sync --check and db_sync on the expanded DB"
ks $K22 keystone-manage db_sync --check >"$OUT/k22-check-expanded.log" 2>&1; r=$?; grep -vE 'getcurrent|^Exception ignored' "$OUT/k22-check-expanded.log" | tail -6; rc $r
ks $K22 keystone-manage db_sync >"$OUT/k22-sync-expanded.log" 2>&1; r=$?; grep -vE 'getcurrent|^Exception ignored' "$OUT/k22-sync-expanded.log" | tail -6; rc $r
alembic

note "G. serving after expand, before contract"
echo "-- k22 replica started before the expand (still running):"
token $K22_PORT; validate $K22_PORT $W/token.k22-before
echo "-- k22 restarted on the expanded schema:"
serve pbr-trixie-k22 $K22 $K22_PORT && token $K22_PORT && cp $W/token.$K22_PORT $W/token.k22-expanded && crud $K22_PORT
echo "-- k27 on the expanded schema:"
serve pbr-trixie-k27 $K27 $K27_PORT && token $K27_PORT && cp $W/token.$K27_PORT $W/token.k27-expanded && crud $K27_PORT
echo "-- cross validation (same Fernet keys, same DB):"
validate $K27_PORT $W/token.k22-expanded; validate $K22_PORT $W/token.k27-expanded; validate $K27_PORT $W/token.k22-before
echo "-- federation mapping (the table expand changed) created through k22:"
t=$(cat $W/token.k22-expanded)
echo "PUT /v3/OS-FEDERATION/mappings/m22 on k22 -> $(curl -s -m 30 -o $W/map22.json -w '%{http_code}' -X PUT -H "X-Auth-Token: $t" -H 'Content-Type: application/json' http://127.0.0.1:$K22_PORT/v3/OS-FEDERATION/mappings/m22 -d '{"mapping":{"rules":[{"local":[{"user":{"name":"{0}"}}],"remote":[{"type":"REMOTE_USER"}]}]}}')"
sql "SELECT id, schema_version FROM mapping"
t=$(cat $W/token.k27-expanded)
echo "GET /v3/OS-FEDERATION/mappings/m22 on k27 -> $(curl -s -m 30 -w ' %{http_code}' -H "X-Auth-Token: $t" http://127.0.0.1:$K27_PORT/v3/OS-FEDERATION/mappings/m22 | tail -c 300)"

note "H. k27: keystone-manage db_sync --contract (k22 and k27 both running)"
t0=$(ts); ks $K27 keystone-manage db_sync --contract >"$OUT/contract.log" 2>&1; r=$?; tail -15 "$OUT/contract.log"; rc $r; echo "contract took $(el $t0) s"
alembic; schema_dump 2-contracted
ks $K27 keystone-manage db_sync --check >"$OUT/check-3.log" 2>&1; r=$?; grep -vE 'getcurrent|^Exception ignored' "$OUT/check-3.log" | tail -8; rc $r
ks $K27 keystone-manage db_sync --check >/dev/null 2>&1; echo "(repeat --check exit $?)"

note "I. serving after contract"
echo "-- k22 replica running since G:"; token $K22_PORT; validate $K22_PORT $W/token.k27-expanded
echo "-- k22 restarted on the contracted schema:"
serve pbr-trixie-k22 $K22 $K22_PORT && token $K22_PORT && crud $K22_PORT
echo "-- k27:"; token $K27_PORT; crud $K27_PORT
ks $K22 keystone-manage db_sync --check >"$OUT/k22-check-contracted.log" 2>&1; r=$?; grep -vE 'getcurrent|^Exception ignored' "$OUT/k22-check-contracted.log" | tail -4; rc $r

note "J. restore the pre-expand snapshot (drop, create, load) and serve with k22"
docker rm -f pbr-trixie-k27 >/dev/null
t0=$(ts)
docker exec $DB_CT mariadb -e "DROP DATABASE keystone; CREATE DATABASE keystone CHARACTER SET utf8mb4;"; rc $?
docker exec -i $DB_CT mariadb keystone <"$W/snapshot.sql"; rc $?
echo "restore (drop+create+load) took $(el $t0) s"
alembic; schema_dump 3-restored
diff -q "$OUT/schema-0-k22.sql" "$OUT/schema-3-restored.sql" && echo "restored schema identical to the k22 schema"
echo "grants after restore:"; docker exec $DB_CT mariadb -N -e "SHOW GRANTS FOR 'keystone'@'%'" | sed 's/PASSWORD .*/PASSWORD .../'
echo "-- k22 replica running since I (its pool connections survived the drop?):"; token $K22_PORT
echo "-- k22 restarted:"; serve pbr-trixie-k22 $K22 $K22_PORT && token $K22_PORT && validate $K22_PORT $W/token.k22-before && crud $K22_PORT
ks $K22 keystone-manage db_sync >/dev/null 2>&1; echo "k22 db_sync on the restored DB: exit $?"
ks $K27 keystone-manage db_sync --check >/dev/null 2>&1; echo "k27 db_sync --check on the restored DB: exit $?"
note "done"
