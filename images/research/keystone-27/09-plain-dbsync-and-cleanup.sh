#!/bin/bash
# The project's `db-sync` mode (plain keystone-manage db_sync) with the 27 image on a 22 database,
# then cleanup: every container this research made (by exact name); the images stay.
set -uo pipefail
. /tmp/pb/trixie/lib.sh
docker rm -f pbr-trixie-k22 pbr-trixie-k27 >/dev/null 2>&1
docker exec $DB_CT mariadb -e "DROP DATABASE keystone; CREATE DATABASE keystone CHARACTER SET utf8mb4;"
docker exec -i $DB_CT mariadb keystone <"$W/snapshot.sql"; alembic
t0=$(ts); ks $K27 db-sync >"$OUT/plain-dbsync-27.log" 2>&1; echo "k27 image 'db-sync' mode exit $? in $(el $t0) s"
grep -E 'patchbay|Running upgrade' "$OUT/plain-dbsync-27.log" | cut -c1-160; alembic
note cleanup
for c in pbr-trixie-db pbr-trixie-db-binlog pbr-trixie-k22 pbr-trixie-k27; do docker rm -f "$c" >/dev/null 2>&1 && echo "removed $c"; done
docker ps -a --format '{{.Names}}' | grep pbr-trixie || echo "no pbr-trixie containers left"
rm -rf --one-file-system "$W/mysql" "$W/mysql-binlog" "$W/minbase" "$W/fernet" "$W/credential" "$W"/token* "$W"/map22.json
ls -la "$W"; docker image ls patchbay-research/keystone
