#!/bin/bash
# Keystone from Debian's package, under uWSGI, configured only by environment variables.
#
#   serve      (default) uWSGI on $KEYSTONE_BIND_HOST:$KEYSTONE_PORT; needs the Fernet keys
#   db-sync    keystone-manage db_sync (a one-off job container; safe to repeat)
#   bootstrap  Fernet/credential keys if their directories are empty, then keystone-manage bootstrap
#              (admin user, project, role, region, identity endpoints; safe to repeat)
#   anything else is run as a command with the configuration written (e.g. `keystone-manage ...`)
#
# Environment: KEYSTONE_DB_URL (all modes), KEYSTONE_PORT (serve), KEYSTONE_ADMIN_PASSWORD and
# KEYSTONE_PUBLIC_PORT or KEYSTONE_PUBLIC_URL (bootstrap); optional KEYSTONE_BIND_HOST (127.0.0.1),
# KEYSTONE_PROCESSES (2), KEYSTONE_THREADS (1), KEYSTONE_REGION (RegionOne), KEYSTONE_DEBUG (false),
# KEYSTONE_DB_WAIT (60 s, jobs only), KEYSTONE_BREAK (1: serve a configuration Keystone cannot load).
# Volumes shared by every replica: /etc/keystone/fernet-keys and /etc/keystone/credential-keys.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/entrypoint-lib.sh
. /usr/local/lib/patchbay/entrypoint-lib.sh

FERNET=/etc/keystone/fernet-keys
CREDENTIAL=/etc/keystone/credential-keys
mode="${1:-serve}"
[ "$#" = 0 ] || shift

write_config() {
  require_env KEYSTONE_DB_URL
  local provider=fernet
  # The "bad patch" of the tests: a token provider that does not exist. uWSGI starts, but the
  # application fails to load, so /v3 never answers 200. Only `serve` breaks: the jobs a patch runs
  # first (db-sync) must succeed for the broken version to reach the instances.
  if [ "${KEYSTONE_BREAK:-0}" = 1 ] && [ "$mode" = serve ]; then
    log "KEYSTONE_BREAK=1: writing a configuration Keystone cannot load (a deliberately bad patch)"
    provider=patchbay-broken-no-such-provider
  fi
  # The whole file is ours: Debian's default logs to /var/log/keystone and uses SQLite.
  cat >/etc/keystone/keystone.conf <<EOF
[DEFAULT]
use_stderr = true
debug = ${KEYSTONE_DEBUG:-false}

[database]
connection = $(oslo_value "$KEYSTONE_DB_URL")

[token]
provider = $provider

[fernet_tokens]
key_repository = $FERNET

[fernet_receipts]
key_repository = $FERNET

[credential]
key_repository = $CREDENTIAL

[cache]
enabled = false

[catalog]
template_file = /etc/keystone/default_catalog.templates
EOF
  chown root:keystone /etc/keystone/keystone.conf
  chmod 640 /etc/keystone/keystone.conf
}

# Key directories are volumes: whatever created them on the host, Keystone must own them.
own_key_dirs() {
  own_dir "$FERNET" keystone 700
  own_dir "$CREDENTIAL" keystone 700
}

case "$mode" in
  serve)
    require_port KEYSTONE_PORT
    write_config
    own_key_dirs
    # Each replica would make its own keys, and tokens would not validate across replicas.
    [ -f "$FERNET/0" ] || die "no Fernet keys in $FERNET: mount the shared key volume and run the 'bootstrap' job first"
    log "keystone $(dpkg-query -W -f '${Version}' keystone) on ${KEYSTONE_BIND_HOST:-127.0.0.1}:$KEYSTONE_PORT"
    # lazy-apps as in Debian's keystone-uwsgi.ini: each worker loads Keystone after the fork, so no
    # database connection is shared between processes. Request logs only for errors: at load-test
    # rates a line per request is the largest cost of the container.
    exec uwsgi_python3 \
      --http-socket "${KEYSTONE_BIND_HOST:-127.0.0.1}:$KEYSTONE_PORT" \
      --wsgi-file /usr/bin/keystone-wsgi-public \
      --master --die-on-term --lazy-apps --enable-threads \
      --uid keystone --gid keystone --chdir /var/lib/keystone \
      --processes "${KEYSTONE_PROCESSES:-2}" --threads "${KEYSTONE_THREADS:-1}" \
      --buffer-size 65535 --listen 100 \
      --disable-logging --log-4xx --log-5xx
    ;;
  db-sync)
    write_config
    wait_for_db "$KEYSTONE_DB_URL" "${KEYSTONE_DB_WAIT:-60}"
    log "keystone-manage db_sync"
    exec_as_user keystone keystone-manage db_sync
    ;;
  bootstrap)
    require_env KEYSTONE_ADMIN_PASSWORD
    write_config
    own_key_dirs
    url="${KEYSTONE_PUBLIC_URL:-}"
    if [ -z "$url" ]; then
      require_port KEYSTONE_PUBLIC_PORT
      url="http://127.0.0.1:$KEYSTONE_PUBLIC_PORT/v3/"
    fi
    wait_for_db "$KEYSTONE_DB_URL" "${KEYSTONE_DB_WAIT:-60}"
    # Keys are made once for all replicas; a repeated bootstrap must not rotate them under them.
    if [ ! -f "$FERNET/0" ]; then
      log "keystone-manage fernet_setup"
      as_user keystone keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone
    fi
    if [ ! -f "$CREDENTIAL/0" ]; then
      log "keystone-manage credential_setup"
      as_user keystone keystone-manage credential_setup --keystone-user keystone --keystone-group keystone
    fi
    log "keystone-manage bootstrap (endpoints $url)"
    # The password goes by environment, not argument: arguments are visible to `ps` on the host.
    export OS_BOOTSTRAP_PASSWORD="$KEYSTONE_ADMIN_PASSWORD"
    exec_as_user keystone keystone-manage bootstrap \
      --bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
      --bootstrap-service-name keystone --bootstrap-region-id "${KEYSTONE_REGION:-RegionOne}" \
      --bootstrap-admin-url "$url" --bootstrap-internal-url "$url" --bootstrap-public-url "$url"
    ;;
  *)
    [ -z "${KEYSTONE_DB_URL:-}" ] || write_config
    exec "$mode" "$@"
    ;;
esac
