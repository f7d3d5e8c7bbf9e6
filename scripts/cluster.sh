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
# shellcheck source=scripts/cluster-lib.sh
. scripts/cluster-lib.sh
cluster_init

BACKENDS=()
for i in $(seq 1 "$N"); do
  port=$((PORT + i))
  cluster_start "i$i" "$port" "$PORT" PORTAL_REDIS_URL="$REDIS" \
    PORTAL_JOBS_SCHEDULER="$([ "$i" = 1 ] && echo true || echo false)"
  BACKENDS+=("$port")
done
cluster_balancer "$PORT" "" "${BACKENDS[@]}"

for i in $(seq 1 "$N"); do
  port=$((PORT + i))
  cluster_wait "$port"
  echo "instance $i: http://127.0.0.1:$port  $CLUSTER_HEALTH"
  echo "$CLUSTER_HEALTH" | grep -q '"rate_limits":"shared"' || cluster_fail "instance $i does not share rate limits"
done
echo "balancer:   http://127.0.0.1:$PORT  $(curl -fsS "http://127.0.0.1:$PORT/healthz")"
echo "database:   $DB (dropped when the cluster stops)"
printf '%s\n' "first admin: printf '%s\\n' 'a long unusual passphrase' | DATABASE_URL=<that database> target/release/concat-portal admin create --email you@example.com --name You --password-stdin"

if [ -n "${CLUSTER_SECONDS:-}" ]; then
  sleep "$CLUSTER_SECONDS"
else
  echo "Ctrl-C stops the cluster."
  # Until Ctrl-C, or until any instance (or the balancer) stops on its own.
  wait -n "${PIDS[@]}" || true
  cluster_fail "a process of the cluster stopped"
fi
