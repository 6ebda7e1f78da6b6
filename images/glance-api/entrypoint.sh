#!/bin/bash
# Glance API from Debian's package, configured only by environment variables. Debian runs glance-api
# as its own (eventlet) server, not under uWSGI: its init script says "Glance appears broken with
# uwsgi", so this image does the same.
#
#   serve    (default) glance-api on $GLANCE_BIND_HOST:$GLANCE_PORT
#   db-sync  glance-manage db_sync (a one-off job container; safe to repeat)
#   anything else is run as a command with the configuration written (e.g. `glance-manage ...`)
#
# Environment: GLANCE_DB_URL (all modes), GLANCE_PORT (serve); optional GLANCE_BIND_HOST (127.0.0.1),
# GLANCE_WORKERS (1), GLANCE_DEBUG (false), GLANCE_DB_WAIT (60 s, db-sync only).
# Authentication: none by default (the paste pipeline without keystone: every request gets an
# unauthenticated context); set GLANCE_KEYSTONE_URL (e.g. http://127.0.0.1:15000/v3),
# GLANCE_SERVICE_USER (glance), GLANCE_SERVICE_PASSWORD, GLANCE_SERVICE_PROJECT (service) to
# validate tokens with Keystone instead (the user must exist there with the admin or service role).
# Volume (optional): /var/lib/glance/images, the file store (images are lost with the container
# otherwise; share it between replicas).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/entrypoint-lib.sh
. /usr/local/lib/patchbay/entrypoint-lib.sh

STORE=/var/lib/glance/images
mode="${1:-serve}"
[ "$#" = 0 ] || shift

write_config() {
  require_env GLANCE_DB_URL
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
  # The whole file is ours: Debian's default expects a Keystone on localhost:5000 and logs to files.
  cat >/etc/glance/glance-api.conf <<EOF
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
  chown root:glance /etc/glance/glance-api.conf
  chmod 640 /etc/glance/glance-api.conf
  mkdir -p /var/lock/glance
  chown glance:glance /var/lock/glance
}

case "$mode" in
  serve)
    require_port GLANCE_PORT
    write_config
    own_dir "$STORE" glance 750
    log "glance-api $(dpkg-query -W -f '${Version}' glance-api) on ${GLANCE_BIND_HOST:-127.0.0.1}:$GLANCE_PORT"
    exec_as_user glance glance-api --config-file /etc/glance/glance-api.conf
    ;;
  db-sync)
    write_config
    wait_for_db "$GLANCE_DB_URL" "${GLANCE_DB_WAIT:-60}"
    log "glance-manage db_sync"
    exec_as_user glance glance-manage --config-file /etc/glance/glance-api.conf db_sync
    ;;
  *)
    [ -z "${GLANCE_DB_URL:-}" ] || write_config
    exec "$mode" "$@"
    ;;
esac
