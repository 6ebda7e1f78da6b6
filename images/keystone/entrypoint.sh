#!/bin/bash
# Keystone from Debian's package, under uWSGI.
#
#   serve      (default) uWSGI on $KEYSTONE_BIND_HOST:$KEYSTONE_PORT; needs the Fernet keys
#   db-sync    keystone-manage db_sync (a one-off job container; safe to repeat)
#   bootstrap  Fernet/credential keys if their directories are empty, then keystone-manage bootstrap
#              (admin user, project, role, region, identity endpoints; safe to repeat)
#   anything else is run as a command with the configuration in place (e.g. `keystone-manage ...`)
#
# Configuration, one of two ways:
#   - delivered (KEYSTONE_DB_URL unset): /etc/keystone/keystone.conf is copied into the container
#     before it starts (a record's services[].config), with the policy file if there is one
#     (/etc/keystone/policy.yaml, or where [oslo_policy] policy_file says). The entrypoint writes nothing: it makes them root:keystone
#     0640 and reads [database] connection (for the jobs' wait for the database). The image has no
#     keystone.conf of its own (Debian's is /usr/share/keystone/keystone.conf.debian), so a missing
#     file is an error, not Debian's SQLite defaults.
#   - from the environment (KEYSTONE_DB_URL set): the entrypoint writes keystone.conf at start;
#     optional KEYSTONE_DEBUG (false).
# Environment in both: KEYSTONE_PORT (serve), KEYSTONE_ADMIN_PASSWORD and KEYSTONE_PUBLIC_PORT or
# KEYSTONE_PUBLIC_URL (bootstrap); optional KEYSTONE_BIND_HOST (127.0.0.1), KEYSTONE_PROCESSES (2),
# KEYSTONE_THREADS (1), KEYSTONE_REGION (RegionOne), KEYSTONE_DB_WAIT (60 s, jobs only),
# KEYSTONE_BREAK (1: serve a configuration Keystone cannot load; with a delivered file, a second
# file naming a token provider that does not exist is loaded after it, the delivered one untouched).
# Volumes shared by every replica: /etc/keystone/fernet-keys and /etc/keystone/credential-keys.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/entrypoint-lib.sh
. /usr/local/lib/patchbay/entrypoint-lib.sh

CONF=/etc/keystone/keystone.conf
FERNET=/etc/keystone/fernet-keys
CREDENTIAL=/etc/keystone/credential-keys
# Loaded after keystone.conf when KEYSTONE_BREAK=1 and the configuration was delivered.
BREAK_CONF=/run/keystone-break.conf
mode="${1:-serve}"
[ "$#" = 0 ] || shift
DB_URL=""

# The configuration in place, either way; sets DB_URL.
prepare_config() {
  if [ -n "${KEYSTONE_DB_URL:-}" ]; then
    write_config
    DB_URL="$KEYSTONE_DB_URL"
    return 0
  fi
  own_config "$CONF" keystone
  local policy
  # oslo.policy's default policy_file is policy.yaml, looked up beside keystone.conf.
  policy="$(ini_get "$CONF" oslo_policy policy_file)"
  policy="${policy:-policy.yaml}"
  [ "${policy#/}" != "$policy" ] || policy="/etc/keystone/$policy"
  if [ -f "$policy" ]; then own_config "$policy" keystone; else policy=""; fi
  DB_URL="$(ini_get "$CONF" database connection)"
  [ -n "$DB_URL" ] || die "$CONF has no [database] connection"
  log "configuration delivered: $CONF${policy:+ (policy: $policy)}"
  if [ "${KEYSTONE_BREAK:-0}" = 1 ] && [ "$mode" = serve ]; then
    log "KEYSTONE_BREAK=1: loading $BREAK_CONF after $CONF, a token provider Keystone cannot load (a deliberately bad patch)"
    printf '[token]\nprovider = patchbay-broken-no-such-provider\n' >"$BREAK_CONF"
    chmod 644 "$BREAK_CONF"
    # Read by keystone's WSGI application (keystone/server/flask/core.py), in order.
    export OS_KEYSTONE_CONFIG_FILES="$CONF;$BREAK_CONF"
  fi
}

write_config() {
  local provider=fernet
  # The "bad patch" of the tests: a token provider that does not exist. uWSGI starts, but the
  # application fails to load, so /v3 never answers 200. Only `serve` breaks: the jobs a patch runs
  # first (db-sync) must succeed for the broken version to reach the instances.
  if [ "${KEYSTONE_BREAK:-0}" = 1 ] && [ "$mode" = serve ]; then
    log "KEYSTONE_BREAK=1: writing a configuration Keystone cannot load (a deliberately bad patch)"
    provider=patchbay-broken-no-such-provider
  fi
  # The whole file is ours: Debian's default (kept as /usr/share/keystone/keystone.conf.debian) logs to /var/log/keystone and uses SQLite.
  cat >"$CONF" <<EOF
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
  own_config "$CONF" keystone
}

# Key directories are volumes: whatever created them on the host, Keystone must own them.
own_key_dirs() {
  own_dir "$FERNET" keystone 700
  own_dir "$CREDENTIAL" keystone 700
}

case "$mode" in
  serve)
    require_port KEYSTONE_PORT
    prepare_config
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
    prepare_config
    wait_for_db "$DB_URL" "${KEYSTONE_DB_WAIT:-60}"
    log "keystone-manage db_sync"
    exec_as_user keystone keystone-manage db_sync
    ;;
  bootstrap)
    require_env KEYSTONE_ADMIN_PASSWORD
    prepare_config
    own_key_dirs
    url="${KEYSTONE_PUBLIC_URL:-}"
    if [ -z "$url" ]; then
      require_port KEYSTONE_PUBLIC_PORT
      url="http://127.0.0.1:$KEYSTONE_PUBLIC_PORT/v3/"
    fi
    wait_for_db "$DB_URL" "${KEYSTONE_DB_WAIT:-60}"
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
    # A delivered file is used as it is; with neither, the command runs without one (e.g. `bash`).
    if [ -n "${KEYSTONE_DB_URL:-}" ]; then write_config; elif [ -f "$CONF" ]; then own_config "$CONF" keystone; fi
    exec "$mode" "$@"
    ;;
esac
