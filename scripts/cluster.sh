#!/usr/bin/env bash
# A cluster you can start (issue 16.4): N portal instances (release build) on one PostgreSQL
# database and one Redis, behind HAProxy (Debian's), round robin, all on loopback ports.
#
#   scripts/cluster.sh [instances, default 3]
#
# Prints the balancer's address and each instance's, checks that every instance is healthy,
# listening for changes and sharing rate limits, then keeps running until Ctrl-C (everything it
# started is stopped; the database it created is dropped).
#
# Environment: CLUSTER_PG (default postgres://postgres@127.0.0.1:5432), CLUSTER_REDIS
# (default redis://127.0.0.1:6379), CLUSTER_PORT (the balancer's, default 18300; instances
# take the next N ports), CLUSTER_SECONDS (stop after this long instead of waiting for Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-3}"
PG="${CLUSTER_PG:-postgres://postgres@127.0.0.1:5432}"
REDIS="${CLUSTER_REDIS:-redis://127.0.0.1:6379}"
PORT="${CLUSTER_PORT:-18300}"

command -v haproxy >/dev/null || { echo "haproxy is not installed (apt-get install -y haproxy)" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql is not installed" >&2; exit 1; }
cargo build --release --locked --bin concat-portal >&2

WORK="$(mktemp -d)"
DB="concat_cluster_$$"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# On a failure: every instance's log, before they are removed.
fail() {
  echo "$1" >&2
  for f in "$WORK"/i*.log "$WORK/haproxy.log"; do [ -f "$f" ] && { echo "== $f" >&2; cat "$f" >&2; }; done
  exit 1
}

psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
DATABASE_URL="$PG/$DB"
KEY="$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# Migrations first (as in a rolling deployment), then the instances.
DATABASE_URL="$DATABASE_URL" PORTAL_DATA_DIR="$WORK/migrate" target/release/concat-portal migrate >&2

BACKENDS=""
for i in $(seq 1 "$N"); do
  port=$((PORT + i))
  DATABASE_URL="$DATABASE_URL" PORTAL_DATA_DIR="$WORK/i$i" PORTAL_ADDR="127.0.0.1:$port" \
    PORTAL_BASE_URL="http://127.0.0.1:$PORT" PORTAL_SECRET_KEY="$KEY" PORTAL_REDIS_URL="$REDIS" \
    PORTAL_TRUST_PROXY_HEADERS=true PORTAL_JOBS_SCHEDULER="$([ "$i" = 1 ] && echo true || echo false)" \
    RUST_LOG="${CLUSTER_RUST_LOG:-warn}" \
    target/release/concat-portal serve >"$WORK/i$i.log" 2>&1 &
  PIDS+=($!)
  BACKENDS="$BACKENDS    server portal$i 127.0.0.1:$port check
"
done

cat >"$WORK/haproxy.cfg" <<EOF
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option forwardfor
frontend portal
    bind 127.0.0.1:$PORT
    default_backend instances
backend instances
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
$BACKENDS
EOF
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
PIDS+=($!)

for i in $(seq 1 "$N"); do
  port=$((PORT + i))
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null | grep -q '"changes":"listening"' && break
    sleep 0.1
  done
  health="$(curl -fsS "http://127.0.0.1:$port/healthz")" || fail "instance $i does not answer"
  echo "instance $i: http://127.0.0.1:$port  $health"
  echo "$health" | grep -q '"changes":"listening"' || fail "instance $i is not listening for changes"
  echo "$health" | grep -q '"rate_limits":"shared"' || fail "instance $i does not share rate limits"
done
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
echo "balancer:   http://127.0.0.1:$PORT  $(curl -fsS "http://127.0.0.1:$PORT/healthz")"
echo "database:   $DB (dropped when the cluster stops)"
echo "first admin: printf '%s\\n' 'a long unusual passphrase' | DATABASE_URL=<that database> target/release/concat-portal admin create --email you@example.com --name You --password-stdin"

if [ -n "${CLUSTER_SECONDS:-}" ]; then
  sleep "$CLUSTER_SECONDS"
else
  echo "Ctrl-C stops the cluster."
  # Until Ctrl-C, or until any instance (or the balancer) stops on its own.
  wait -n "${PIDS[@]}" || true
  fail "a process of the cluster stopped"
fi
