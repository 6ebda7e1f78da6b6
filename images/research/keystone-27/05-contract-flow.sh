#!/bin/bash
# After 04 (DB at expand head 47147121, contract e25ffa003242): full expanded schema dump, serving
# on the expanded schema by k22 + k27, then --contract while both serve (bounded), then serving
# after contract, then restore of the pre-expand snapshot and k22 again.
set -uo pipefail
. /tmp/pb/trixie/lib.sh
rc() { echo "exit code: $1"; }
note "state"; alembic; schema_dump 1-expanded
ks $K27 keystone-manage db_sync --check >"$OUT/check-2b.log" 2>&1; r=$?; grep -E 'keystone.cmd.cli|^Expand|^Contract' "$OUT/check-2b.log"; rc $r
note "serving on the fully expanded schema"
serve pbr-trixie-k22 $K22 $K22_PORT && token $K22_PORT && cp $W/token.$K22_PORT $W/token.k22-expanded && crud $K22_PORT
serve pbr-trixie-k27 $K27 $K27_PORT && token $K27_PORT && cp $W/token.$K27_PORT $W/token.k27-expanded && crud $K27_PORT
validate $K27_PORT $W/token.k22-expanded; validate $K22_PORT $W/token.k27-expanded; validate $K27_PORT $W/token.k22-before
t=$(cat $W/token.k22-expanded)
echo "PUT mapping m22b via k22 -> $(curl -s -m 30 -o /dev/null -w '%{http_code}' -X PUT -H "X-Auth-Token: $t" -H 'Content-Type: application/json' http://127.0.0.1:$K22_PORT/v3/OS-FEDERATION/mappings/m22b -d '{"mapping":{"rules":[{"local":[{"user":{"name":"{0}"}}],"remote":[{"type":"REMOTE_USER"}]}]}}')"
t=$(cat $W/token.k27-expanded)
echo "PUT mapping m27 via k27 (schema_version 2.0) -> $(curl -s -m 30 -o /dev/null -w '%{http_code}' -X PUT -H "X-Auth-Token: $t" -H 'Content-Type: application/json' http://127.0.0.1:$K27_PORT/v3/OS-FEDERATION/mappings/m27 -d '{"mapping":{"schema_version":"2.0","rules":[{"local":[{"user":{"name":"{0}"}}],"remote":[{"type":"REMOTE_USER"}]}]}}')"
sql "SELECT id, schema_version FROM mapping"
echo "GET mappings via k22 -> $(curl -s -m 30 -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $(cat $W/token.k22-expanded)" http://127.0.0.1:$K22_PORT/v3/OS-FEDERATION/mappings)"
echo "GET mapping m22b via k27 -> $(curl -s -m 30 -H "X-Auth-Token: $t" http://127.0.0.1:$K27_PORT/v3/OS-FEDERATION/mappings/m22b | head -c 200)"

note "contract while k22 and k27 serve (bounded 120 s)"
rm -f "$W/contract.rc"; t0=$(ts)
( ks $K27 keystone-manage db_sync --contract >"$OUT/contract-2.log" 2>&1; echo "contract exit $? after $(el $t0) s" >"$W/contract.rc" ) &
bg=$!
for i in $(seq 1 24); do sleep 5; [ -f "$W/contract.rc" ] && break
  if [ $i = 2 ]; then docker exec $DB_CT mariadb -e "SELECT ID,COMMAND,TIME,STATE,LEFT(INFO,100) info FROM information_schema.processlist WHERE USER='keystone'"
    docker exec $DB_CT mariadb -e "SELECT THREAD_ID,LOCK_MODE,TABLE_NAME FROM information_schema.metadata_lock_info WHERE TABLE_NAME<>''"
    echo "a token on k27 while contract waits (curl -m 15):"; token $K27_PORT; fi
done
if [ ! -f "$W/contract.rc" ]; then echo "contract stuck after 120 s: restarting k22 then k27"; docker restart -t 10 pbr-trixie-k22 >/dev/null; sleep 3; [ -f "$W/contract.rc" ] || docker restart -t 10 pbr-trixie-k27 >/dev/null; for i in $(seq 1 60); do [ -f "$W/contract.rc" ] && break; sleep 1; done; fi
wait $bg 2>/dev/null; cat "$W/contract.rc" 2>/dev/null || echo "contract never finished"
grep -E 'Running upgrade|ERROR' "$OUT/contract-2.log" | head
alembic; schema_dump 2-contracted
ks $K27 keystone-manage db_sync --check >"$OUT/check-3b.log" 2>&1; r=$?; grep -E 'keystone.cmd.cli|^Expand|^Contract' "$OUT/check-3b.log"; rc $r
ks $K27 keystone-manage db_sync >"$OUT/sync-after-contract.log" 2>&1; echo "k27 plain db_sync after contract: exit $?"

note "serving after contract"
for i in $(seq 1 40); do c=$(curl -s -o /dev/null -m 2 -w '%{http_code}' http://127.0.0.1:$K22_PORT/v3); [ "$c" = 200 ] && break; sleep 0.5; done
echo "-- k22 (running)"; token $K22_PORT; crud $K22_PORT; validate $K22_PORT $W/token.k27-expanded
serve pbr-trixie-k22 $K22 $K22_PORT && token $K22_PORT && crud $K22_PORT
echo "GET mappings via k22 -> $(curl -s -m 30 -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $(cat $W/token.$K22_PORT)" http://127.0.0.1:$K22_PORT/v3/OS-FEDERATION/mappings)"
echo "-- k27"; for i in $(seq 1 40); do c=$(curl -s -o /dev/null -m 2 -w '%{http_code}' http://127.0.0.1:$K27_PORT/v3); [ "$c" = 200 ] && break; sleep 0.5; done
token $K27_PORT; crud $K27_PORT
ks $K22 keystone-manage db_sync --check >"$OUT/k22-check-contracted.log" 2>&1; r=$?; grep -E 'ERROR keystone [a-zA-Z]' "$OUT/k22-check-contracted.log" | tail -2; rc $r

note "restore the pre-expand snapshot; k22 only"
docker rm -f pbr-trixie-k27 >/dev/null
t0=$(ts)
docker exec $DB_CT mariadb -e "DROP DATABASE keystone; CREATE DATABASE keystone CHARACTER SET utf8mb4;"; r1=$?
docker exec -i $DB_CT mariadb keystone <"$W/snapshot.sql"; r2=$?
echo "restore exit $r1/$r2, took $(el $t0) s"
alembic; schema_dump 3-restored-b
diff -q "$OUT/schema-0-k22.sql" "$OUT/schema-3-restored-b.sql" && echo "restored schema identical to the k22 schema"
echo "-- k22 running across the restore:"; token $K22_PORT
serve pbr-trixie-k22 $K22 $K22_PORT && token $K22_PORT && validate $K22_PORT $W/token.k22-before && validate $K22_PORT $W/token.k27-expanded && crud $K22_PORT
sql "SELECT COUNT(*) FROM project"; sql "SELECT id FROM mapping"
note done
