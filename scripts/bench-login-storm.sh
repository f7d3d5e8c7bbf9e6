#!/usr/bin/env bash
# The sign-in storm of issue 12.1, against a release build on SQLite, in one run:
#   1. wrk on authenticated GET /api/v1/me alone (the reference),
#   2. the same wrk while `examples/login_storm` fires 400 concurrent sign-ins (half malformed
#      emails, half unknown well-formed ones, each from its own X-Forwarded-For address), in
#      waves (STORM_MODE=waves, default) or always in flight (STORM_MODE=sustained),
# reporting the API p99 of both, their ratio (target ≤ 1.25), the storm's status codes and the
# server's peak RSS (VmHWM, target ≤ 150 MiB).
# With BENCH_API_LISTENER=1 the server also gets PORTAL_API_ADDR (the API on a listener and
# worker threads of its own) and wrk measures the API there; the storm still goes to PORTAL_ADDR.
# Usage: scripts/bench-login-storm.sh [seconds, default 15]. Needs wrk. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-15}"
CONCURRENCY="${STORM_CONCURRENCY:-400}"
# waves (default): 400 sign-ins fired at once, again a second after the last answer;
# sustained: 400 always in flight (a saturating load; see docs/PERFORMANCE.md).
MODE="${STORM_MODE:-waves}"
PIN="${BENCH_PIN:-1}"
SERVER_CPU=(); LOAD_CPU=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=(taskset -c 0); LOAD_CPU=(taskset -c 1)
fi
PORT="${BENCH_PORT:-18182}"
API_PORT="$PORT"; API_ENV=()
if [ "${BENCH_API_LISTENER:-0}" = 1 ]; then
  API_PORT="$((PORT + 1))"; API_ENV=("PORTAL_API_ADDR=127.0.0.1:$API_PORT")
fi

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
cargo build --release --locked --bin concat-portal --example seed_bench --example login_storm >&2

WORK="$(mktemp -d)"
trap 'kill "${SERVER:-0}" 2>/dev/null || true; wait "${SERVER:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
DB="sqlite://$WORK/portal.db"
eval "$(target/release/examples/seed_bench "$DB")"

DATABASE_URL="$DB" PORTAL_DATA_DIR="$WORK" PORTAL_ADDR="127.0.0.1:$PORT" \
  PORTAL_TRUST_PROXY_HEADERS=true PORTAL_API_RATE_LIMIT=1000000000 RUST_LOG="${BENCH_RUST_LOG:-warn}" \
  env "${API_ENV[@]}" "${SERVER_CPU[@]}" target/release/concat-portal serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null
RSS_START_KB="$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")"

AUTH="Authorization: Bearer $API_ID:$API_SECRET"
to_ms() {
  case "$1" in
    *us) awk -v v="${1%us}" 'BEGIN{printf "%.3f", v/1000}' ;;
    *ms) awk -v v="${1%ms}" 'BEGIN{printf "%.3f", v}' ;;
    *s)  awk -v v="${1%s}" 'BEGIN{printf "%.3f", v*1000}' ;;
  esac
}
measure() {
  local out
  out="$("${LOAD_CPU[@]}" wrk -t1 -c64 -d"${DURATION}s" --latency -H "$AUTH" "http://127.0.0.1:$API_PORT/api/v1/me")"
  echo "$out" >&2
  if echo "$out" | grep -q "Non-2xx"; then echo "some API responses were not 2xx" >&2; exit 1; fi
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")"
}

"${LOAD_CPU[@]}" wrk -t1 -c64 -d2s -H "$AUTH" "http://127.0.0.1:$API_PORT/api/v1/me" >/dev/null
read -r RPS_ALONE P99_ALONE <<<"$(measure)"

# The storm starts first and outlasts the measurement by a second on each side.
# The storm client shares CPU 1 with wrk; at nice 19 it does not delay wrk's own measurement
# (STORM_NICE=0 to let them compete). The server still gets every sign-in of every wave.
"${LOAD_CPU[@]}" nice -n "${STORM_NICE:-19}" target/release/examples/login_storm "http://127.0.0.1:$PORT" "$CONCURRENCY" "$((DURATION + 2))" "$MODE" >"$WORK/storm.txt" 2>"${STORM_ERRORS:-/dev/null}" &
STORM=$!
sleep 1
read -r RPS_STORM P99_STORM <<<"$(measure)"
wait "$STORM"
HEALTH_MS="$(curl -fsS -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/healthz" | awk '{printf "%.1f", $1*1000}')"
RSS_KB="$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")"
RSS_END_KB="$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")"

echo
echo "## Sign-in storm ($MODE): $(date -u +%Y-%m-%dT%H:%MZ), API listener of its own: ${BENCH_API_LISTENER:-0}, $(nproc) cores, $CONCURRENCY concurrent sign-ins for $((DURATION + 2)) s, wrk -t1 -c64 -d${DURATION}s on /api/v1/me, pinned: ${SERVER_CPU[*]:-no} / ${LOAD_CPU[*]:-no}"
echo "storm responses (status count): $(tr '\n' ' ' <"$WORK/storm.txt")"
printf '| %-28s | %10s | %8s |\n' "GET /api/v1/me" "req/s" "p99 ms"
printf '|%s|%s|%s|\n' "------------------------------" "------------" "----------"
printf '| %-28s | %10s | %8s |\n' "alone" "$RPS_ALONE" "$P99_ALONE"
printf '| %-28s | %10s | %8s |\n' "during the storm" "$RPS_STORM" "$P99_STORM"
awk -v a="$P99_ALONE" -v s="$P99_STORM" -v rss="$RSS_KB" -v r0="$RSS_START_KB" -v r1="$RSS_END_KB" -v h="$HEALTH_MS" 'BEGIN {
  printf "\np99 during ÷ alone = %.2f (target ≤ 1.25)\n", s/a
  printf "server RSS: %.1f MiB at start, peak %.1f MiB (target ≤ 150 MiB), %.1f MiB after\n", r0/1024, rss/1024, r1/1024
  printf "/healthz right after the storm: %s ms\n", h
}'
