# Shared helpers for the research scripts (sourced). Host networking, loopback ports 19801-19806.
W=/tmp/pb/trixie/work
OUT=/tmp/pb/trixie/out
mkdir -p "$W" "$OUT"
DB_IMG=patchbay/mariadb:10.11.19-0-deb12u1
K22=patchbay/keystone:22.0.2-0-deb12u6
K27=patchbay-research/keystone:27
DB_PORT=19806; K22_PORT=19801; K27_PORT=19802
DB_CT=pbr-trixie-db
ROOT_PW=rootpw19806
KS_PW=kspw19806
ADMIN_PW=adminpw19806
DB_URL="mysql+pymysql://keystone:$KS_PW@127.0.0.1:$DB_PORT/keystone"
ts() { date +%s.%N; }
el() { awk -v a="$1" -v b="$(ts)" 'BEGIN{printf "%.1f", b-a}'; }
note() { printf '\n### %s  [%s]\n' "$*" "$(date -u +%T)"; }
sql() { docker exec "$DB_CT" mariadb -N -B keystone -e "$1"; }
alembic() { echo "alembic_version:"; sql "SELECT version_num FROM alembic_version ORDER BY version_num" | sed 's/^/  /'; }
schema_dump() { docker exec "$DB_CT" mariadb-dump --no-data --skip-dump-date --triggers --routines keystone | sed -E 's/ AUTO_INCREMENT=[0-9]+//' >"$OUT/schema-$1.sql"; }
# ks IMAGE ARGS... : a keystone job container (env way), keys mounted, host network
ks() { local img="$1"; shift
  timeout 300 docker run --rm --network host --init -e KEYSTONE_DB_URL="$DB_URL" \
    -v "$W/fernet:/etc/keystone/fernet-keys" -v "$W/credential:/etc/keystone/credential-keys" "$img" "$@"; }
# serve NAME IMAGE PORT : start a replica, wait (max 120 s) for GET /v3 200
serve() { local name="$1" img="$2" port="$3" t0 i code
  docker rm -f "$name" >/dev/null 2>&1 || true
  t0=$(ts)
  docker run -d --name "$name" --network host --init -e KEYSTONE_DB_URL="$DB_URL" -e KEYSTONE_PORT="$port" \
    -v "$W/fernet:/etc/keystone/fernet-keys" -v "$W/credential:/etc/keystone/credential-keys" "$img" >/dev/null
  for i in $(seq 1 240); do
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/v3" || true)
    [ "$code" = 200 ] && { echo "$name ($img): GET /v3 200 after $(el "$t0") s"; return 0; }
    docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null | grep -q true || { echo "$name exited"; docker logs --tail 30 "$name"; return 1; }
    sleep 0.5
  done
  echo "$name: no 200 on /v3 in 120 s (last $code)"; docker logs --tail 30 "$name" 2>&1; return 1
}
# token PORT : POST /v3/auth/tokens for admin; prints status and the token into $W/token.$PORT
token() { local port="$1" code
  code=$(curl -s -m 30 -o "$W/token-body.$port" -D "$W/token-hdr.$port" -w '%{http_code}' \
    -H 'Content-Type: application/json' "http://127.0.0.1:$port/v3/auth/tokens" -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"'"$ADMIN_PW"'"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}')
  tr -d '\r' <"$W/token-hdr.$port" | awk -F': ' 'tolower($1)=="x-subject-token"{print $2}' >"$W/token.$port"
  echo "POST /v3/auth/tokens on :$port -> $code (token ${#code} $(wc -c <"$W/token.$port") bytes); body: $(head -c 200 "$W/token-body.$port")"
}
# validate PORT TOKENFILE : GET /v3/auth/tokens with X-Auth-Token = X-Subject-Token = that token
validate() { local port="$1" t; t=$(cat "$2")
  echo "GET /v3/auth/tokens on :$port with token from $2 -> $(curl -s -m 30 -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $t" -H "X-Subject-Token: $t" "http://127.0.0.1:$port/v3/auth/tokens")"
}
# extra read + write via API on PORT: list users, create + delete a project
crud() { local port="$1" t pid; t=$(cat "$W/token.$port")
  echo "GET /v3/users on :$port -> $(curl -s -m 30 -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $t" "http://127.0.0.1:$port/v3/users")"
  pid=$(curl -s -m 30 -H "X-Auth-Token: $t" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v3/projects" -d '{"project":{"name":"probe-'"$port-$RANDOM"'","domain_id":"default"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["project"]["id"])' 2>/dev/null || echo FAIL)
  echo "POST /v3/projects on :$port -> id $pid"
  [ "$pid" = FAIL ] || echo "DELETE /v3/projects/$pid -> $(curl -s -m 30 -o /dev/null -w '%{http_code}' -X DELETE -H "X-Auth-Token: $t" "http://127.0.0.1:$port/v3/projects/$pid")"
}
