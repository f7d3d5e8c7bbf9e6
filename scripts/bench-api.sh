#!/usr/bin/env bash
# Benchmarks the API path against a release build on SQLite, in one run:
#   /healthz, authenticated GET /api/v1/me, and authenticated
#   GET /api/v1/organizations/{org}/events (20 events), each with wrk at 64 connections,
# reporting requests/s, p50/p99 latency and the server's peak RSS (VmHWM).
# Usage: scripts/bench-api.sh [seconds per endpoint, default 15]
# Needs wrk (Debian: apt-get install -y wrk). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-15}"
CONNECTIONS=64
THREADS="${BENCH_WRK_THREADS:-1}"  # one wrk thread leaves the server a core of its own
# Pin the server to CPU 0 and wrk to CPU 1 (BENCH_PIN=0 to let the scheduler place both), so the
# load generator does not preempt the server's threads mid-request and the tail measures the
# portal rather than the two fighting over the same core.
PIN="${BENCH_PIN:-1}"
SERVER_CPU=(); WRK_CPU=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=(taskset -c 0); WRK_CPU=(taskset -c 1)
fi
PORT="${BENCH_PORT:-18181}"

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
cargo build --release --locked --bin concat-portal --example seed_bench >&2

WORK="$(mktemp -d)"
trap 'kill "${SERVER:-0}" 2>/dev/null || true; wait "${SERVER:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
DB="sqlite://$WORK/portal.db"
eval "$(target/release/examples/seed_bench "$DB")"

# Production defaults, except: a rate limit the load cannot reach, and warn-level logs (one
# info line per request would measure the log file; BENCH_RUST_LOG=info to include it).
DATABASE_URL="$DB" PORTAL_DATA_DIR="$WORK" PORTAL_ADDR="127.0.0.1:$PORT" \
  PORTAL_API_RATE_LIMIT=1000000000 RUST_LOG="${BENCH_RUST_LOG:-warn}" \
  "${SERVER_CPU[@]}" target/release/concat-portal serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null

AUTH="Authorization: Bearer $API_ID:$API_SECRET"
EVENTS="/api/v1/organizations/$ORG_ID/events"
curl -fsS -H "$AUTH" "http://127.0.0.1:$PORT$EVENTS" | grep -q '"has_more":false' \
  || { echo "the events endpoint does not answer as expected" >&2; exit 1; }

# to_ms "1.23ms" → 1.23
to_ms() {
  case "$1" in
    *us) awk -v v="${1%us}" 'BEGIN{printf "%.3f", v/1000}' ;;
    *ms) awk -v v="${1%ms}" 'BEGIN{printf "%.3f", v}' ;;
    *s)  awk -v v="${1%s}" 'BEGIN{printf "%.3f", v*1000}' ;;
  esac
}

declare -A RPS P50 P99
run() {
  local name="$1" path="$2"; shift 2
  # Warm-up (caches, connections), then the measured run.
  "${WRK_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$@" "http://127.0.0.1:$PORT$path" >/dev/null
  local out
  out="$("${WRK_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "http://127.0.0.1:$PORT$path")"
  echo "$out" >&2
  if echo "$out" | grep -q "Non-2xx"; then
    echo "$name: some responses were not 2xx" >&2; exit 1
  fi
  RPS[$name]="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  P50[$name]="$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")"
  P99[$name]="$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")"
}

run healthz /healthz
run me /api/v1/me -H "$AUTH" -H "EventId: evt_0000000000000000"
run events "$EVENTS" -H "$AUTH"
RSS_KB="$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")"

echo
echo "## API benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, pinned: ${SERVER_CPU[*]:-no} / ${WRK_CPU[*]:-no}"
printf '| %-40s | %10s | %8s | %8s |\n' endpoint "req/s" "p50 ms" "p99 ms"
printf '|%s|%s|%s|%s|\n' "------------------------------------------" "------------" "----------" "----------"
for n in healthz me events; do
  case $n in
    healthz) label="GET /healthz" ;;
    me) label="GET /api/v1/me (Bearer)" ;;
    events) label="GET /api/v1/organizations/{org}/events" ;;
  esac
  printf '| %-40s | %10s | %8s | %8s |\n' "$label" "${RPS[$n]}" "${P50[$n]}" "${P99[$n]}"
done
awk -v h="${RPS[healthz]}" -v m="${RPS[me]}" -v e="${RPS[events]}" -v p1="${P99[me]}" -v p2="${P99[events]}" -v rss="$RSS_KB" 'BEGIN {
  printf "\n/me ÷ /healthz = %.2f (target ≥ 0.85)\n", m/h
  printf "events ÷ /healthz = %.2f (target ≥ 0.40)\n", e/h
  printf "p99: /me %.2f ms, events %.2f ms (target ≤ 5 ms)\n", p1, p2
  printf "server peak RSS: %.1f MiB (target ≤ 100 MiB)\n", rss/1024
}'
