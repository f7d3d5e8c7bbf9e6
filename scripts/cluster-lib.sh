# shellcheck shell=bash
# Shared by scripts/cluster.sh and scripts/bench-cluster.sh (sourced, not run): portal instances
# (the release build) on a PostgreSQL database of their own, HAProxy round robin in front, all
# on loopback ports, and the cleanup that stops them and drops the database.
#
# The caller sets PG (postgres:// URL of the server, no database), DB (a database name of its
# own) and WORK (a fresh directory), then calls cluster_init. Every process started here is in
# PIDS; cleanup (on exit) stops them, drops DB and removes WORK.

PIDS=()

cluster_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}

# On a failure: the message, then every log (instances, balancer) before they are removed.
cluster_fail() {
  local f
  echo "$1" >&2
  for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; cat "$f" >&2; }; done
  exit 1
}

# Creates DB, sets DATABASE_URL and KEY (one PORTAL_SECRET_KEY for every instance), installs
# the cleanup, runs the migrations once (as before a rolling deployment).
cluster_init() {
  trap cluster_cleanup EXIT
  trap 'exit 130' INT TERM
  psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
  DATABASE_URL="$PG/$DB"
  KEY="$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  DATABASE_URL="$DATABASE_URL" PORTAL_DATA_DIR="$WORK/migrate" \
    target/release/concat-portal migrate >&2
}

# cluster_start NAME PORT BALANCER_PORT [VAR=value ...]: starts one instance on 127.0.0.1:PORT
# (log: $WORK/NAME.log) behind the balancer at BALANCER_PORT, with the settings every instance
# shares and the extra VAR=value given (e.g. PORTAL_REDIS_URL=…). With CLUSTER_CPUS set (a
# taskset CPU list) it runs on those CPUs only. Sets CLUSTER_PID.
cluster_start() {
  local name="$1" port="$2" balancer="$3"
  shift 3
  local wrap=()
  if [ -n "${CLUSTER_CPUS:-}" ]; then wrap=(taskset -c "$CLUSTER_CPUS"); fi
  env DATABASE_URL="$DATABASE_URL" PORTAL_DATA_DIR="$WORK/$name" PORTAL_ADDR="127.0.0.1:$port" \
    PORTAL_BASE_URL="http://127.0.0.1:$balancer" PORTAL_SECRET_KEY="$KEY" \
    PORTAL_TRUST_PROXY_HEADERS=true RUST_LOG="${CLUSTER_RUST_LOG:-warn}" "$@" \
    "${wrap[@]}" target/release/concat-portal serve >"$WORK/$name.log" 2>&1 &
  CLUSTER_PID=$!
  PIDS+=("$CLUSTER_PID")
}

# cluster_stop PID: stops one process started here (and forgets it).
cluster_stop() {
  local p keep=()
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# cluster_wait PORT: until the instance's /healthz answers and says it listens for changes
# (10 s at most); its body is then in CLUSTER_HEALTH. Fails with the logs if it never does.
cluster_wait() {
  local port="$1" _
  CLUSTER_HEALTH=""
  for _ in $(seq 1 100); do
    CLUSTER_HEALTH="$(curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" 2>/dev/null)" \
      && echo "$CLUSTER_HEALTH" | grep -q '"changes":"listening"' && return 0
    sleep 0.1
  done
  [ -n "$CLUSTER_HEALTH" ] || cluster_fail "the instance on port $port does not answer"
  cluster_fail "the instance on port $port is not listening for changes: $CLUSTER_HEALTH"
}

# cluster_balancer PORT STATS_PORT BACKEND_PORT...: HAProxy on 127.0.0.1:PORT, round robin over
# the instances, each health-checked on /healthz; with STATS_PORT (not empty) its statistics at
# http://127.0.0.1:STATS_PORT/stats (CSV: /stats;csv). Waits (10 s at most) until it answers.
cluster_balancer() {
  local port="$1" stats="$2" i=0 b _
  shift 2
  {
    cat <<EOF
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option forwardfor
frontend portal
    bind 127.0.0.1:$port
    default_backend instances
backend instances
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
EOF
    for b in "$@"; do
      i=$((i + 1))
      echo "    server portal$i 127.0.0.1:$b check"
    done
    if [ -n "$stats" ]; then
      printf 'listen stats\n    bind 127.0.0.1:%s\n    stats enable\n    stats uri /stats\n' "$stats"
    fi
  } >"$WORK/haproxy.cfg"
  haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cluster_fail "the balancer does not answer"
}
