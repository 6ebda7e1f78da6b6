#!/bin/sh
# Creates the namespace Patchbay runs in and registers Patchbay's search attributes on it, through the
# frontend's operator API with the temporal CLI; idempotent. Run by docker-compose.yml's
# temporal-namespace-setup (temporalio/admin-tools) and by scripts/temporal-cluster.sh.
#
#   TEMPORAL_ADDRESS                 the frontend, host:port
#   TEMPORAL_NAMESPACE               default "default"
#   TEMPORAL_NAMESPACE_RETENTION     how long closed workflows are kept (default 72h)
#   PATCHBAY_SEARCH_ATTRIBUTES       "Name=Type Name=Type ...": src/workflows/searchAttributes.ts's
#                                    SEARCH_ATTRIBUTES (test/compose.test.ts keeps compose's copy equal)
#   TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_SERVER_NAME
#                                    mTLS to the frontend, when set (the same variables Patchbay reads)
#   TEMPORAL_CLI                     default temporal (from PATH)
set -eu

cli=${TEMPORAL_CLI:-temporal}
ns=${TEMPORAL_NAMESPACE:-default}
set -- --address "${TEMPORAL_ADDRESS:?}" --command-timeout 10s
[ -z "${TEMPORAL_TLS_CA:-}" ] || set -- "$@" --tls-ca-path "$TEMPORAL_TLS_CA"
[ -z "${TEMPORAL_TLS_CERT:-}" ] || set -- "$@" --tls-cert-path "$TEMPORAL_TLS_CERT" --tls-key-path "${TEMPORAL_TLS_KEY:?}"
[ -z "${TEMPORAL_TLS_SERVER_NAME:-}" ] || set -- "$@" --tls-server-name "$TEMPORAL_TLS_SERVER_NAME"

# retry WHAT COMMAND...: run it until it succeeds, every 0.5 s for at most 60 s; then show why not.
retry() {
  what=$1
  shift
  tries=0
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 120 ]; then
      "$@" >&2 || true
      echo "setup-namespace: $what: no success within 60 s" >&2
      exit 1
    fi
    sleep 0.5
  done
}

# The frontend is healthy once history and matching have joined it.
retry "the frontend at $TEMPORAL_ADDRESS" "$cli" operator cluster health "$@"

if ! "$cli" operator namespace describe --namespace "$ns" "$@" >/dev/null 2>&1; then
  "$cli" operator namespace create --namespace "$ns" --retention "${TEMPORAL_NAMESPACE_RETENTION:-72h}" "$@" >/dev/null
fi

# One call for all of them (--name and --type pair up in order); registering an attribute the
# namespace has is a no-op. Retried: a namespace just created is unknown to the frontend until its
# namespace cache refreshes (~2 s).
attributes=
for a in ${PATCHBAY_SEARCH_ATTRIBUTES:-}; do attributes="$attributes --name ${a%%=*} --type ${a#*=}"; done
if [ -n "$attributes" ]; then
  # shellcheck disable=SC2086 # split on purpose: names and types are identifiers
  retry "registering search attributes" "$cli" operator search-attribute create --namespace "$ns" $attributes "$@"
fi

# Every one is listed: nothing was dropped on the way.
all_listed() {
  listing=$("$cli" operator search-attribute list --namespace "$ns" --output json "$@") || return 1
  for a in ${PATCHBAY_SEARCH_ATTRIBUTES:-}; do
    case $listing in *"\"${a%%=*}\""*) ;; *) return 1 ;; esac
  done
}
retry "listing search attributes ${PATCHBAY_SEARCH_ATTRIBUTES:-}" all_listed "$@"
echo "setup-namespace: namespace $ns with search attributes: ${PATCHBAY_SEARCH_ATTRIBUTES:-none}"
