#!/bin/bash
# Placement API from Debian's package, under uWSGI as Debian runs it.
#
#   serve    (default) uWSGI on $PLACEMENT_BIND_HOST:$PLACEMENT_PORT
#   db-sync  placement-manage db sync (a one-off job container; safe to repeat)
#   anything else is run as a command with the configuration in place (e.g. `placement-manage ...`)
#
# Configuration, one of two ways:
#   - delivered (PLACEMENT_DB_URL unset): /etc/placement/placement.conf is copied into the container
#     before it starts (a record's services[].config). The entrypoint writes nothing: it makes it
#     root:placement 0640 and reads [placement_database] connection (for db-sync's wait for the
#     database). The image has no placement.conf of its own (Debian's is
#     /usr/share/placement/placement.conf.debian).
#   - from the environment (PLACEMENT_DB_URL set): written at start; optional PLACEMENT_DEBUG (false)
#     and the authentication variables below.
# Environment in both: PLACEMENT_PORT (serve); optional PLACEMENT_BIND_HOST (127.0.0.1),
# PLACEMENT_PROCESSES (2), PLACEMENT_THREADS (1), PLACEMENT_DB_WAIT (60 s, db-sync only).
# Authentication (environment way): noauth2 by default (a request with X-Auth-Token: admin is an admin);
# set PLACEMENT_KEYSTONE_URL, PLACEMENT_SERVICE_USER (placement), PLACEMENT_SERVICE_PASSWORD,
# PLACEMENT_SERVICE_PROJECT (service) to validate tokens with Keystone instead.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/entrypoint-lib.sh
. /usr/local/lib/patchbay/entrypoint-lib.sh

CONF=/etc/placement/placement.conf
mode="${1:-serve}"
[ "$#" = 0 ] || shift
DB_URL=""

# The configuration in place, either way; sets DB_URL.
prepare_config() {
  if [ -n "${PLACEMENT_DB_URL:-}" ]; then
    write_config
    DB_URL="$PLACEMENT_DB_URL"
    return 0
  fi
  own_config "$CONF" placement
  DB_URL="$(ini_get "$CONF" placement_database connection)"
  [ -n "$DB_URL" ] || die "$CONF has no [placement_database] connection"
  log "configuration delivered: $CONF"
}

write_config() {
  local strategy=noauth2 auth=""
  if [ -n "${PLACEMENT_KEYSTONE_URL:-}" ]; then
    require_env PLACEMENT_SERVICE_PASSWORD
    strategy=keystone
    auth="[keystone_authtoken]
www_authenticate_uri = ${PLACEMENT_KEYSTONE_URL}
auth_url = ${PLACEMENT_KEYSTONE_URL}
auth_type = password
username = ${PLACEMENT_SERVICE_USER:-placement}
password = $(oslo_value "$PLACEMENT_SERVICE_PASSWORD")
project_name = ${PLACEMENT_SERVICE_PROJECT:-service}
user_domain_id = default
project_domain_id = default
memcached_servers ="
  fi
  cat >"$CONF" <<EOF
[DEFAULT]
use_stderr = true
debug = ${PLACEMENT_DEBUG:-false}

[api]
auth_strategy = $strategy

[placement_database]
connection = $(oslo_value "$PLACEMENT_DB_URL")

$auth
EOF
  own_config "$CONF" placement
}

case "$mode" in
  serve)
    require_port PLACEMENT_PORT
    prepare_config
    log "placement-api $(dpkg-query -W -f '${Version}' placement-api) on ${PLACEMENT_BIND_HOST:-127.0.0.1}:$PLACEMENT_PORT"
    # As Debian's placement-api-uwsgi.ini, sized for a 2-core test machine; request logs only for errors.
    exec uwsgi_python3 \
      --http-socket "${PLACEMENT_BIND_HOST:-127.0.0.1}:$PLACEMENT_PORT" \
      --wsgi-file /usr/bin/placement-api \
      --master --die-on-term --lazy-apps --enable-threads \
      --uid placement --gid placement --chdir /var/lib/placement \
      --processes "${PLACEMENT_PROCESSES:-2}" --threads "${PLACEMENT_THREADS:-1}" \
      --buffer-size 65535 --listen 100 \
      --disable-logging --log-4xx --log-5xx
    ;;
  db-sync)
    prepare_config
    wait_for_db "$DB_URL" "${PLACEMENT_DB_WAIT:-60}"
    log "placement-manage db sync"
    exec_as_user placement placement-manage db sync
    ;;
  *)
    if [ -n "${PLACEMENT_DB_URL:-}" ]; then write_config; elif [ -f "$CONF" ]; then own_config "$CONF" placement; fi
    exec "$mode" "$@"
    ;;
esac
