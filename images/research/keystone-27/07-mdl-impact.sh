#!/bin/bash
# While expand waits for the metadata lock held by an idle k22 connection: are new token requests
# blocked too? Does KILLing the idle connection release expand, and does k22 recover (next request)?
set -uo pipefail
. /tmp/pb/trixie/lib.sh
note "restore the pre-expand snapshot with no server connected"
docker rm -f pbr-trixie-k27 pbr-trixie-k22 >/dev/null 2>&1
t0=$(ts)
docker exec $DB_CT mariadb -e "DROP DATABASE keystone; CREATE DATABASE keystone CHARACTER SET utf8mb4;"
docker exec -i $DB_CT mariadb keystone <"$W/snapshot.sql"; echo "restore exit $? in $(el $t0) s"; alembic
t0=$(ts); docker exec $DB_CT mariadb-dump --single-transaction --routines --triggers --databases keystone >"$W/snapshot2.sql"; echo "dump again: $(el $t0) s, $(stat -c %s $W/snapshot2.sql) bytes"
serve pbr-trixie-k22 $K22 $K22_PORT; token $K22_PORT >/dev/null; token $K22_PORT >/dev/null; token $K22_PORT | cut -c1-60
rm -f $W/exp.rc; t0=$(ts)
( ks $K27 keystone-manage db_sync --expand >"$OUT/expand-4.log" 2>&1; echo "expand exit $? after $(el $t0) s" >$W/exp.rc ) &
bg=$!
sleep 8
docker exec $DB_CT mariadb -N -e "SELECT ID,COMMAND,TIME,STATE,LEFT(INFO,70) FROM information_schema.processlist WHERE USER='keystone' AND COMMAND<>'Sleep'"
t1=$(ts); echo "new token request on k22 while expand waits (curl -m 20):"; token $K22_PORT | cut -c1-60; echo "  took $(el $t1) s"
t1=$(ts); echo "GET /v3 on k22 while expand waits:"; curl -s -o /dev/null -m 20 -w '  %{http_code}\n' http://127.0.0.1:$K22_PORT/v3; echo "  took $(el $t1) s"
ids=$(docker exec $DB_CT mariadb -N -e "SELECT t.trx_mysql_thread_id FROM information_schema.innodb_trx t JOIN information_schema.processlist p ON p.ID=t.trx_mysql_thread_id WHERE p.COMMAND='Sleep' AND p.USER='keystone'")
echo "idle keystone connections with an open transaction: $ids"
for id in $ids; do docker exec $DB_CT mariadb -e "KILL $id"; done
for i in $(seq 1 30); do [ -f $W/exp.rc ] && break; sleep 1; done; wait $bg 2>/dev/null
cat $W/exp.rc 2>/dev/null || echo "expand still waiting"; alembic
echo "k22 after the KILL (3 requests, the killed connection's worker must reconnect):"
for i in 1 2 3; do token $K22_PORT | cut -c1-45; done
docker logs pbr-trixie-k22 2>&1 | grep -iE 'error|lost connection|disconnect' | tail -5
note done
