#!/bin/bash
# Glance API from Debian's package. Debian runs glance-api
# as its own (eventlet) server, not under uWSGI: its init script says "Glance appears broken with
# uwsgi", so this image does the same.
#
#   serve    (default) glance-api on $GLANCE_BIND_HOST:$GLANCE_PORT
#   db-sync  glance-manage db_sync (a one-off job container; safe to repeat)
#   anything else is run as a command with the configuration in place (e.g. `glance-manage ...`)
#
# Configuration, one of two ways:
#   - delivered (GLANCE_DB_URL unset): /etc/glance/glance-api.conf is copied into the container before
#     it starts (a record's services[].config), listen address and port included ([DEFAULT] bind_host,
#     bind_port). The entrypoint writes nothing: it makes it root:glance 0640, creates the
#     [oslo_concurrency] lock_path and reads [database] connection (for db-sync's wait for the
#     database). The image has no glance-api.conf of its own (Debian's is
#     /usr/share/glance/glance-api.conf.debian). Optional GLANCE_DB_WAIT (60 s, db-sync only).
#   - from the environment (GLANCE_DB_URL set): written at start. GLANCE_PORT (serve); optional
#     GLANCE_BIND_HOST (127.0.0.1), GLANCE_WORKERS (1), GLANCE_DEBUG (false), GLANCE_DB_WAIT (60 s).
# Authentication, from the environment: none by default (the paste pipeline without keystone: every request gets an
# unauthenticated context); set GLANCE_KEYSTONE_URL (e.g. http://127.0.0.1:15000/v3),
# GLANCE_SERVICE_USER (glance), GLANCE_SERVICE_PASSWORD, GLANCE_SERVICE_PROJECT (service) to
# validate tokens with Keystone instead (the user must exist there with the admin or service role).
# Volume (optional): /var/lib/glance/images, the file store (images are lost with the container
# otherwise; share it between replicas).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/entrypoint-lib.sh
. /usr/local/lib/patchbay/entrypoint-lib.sh

CONF=/etc/glance/glance-api.conf
STORE=/var/lib/glance/images
mode="${1:-serve}"
[ "$#" = 0 ] || shift
DB_URL=""

# The configuration in place, either way; sets DB_URL.
prepare_config() {
  if [ -n "${GLANCE_DB_URL:-}" ]; then
    write_config
    DB_URL="$GLANCE_DB_URL"
    return 0
  fi
  own_config "$CONF" glance
  DB_URL="$(ini_get "$CONF" database connection)"
  [ -n "$DB_URL" ] || die "$CONF has no [database] connection"
  own_lock_dir "$(ini_get "$CONF" oslo_concurrency lock_path)"
  log "configuration delivered: $CONF"
}

own_lock_dir() {
  [ -n "$1" ] || return 0
  mkdir -p "$1"
  chown glance:glance "$1"
}

write_config() {
  local flavor="" auth=""
  if [ -n "${GLANCE_KEYSTONE_URL:-}" ]; then
    require_env GLANCE_SERVICE_PASSWORD
    flavor=keystone
    auth="[keystone_authtoken]
www_authenticate_uri = ${GLANCE_KEYSTONE_URL}
auth_url = ${GLANCE_KEYSTONE_URL}
auth_type = password
username = ${GLANCE_SERVICE_USER:-glance}
password = $(oslo_value "$GLANCE_SERVICE_PASSWORD")
project_name = ${GLANCE_SERVICE_PROJECT:-service}
user_domain_id = default
project_domain_id = default
memcached_servers ="
  fi
  # The whole file is ours: Debian's default (/usr/share/glance/glance-api.conf.debian) expects a Keystone on localhost:5000 and logs to files.
  cat >"$CONF" <<EOF
[DEFAULT]
bind_host = ${GLANCE_BIND_HOST:-127.0.0.1}
bind_port = ${GLANCE_PORT:-9292}
workers = ${GLANCE_WORKERS:-1}
use_stderr = true
debug = ${GLANCE_DEBUG:-false}
enabled_backends = file:file

[glance_store]
default_backend = file

[file]
filesystem_store_datadir = $STORE

[database]
connection = $(oslo_value "$GLANCE_DB_URL")

[paste_deploy]
flavor = $flavor

[oslo_concurrency]
lock_path = /var/lock/glance

$auth
EOF
  own_config "$CONF" glance
  own_lock_dir /var/lock/glance
}

case "$mode" in
  serve)
    [ -z "${GLANCE_DB_URL:-}" ] || require_port GLANCE_PORT
    prepare_config
    own_dir "$STORE" glance 750
    log "glance-api $(dpkg-query -W -f '${Version}' glance-api) on $(ini_get "$CONF" DEFAULT bind_host):$(ini_get "$CONF" DEFAULT bind_port)"
    exec_as_user glance glance-api --config-file "$CONF"
    ;;
  db-sync)
    prepare_config
    wait_for_db "$DB_URL" "${GLANCE_DB_WAIT:-60}"
    log "glance-manage db_sync"
    exec_as_user glance glance-manage --config-file "$CONF" db_sync
    ;;
  *)
    if [ -n "${GLANCE_DB_URL:-}" ]; then write_config; elif [ -f "$CONF" ]; then own_config "$CONF" glance; fi
    exec "$mode" "$@"
    ;;
esac
