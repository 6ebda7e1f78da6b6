#!/bin/bash
# MariaDB from Debian's package, configured only by environment variables.
#
#   serve  (default) mariadbd in the foreground on $MARIADB_BIND_HOST:$MARIADB_PORT; initialises an
#          empty data directory, then makes the root password and the databases/users in
#          $MARIADB_DATABASES true at every start (idempotent; passwords are reset to the env's)
#   anything else is run as a command
#
# Environment: MARIADB_PORT, MARIADB_ROOT_PASSWORD; optional MARIADB_DATABASES
# ("db:user:ENV_VAR_WITH_PASSWORD ..." e.g. "keystone:keystone:KEYSTONE_DB_PASSWORD"),
# MARIADB_BIND_HOST (127.0.0.1), MARIADB_MAX_CONNECTIONS (500), MARIADB_BUFFER_POOL (128M),
# MARIADB_HEALTH_PORT (unset: an HTTP endpoint on that port answers 200 when the server answers).
# Volume: /var/lib/mysql (the data directory; empty or a previous MariaDB 10.11 data directory).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/entrypoint-lib.sh
. /usr/local/lib/patchbay/entrypoint-lib.sh

DATADIR=/var/lib/mysql
RUNDIR=/run/mysqld
SOCKET="$RUNDIR/mysqld.sock"
INIT_SQL="$RUNDIR/patchbay-init.sql"
mode="${1:-serve}"
[ "$#" = 0 ] || shift

sql_string() { local s="${1//\\/\\\\}"; printf "'%s'" "${s//\'/\\\'}"; }
sql_name() { [[ "$1" =~ ^[A-Za-z0-9_]+$ ]] || die "'$1' is not a plain database or user name ([A-Za-z0-9_]+)"; }

# The SQL mariadbd runs before it accepts connections (--init-file): the state the environment asks
# for, whatever the data directory held before. One statement a line, as --init-file wants.
write_init_sql() {
  local root_pw spec db user var pw
  root_pw="$(sql_string "$MARIADB_ROOT_PASSWORD")"
  {
    # Anonymous users would match before 'user'@'%' for local connections.
    echo "DELETE FROM mysql.global_priv WHERE User='';"
    echo "FLUSH PRIVILEGES;"
    # root over the socket (docker exec) as before, and over TCP with the password.
    echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD($root_pw);"
    for host in 127.0.0.1 ::1; do
      echo "CREATE USER IF NOT EXISTS 'root'@'$host' IDENTIFIED BY $root_pw;"
      echo "ALTER USER 'root'@'$host' IDENTIFIED BY $root_pw;"
      echo "GRANT ALL PRIVILEGES ON *.* TO 'root'@'$host' WITH GRANT OPTION;"
    done
    for spec in ${MARIADB_DATABASES:-}; do
      IFS=: read -r db user var <<<"$spec"
      sql_name "$db"; sql_name "$user"
      [[ "$var" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "MARIADB_DATABASES: '$spec' is not db:user:ENV_VAR"
      [ -n "${!var:-}" ] || die "MARIADB_DATABASES: $var (the password of $user) is not set"
      pw="$(sql_string "${!var}")"
      echo "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4;"
      echo "CREATE USER IF NOT EXISTS '$user'@'%' IDENTIFIED BY $pw;"
      echo "ALTER USER '$user'@'%' IDENTIFIED BY $pw;"
      echo "GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'%';"
    done
  } >"$INIT_SQL"
  chown mysql:mysql "$INIT_SQL"
  chmod 600 "$INIT_SQL"
}

# An HTTP health endpoint for HTTP-only probes (Patchbay's): busybox httpd runs the CGI for any
# path under /cgi-bin/ and for `/` (index.cgi); it answers 200 when the server answers a ping.
start_health() {
  local www=/usr/local/share/patchbay/mariadb-health
  mkdir -p "$www/cgi-bin"
  cat >"$www/cgi-bin/index.cgi" <<EOF
#!/bin/sh
if mariadb-admin --socket=$SOCKET --connect-timeout=2 ping >/dev/null 2>&1; then
  printf 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nmariadb is alive\n'
else
  printf 'Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nmariadb does not answer\n'
fi
EOF
  chmod 755 "$www/cgi-bin/index.cgi"
  ln -sf index.cgi "$www/cgi-bin/health"
  local addr="${MARIADB_BIND_HOST:-127.0.0.1}:$MARIADB_HEALTH_PORT" pid
  busybox httpd -f -p "$addr" -h "$www" &
  pid=$!
  # httpd -f says it could not listen only by exiting. A server without its endpoint would fail every
  # gate with a bare "connection refused" while looking healthy: stop the container, saying why.
  sleep 0.5
  kill -0 "$pid" 2>/dev/null || die "the health endpoint could not listen on $addr (is the port in use?)"
  log "health endpoint on http://$addr/ (also /cgi-bin/health)"
}

case "$mode" in
  serve)
    require_port MARIADB_PORT
    require_env MARIADB_ROOT_PASSWORD
    mkdir -p "$DATADIR" "$RUNDIR"
    chown mysql:mysql "$RUNDIR"
    # A host directory made by Docker belongs to root; the server runs as mysql.
    [ "$(stat -c %U "$DATADIR")" = mysql ] || chown -R mysql:mysql "$DATADIR"
    chmod 750 "$DATADIR"
    if [ ! -d "$DATADIR/mysql" ]; then
      log "initialising an empty data directory $DATADIR"
      mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db \
        --auth-root-authentication-method=socket >"$RUNDIR/install-db.log" 2>&1 \
        || { cat "$RUNDIR/install-db.log" >&2; die "mariadb-install-db failed"; }
    fi
    write_init_sql
    [ -z "${MARIADB_HEALTH_PORT:-}" ] || { require_port MARIADB_HEALTH_PORT; start_health; }
    log "mariadb $(dpkg-query -W -f '${Version}' mariadb-server) on ${MARIADB_BIND_HOST:-127.0.0.1}:$MARIADB_PORT"
    # Debian's /etc/mysql configuration (utf8mb4 etc.) still applies; these override it. The error
    # log goes to stderr when log-error is not set, which Debian's files leave commented out.
    exec mariadbd --user=mysql --datadir="$DATADIR" --socket="$SOCKET" --pid-file="$RUNDIR/mysqld.pid" \
      --bind-address="${MARIADB_BIND_HOST:-127.0.0.1}" --port="$MARIADB_PORT" \
      --skip-name-resolve --init-file="$INIT_SQL" \
      --max-connections="${MARIADB_MAX_CONNECTIONS:-500}" \
      --innodb-buffer-pool-size="${MARIADB_BUFFER_POOL:-128M}"
    ;;
  *)
    exec "$mode" "$@"
    ;;
esac
