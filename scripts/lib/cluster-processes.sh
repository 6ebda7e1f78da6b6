# Shared by scripts/k8s-cluster.sh and scripts/temporal-cluster.sh: the processes of a local test
# cluster, each detached in its own session, found again by its pid file and by its command line
# naming the cluster's state directory. The caller sets STATE (the state directory) and COMPONENTS
# (what wait_for watches) and defines die.

# The pid of a component of this cluster, if it runs (the command line must name this state directory).
pid_of() {
  local pid
  pid=$(cat "$STATE/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$STATE/" && echo "$pid"
}

alive() { # pid: it runs (a child that exited stays a zombie, which kill -0 still finds, until waited for)
  kill -0 "$1" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

launch() { # name command... : its own session and process group, detached from this script; the log is appended to
  local name=$1 pid deadline=$((SECONDS + 10))
  shift
  setsid "$@" >>"$STATE/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$STATE/$name.pid"
  # Until the forked child has exec'ed, its command line is still this script's, and pid_of would take
  # it for dead. Wait for it.
  until pid_of "$name" >/dev/null; do
    alive "$pid" || return 0 # it exited already: wait_for reports it, with its status and log
    [ $SECONDS -lt "$deadline" ] || die "$name did not start within 10 s"
    sleep 0.02
  done
}

exited() { # name: sets WHY to why a component pid_of no longer sees has gone (not in a subshell: it waits)
  local pid status=unknown
  pid=$(cat "$STATE/$1.pid" 2>/dev/null) || true
  if [ -n "$pid" ] && ! alive "$pid"; then
    wait "$pid" 2>/dev/null && status=0 || status=$?
    [ "$status" -gt 128 ] && status="$status (signal $(kill -l $((status - 128)) 2>/dev/null || echo $((status - 128))))"
  fi
  # (the services log JSON with stack traces: each line cut short)
  WHY=$(printf '%s exited with status %s; last lines of %s:\n%s' "$1" "$status" "$STATE/$1.log" "$(tail -n 20 "$STATE/$1.log" | cut -c1-400)")
}

wait_for() { # what seconds command...: poll every 0.1 s while the components live
  local what=$1 deadline=$((SECONDS + $2)) c
  shift 2
  until "$@" >/dev/null 2>&1; do
    for c in "${COMPONENTS[@]}"; do
      if [ -f "$STATE/$c.pid" ] && ! pid_of "$c" >/dev/null; then exited "$c"; die "while waiting for $what: $WHY"; fi
    done
    [ $SECONDS -lt "$deadline" ] || die "no $what after $2 s; logs in $STATE"
    sleep 0.1
  done
}
