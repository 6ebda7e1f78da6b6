# shellcheck shell=bash
# Sourced by every image's entrypoint (/usr/local/lib/patchbay/entrypoint-lib.sh in the image).
# The containers run with host networking, several instances of one image on one host. Each
# OpenStack image runs in one of two modes: its configuration file delivered into the container
# before it starts (a record's services[].config; the entrypoint only checks it, fixes its owner and
# mode and reads what it needs from it), or, when the service's DB URL variable is set, written by
# the entrypoint at start from environment variables (the older records' way).
# Logs go to stderr, where `docker logs` finds them.

log() { printf '%s %s: %s\n' "$(date -u +%FT%TZ)" "${PATCHBAY_IMAGE:-patchbay}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

require_env() {
  local v
  for v in "$@"; do [ -n "${!v:-}" ] || die "environment variable $v must be set"; done
}
require_port() {
  local v="$1"
  if ! [[ "${!v:-}" =~ ^[0-9]+$ ]] || [ "${!v}" -lt 1 ] || [ "${!v}" -gt 65535 ]; then
    die "environment variable $v must be a TCP port (got '${!v:-}')"
  fi
}

# Waits until something accepts TCP connections on HOST:PORT, at most SECONDS. Job containers use it
# so that a db-sync started right after MariaDB does not fail on a database still initialising.
wait_for_tcp() {
  local host="$1" port="$2" seconds="$3" deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || die "nothing answers on $host:$port after ${seconds} s"
    sleep 1
  done
}
# Same, for an SQLAlchemy URL such as mysql+pymysql://user:password@127.0.0.1:3306/keystone.
wait_for_db() {
  local url="$1" seconds="${2:-60}" rest host port
  rest="${url#*://}"
  rest="${rest##*@}"
  rest="${rest%%/*}"
  rest="${rest%%\?*}"
  host="${rest%:*}"
  port=3306
  [ "$host" = "$rest" ] || port="${rest##*:}"
  [ -n "$host" ] || return 0 # a unix socket URL: nothing to wait for over TCP
  log "waiting (at most ${seconds} s) for the database at $host:$port"
  wait_for_tcp "$host" "$port" "$seconds"
}

# ini_get FILE SECTION KEY: the value of KEY in [SECTION] of an oslo.config file, empty if it has
# none. Read with Python's configparser (no interpolation: an oslo-escaped "$$" stays doubled; a key
# given twice keeps its last value, as oslo.config does for a single-valued option).
ini_get() {
  python3 - "$@" <<'PY'
import configparser, sys
path, section, key = sys.argv[1:4]
parser = configparser.RawConfigParser(strict=False, interpolation=None)
with open(path, encoding="utf-8") as f:
    parser.read_file(f)
print(parser.get(section, key, fallback=""))
PY
}

# A delivered configuration file: it must be there, and the service user may read it and nobody
# else (it holds the database password): root-owned, group GROUP (the service user's), mode 0640.
own_config() { # FILE GROUP
  [ -f "$1" ] || die "no configuration: deliver $1 (a record's services[].config) or set the DB URL variable"
  chown "root:$2" "$1"
  chmod 640 "$1"
}

# oslo.config expands $name in values; a literal $ (in a password) must be written $$.
oslo_value() { printf '%s' "${1//\$/\$\$}"; }

# Owner and mode of a directory shared between instances (a volume): the image's service user owns
# it whatever the host path was created as, and nobody else reads it (Fernet keys are secrets).
own_dir() { # DIR USER MODE
  mkdir -p "$1"
  chown "$2:$2" "$1"
  chmod "$3" "$1"
}

# Runs a command as the service user. setpriv execs (runuser would stay as a parent process between
# the init and the server, in the way of signals).
as_user() { local u="$1"; shift; HOME="/var/lib/$u" setpriv --reuid "$u" --regid "$u" --init-groups -- "$@"; }
exec_as_user() { local u="$1"; shift; HOME="/var/lib/$u" exec setpriv --reuid "$u" --regid "$u" --init-groups -- "$@"; }
