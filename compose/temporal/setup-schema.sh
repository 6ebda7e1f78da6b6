#!/bin/sh
# Creates Temporal's two databases on PostgreSQL and brings their schemas to the newest version in
# the server's own versioned folders (schema/postgresql/v12/{temporal,visibility}/versioned), the way
# Temporal's compose examples do. Idempotent: an existing database is kept and only updated.
# Run by docker-compose.yml's temporal-schema-setup (temporalio/admin-tools, where the folders are in
# /etc/temporal/schema) and by scripts/temporal-cluster.sh (its own build's copy of the folders).
#
#   SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD   where PostgreSQL is (temporal-sql-tool reads them too)
#   TEMPORAL_SCHEMA_DIR                          the schema folder (default /etc/temporal/schema)
#   DBNAME, VISIBILITY_DBNAME                    default temporal, temporal_visibility (as the server reads them)
#   TEMPORAL_SQL_TOOL                            default temporal-sql-tool (from PATH)
set -eu

tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
schema=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema}/postgresql/v12
export SQL_PLUGIN=postgres12 SQL_HOST="${SQL_HOST:?}" SQL_PORT="${SQL_PORT:-5432}" SQL_USER="${SQL_USER:?}"

# Quiet when it works; the tool's whole output when it does not.
run() {
  if ! out=$("$tool" "$@" 2>&1); then
    printf 'setup-schema: temporal-sql-tool %s failed:\n%s\n' "$*" "$out" >&2
    return 1
  fi
}

for pair in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  db=${pair%:*}
  versioned=$schema/${pair##*:}/versioned
  [ -d "$versioned" ] || { echo "setup-schema: no schema folder $versioned" >&2; exit 1; }
  if ! out=$("$tool" --db "$db" create-database 2>&1); then
    case $out in
      *"already exists"*) ;; # a second `docker compose up`: keep it, update it below
      *) printf 'setup-schema: temporal-sql-tool --db %s create-database failed:\n%s\n' "$db" "$out" >&2; exit 1 ;;
    esac
  fi
  run --db "$db" setup-schema -v 0.0 # the version tables; a no-op when the schema is newer
  run --db "$db" update-schema -d "$versioned"
  echo "setup-schema: $db is at the newest schema version in $versioned"
done
