#!/bin/bash
# Why did `db_sync --expand` hang at 11c3b243b4cb? Re-run it on the restored (k22-level) DB while a
# k22 replica serves, sample the processlist / metadata locks, then (if stuck) again with no replica.
set -uo pipefail
. /tmp/pb/trixie/lib.sh
alembic
note "expand with k22 serving (pbr-trixie-k22 running: $(docker inspect -f '{{.State.Running}}' pbr-trixie-k22 2>/dev/null))"
token $K22_PORT >/dev/null; token $K22_PORT
docker exec $DB_CT mariadb -e "INSTALL SONAME 'metadata_lock_info'" 2>&1 | tail -1
t0=$(ts)
( ks $K27 keystone-manage db_sync --expand >"$OUT/expand-2.log" 2>&1; echo "expand exit $? after $(el $t0) s" >"$W/expand2.rc" ) &
bg=$!
for i in $(seq 1 12); do sleep 5; [ -f "$W/expand2.rc" ] && break
  [ $i = 3 ] && { docker exec $DB_CT mariadb -e "SELECT ID,USER,COMMAND,TIME,STATE,LEFT(INFO,120) info FROM information_schema.processlist WHERE USER='keystone'"; \
    docker exec $DB_CT mariadb -e "SELECT * FROM information_schema.metadata_lock_info" ; \
    docker exec $DB_CT mariadb -e "SELECT trx_id,trx_state,trx_started,trx_mysql_thread_id,trx_query FROM information_schema.innodb_trx"; }
done
if [ ! -f "$W/expand2.rc" ]; then
  echo "still stuck after 60 s; stopping the k22 replica"
  t1=$(ts); docker stop -t 10 pbr-trixie-k22 >/dev/null
  for i in $(seq 1 60); do [ -f "$W/expand2.rc" ] && break; sleep 1; done
  echo "after stopping k22: waited $(el $t1) s"
fi
wait $bg 2>/dev/null; cat "$W/expand2.rc" 2>/dev/null || echo "expand never finished"
rm -f "$W/expand2.rc"
grep -E 'Running upgrade|ERROR' "$OUT/expand-2.log" | head
alembic
