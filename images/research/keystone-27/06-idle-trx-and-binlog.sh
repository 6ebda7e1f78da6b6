#!/bin/bash
# (a) which server leaves an open transaction (MDL on service_provider) after a token request: k22, k27?
# (b) expand/contract timing with no server connected; (c) expand against a MariaDB with binary logging on
set -uo pipefail
. /tmp/pb/trixie/lib.sh
trx() { docker exec ${1:-$DB_CT} mariadb -N -e "SELECT t.trx_mysql_thread_id, t.trx_started, GROUP_CONCAT(DISTINCT m.TABLE_NAME) FROM information_schema.innodb_trx t LEFT JOIN information_schema.metadata_lock_info m ON m.THREAD_ID=t.trx_mysql_thread_id GROUP BY t.trx_mysql_thread_id, t.trx_started" | sed 's/^/  open trx: /'; echo "  (end of open trx list)"; }
note "(a) k22 only: GET /v3 then POST token"
docker rm -f pbr-trixie-k27 >/dev/null 2>&1; docker stop -t 10 pbr-trixie-k22 >/dev/null 2>&1
alembic; trx
serve pbr-trixie-k22 $K22 $K22_PORT; echo "after GET /v3:"; trx
token $K22_PORT >/dev/null; echo "after 1 token:"; trx
token $K22_PORT >/dev/null; token $K22_PORT >/dev/null; echo "after 3 tokens:"; trx
validate $K22_PORT $W/token.$K22_PORT; echo "after a validation:"; trx
docker stop -t 10 pbr-trixie-k22 >/dev/null; echo "after stopping k22:"; trx
note "(b) expand with no server connected"
t0=$(ts); ks $K27 keystone-manage db_sync --expand >"$OUT/expand-3.log" 2>&1; echo "expand exit $? in $(el $t0) s (container start included)"; alembic
note "(a) k27 only, on the expanded schema"
serve pbr-trixie-k27 $K27 $K27_PORT; echo "after GET /v3:"; trx
token $K27_PORT >/dev/null; token $K27_PORT >/dev/null; token $K27_PORT; echo "after 3 tokens:"; trx
validate $K27_PORT $W/token.$K27_PORT; echo "after a validation:"; trx
docker stop -t 10 pbr-trixie-k27 >/dev/null
note "(b) contract with no server connected"
t0=$(ts); ks $K27 keystone-manage db_sync --contract >"$OUT/contract-3.log" 2>&1; echo "contract exit $? in $(el $t0) s"; alembic
t0=$(ts); ks $K27 true; echo "(a bare k27 container run: $(el $t0) s)"

note "(c) MariaDB with binary logging (log_bin=ON), pre-expand snapshot, k27 expand + contract"
docker rm -f pbr-trixie-db-binlog >/dev/null 2>&1; rm -rf $W/mysql-binlog; mkdir -p $W/mysql-binlog
printf '[mariadbd]\nlog_bin = mysql-bin\nserver_id = 1\nbinlog_format = MIXED\n' >$W/99-binlog.cnf
docker run -d --name pbr-trixie-db-binlog --network host --init -e MARIADB_PORT=19807 -e MARIADB_ROOT_PASSWORD=$ROOT_PW \
  -e MARIADB_DATABASES="keystone:keystone:KS_PW" -e KS_PW=$KS_PW -v $W/mysql-binlog:/var/lib/mysql \
  -v $W/99-binlog.cnf:/etc/mysql/mariadb.conf.d/99-binlog.cnf:ro $DB_IMG >/dev/null
for i in $(seq 1 120); do docker exec pbr-trixie-db-binlog mariadb -e 'select 1' keystone >/dev/null 2>&1 && break; sleep 0.5; done
docker exec pbr-trixie-db-binlog mariadb -N -e "select @@log_bin, @@log_bin_trust_function_creators, @@binlog_format"
docker exec -i pbr-trixie-db-binlog mariadb keystone <$W/snapshot.sql; echo "snapshot loaded: $?"
URL2="mysql+pymysql://keystone:$KS_PW@127.0.0.1:19807/keystone"
timeout 300 docker run --rm --network host -e KEYSTONE_DB_URL="$URL2" $K27 keystone-manage db_sync --expand >"$OUT/expand-binlog.log" 2>&1; echo "expand (binlog on) exit $?"
grep -E 'Running upgrade|ERROR keystone [a-zA-Z]' "$OUT/expand-binlog.log" | head -5
timeout 300 docker run --rm --network host -e KEYSTONE_DB_URL="$URL2" $K27 keystone-manage db_sync --contract >"$OUT/contract-binlog.log" 2>&1; echo "contract (binlog on) exit $?"
docker exec pbr-trixie-db-binlog mariadb -N -e "SELECT version_num FROM keystone.alembic_version"
docker exec pbr-trixie-db-binlog mariadb -N -e "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema='keystone'; SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema='keystone'"
docker rm -f pbr-trixie-db-binlog >/dev/null
note done
