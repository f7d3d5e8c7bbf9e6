#!/usr/bin/env bash
# Benchmarks the portal as a cluster (issue 16), in one run, against a release build on a
# PostgreSQL database of its own (created here, dropped at the end) and the machine's Redis:
#
#   (a) one instance, direct, local rate limits (no PORTAL_REDIS_URL);
#   (b) the same instance, restarted identically but with shared rate limits (PORTAL_REDIS_URL);
#   (c) HAProxy round robin (as scripts/cluster.sh) to 2 instances with shared rate limits;
#
# each with wrk at 64 connections on GET /api/v1/me and GET /api/v1/organizations/{org}/events
# (20 events), reporting requests/s, p50 and p99; then the propagation of 100 revocations to
# instance 2 (examples/bench_propagation.rs: each secret warmed on instance 2, revoked through
# the service code the web handler calls, instance 2 polled until it refuses it). Prints a table
# and the figures against the targets of issue 16.
#
# Usage: scripts/bench-cluster.sh [seconds per wrk run, default 15]
# Environment: BENCH_PG (default postgres://postgres@127.0.0.1:5432), BENCH_REDIS (default
# redis://127.0.0.1:6379), BENCH_PORT (the balancer's, default 18400; instances take the next
# two, HAProxy's statistics +9), BENCH_PIN (default 1: in (a) and (b) the instance runs on CPU 0
# and wrk on CPU 1; (c) is never pinned), BENCH_WRK_THREADS (default 1), BENCH_REVOCATIONS
# (default 100), BENCH_RUST_LOG (default warn).
# Needs wrk and haproxy (Debian: apt-get install -y wrk haproxy), psql, curl; redis-cli to check
# that Redis was asked on every request of (b). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-15}"
CONNECTIONS=64
THREADS="${BENCH_WRK_THREADS:-1}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
REDIS="${BENCH_REDIS:-redis://127.0.0.1:6379}"
PORT="${BENCH_PORT:-18400}"
PORT1=$((PORT + 1))
PORT2=$((PORT + 2))
STATS=$((PORT + 9))
REVOCATIONS="${BENCH_REVOCATIONS:-100}"
PIN="${BENCH_PIN:-1}"
SERVER_CPUS=""
WRK_CPU=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPUS=0
  WRK_CPU=(taskset -c 1)
fi

for tool in wrk haproxy psql curl; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install -y wrk haproxy)" >&2; exit 1; }
done
cargo build --release --locked --bin concat-portal --example seed_bench --example bench_propagation >&2

WORK="$(mktemp -d)"
DB="concat_bench_cluster_$$"
# shellcheck source=scripts/cluster-lib.sh
. scripts/cluster-lib.sh
cluster_init
SEED="$(target/release/examples/seed_bench "$DATABASE_URL")" || cluster_fail "seeding failed"
eval "$SEED"
AUTH="Authorization: Bearer $API_ID:$API_SECRET"
EVENTS="/api/v1/organizations/$ORG_ID/events"

# Production settings, except: rate limits the load cannot reach (still checked, in Redis when
# shared, on every request), warn-level logs, and Redis keys of this run only.
LIMITS=(PORTAL_API_RATE_LIMIT=1000000000 PORTAL_API_UNAUTHENTICATED_LIMIT=1000000000
  PORTAL_REDIS_KEY_PREFIX="concat-bench-$$:")
export CLUSTER_RUST_LOG="${BENCH_RUST_LOG:-warn}"

# Script calls Redis has answered (everyone's: a lower bound for ours), or empty without redis-cli.
redis_calls() {
  command -v redis-cli >/dev/null || return 0
  redis-cli -u "$REDIS" INFO commandstats 2>/dev/null | tr -d '\r' \
    | awk -F'[:=,]' '$1=="cmdstat_evalsha" || $1=="cmdstat_eval" {n += $3} END {print n + 0}'
}

# to_ms "1.23ms" → 1.23
to_ms() {
  case "$1" in
    *us) awk -v v="${1%us}" 'BEGIN{printf "%.3f", v/1000}' ;;
    *ms) awk -v v="${1%ms}" 'BEGIN{printf "%.3f", v}' ;;
    *s)  awk -v v="${1%s}" 'BEGIN{printf "%.3f", v*1000}' ;;
  esac
}

declare -A RPS P50 P99 REQS
# run NAME PORT PATH [wrk arguments]: a 2 s warm-up, then the measured run.
run() {
  local name="$1" port="$2" path="$3" out
  shift 3
  "${WRK[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$@" "http://127.0.0.1:$port$path" >/dev/null
  out="$("${WRK[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "http://127.0.0.1:$port$path")"
  echo "== $name" >&2
  echo "$out" >&2
  if echo "$out" | grep -q "Non-2xx"; then cluster_fail "$name: some responses were not 2xx"; fi
  if echo "$out" | grep -q "Socket errors"; then echo "$name: wrk saw socket errors (above)" >&2; fi
  RPS[$name]="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  P50[$name]="$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")"
  P99[$name]="$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")"
  REQS[$name]="$(echo "$out" | awk '/requests in/ {print $1}')"
}

# expect_mode PORT MODE: the instance answers and its rate limits are MODE (local or shared).
expect_mode() {
  cluster_wait "$1"
  echo "$CLUSTER_HEALTH" | grep -q "\"rate_limits\":\"$2\"" \
    || cluster_fail "the instance on port $1 should have $2 rate limits: $CLUSTER_HEALTH"
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# (a) One instance, direct, local limits.
WRK=("${WRK_CPU[@]}")
CLUSTER_CPUS="$SERVER_CPUS" cluster_start i1 "$PORT1" "$PORT" "${LIMITS[@]}" PORTAL_JOBS_SCHEDULER=true
A=$CLUSTER_PID
expect_mode "$PORT1" local
curl -fsS -H "$AUTH" "http://127.0.0.1:$PORT1$EVENTS" | grep -q '"has_more":false' \
  || cluster_fail "the events endpoint does not answer as expected"
run local_me "$PORT1" /api/v1/me -H "$AUTH" -H "EventId: evt_0000000000000000"
run local_events "$PORT1" "$EVENTS" -H "$AUTH"
cluster_stop "$A"

# (b) The same instance (same port, data directory, settings, CPU) with shared limits.
CLUSTER_CPUS="$SERVER_CPUS" cluster_start i1 "$PORT1" "$PORT" "${LIMITS[@]}" PORTAL_JOBS_SCHEDULER=true \
  PORTAL_REDIS_URL="$REDIS"
B=$CLUSTER_PID
expect_mode "$PORT1" shared
before="$(redis_calls)"
run shared_me "$PORT1" /api/v1/me -H "$AUTH" -H "EventId: evt_0000000000000000"
run shared_events "$PORT1" "$EVENTS" -H "$AUTH"
after="$(redis_calls)"
expect_mode "$PORT1" shared # still shared after the load: no fallback to local limits
REDIS_CHECK="not checked (no redis-cli)"
if [ -n "$before" ]; then
  measured=$((REQS[shared_me] + REQS[shared_events]))
  [ $((after - before)) -ge "$measured" ] \
    || cluster_fail "Redis answered $((after - before)) scripts for $measured requests: shared limits were not asked on every request"
  REDIS_CHECK="Redis answered $((after - before)) rate-limit scripts during (b), for $measured measured requests (and the warm-ups)"
fi
cluster_stop "$B"

# (c) Two instances with shared limits behind HAProxy, nothing pinned.
WRK=()
cluster_start i1 "$PORT1" "$PORT" "${LIMITS[@]}" PORTAL_JOBS_SCHEDULER=true PORTAL_REDIS_URL="$REDIS"
cluster_start i2 "$PORT2" "$PORT" "${LIMITS[@]}" PORTAL_JOBS_SCHEDULER=false PORTAL_REDIS_URL="$REDIS"
expect_mode "$PORT1" shared
expect_mode "$PORT2" shared
cluster_balancer "$PORT" "$STATS" "$PORT1" "$PORT2"
# Until HAProxy's own health checks have found both instances up (10 s at most).
for _ in $(seq 1 100); do
  [ "$(curl -fsS --max-time 2 "http://127.0.0.1:$STATS/stats;csv" | grep -c '^instances,portal[0-9]*,.*,UP,')" = 2 ] && break
  sleep 0.1
done
run balancer_me "$PORT" /api/v1/me -H "$AUTH" -H "EventId: evt_0000000000000000"
run balancer_events "$PORT" "$EVENTS" -H "$AUTH"
# 2xx answers per instance, from HAProxy's statistics.
SPLIT="$(curl -fsS --max-time 2 "http://127.0.0.1:$STATS/stats;csv" | awk -F, '
  NR==1 { for (i = 1; i <= NF; i++) if ($i == "hrsp_2xx") col = i; next }
  $1=="instances" && $2 ~ /^portal/ { printf "%s%s %s", sep, $2, $col; sep = ", " }')" \
  || SPLIT="unknown (no statistics)"

# Propagation of revocations to instance 2.
echo "== propagation" >&2
PROP="$(target/release/examples/bench_propagation "$DATABASE_URL" "http://127.0.0.1:$PORT2" "$REVOCATIONS")" \
  || cluster_fail "the propagation benchmark failed"
eval "$PROP"
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

PINNED="no"
if [ -n "$SERVER_CPUS" ]; then PINNED="instance on CPU $SERVER_CPUS, wrk on CPU ${WRK_CPU[2]}"; fi
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]; then commit="$commit (src modified)"; fi
echo
echo "## Cluster benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $commit, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, (a)/(b) pinned: $PINNED; load average before $LOAD_BEFORE, after $LOAD_AFTER"
printf '| %-52s | %10s | %8s | %8s |\n' run "req/s" "p50 ms" "p99 ms"
printf '|%s|%s|%s|%s|\n' "------------------------------------------------------" "-----------:" "---------:" "---------:"
for n in local_me local_events shared_me shared_events balancer_me balancer_events; do
  case $n in
    local_*) where="(a) 1 instance direct, local limits" ;;
    shared_*) where="(b) 1 instance direct, shared limits" ;;
    balancer_*) where="(c) HAProxy, 2 instances, shared limits" ;;
  esac
  case $n in
    *_me) what="/me" ;;
    *) what="events" ;;
  esac
  printf '| %-52s | %10s | %8s | %8s |\n' "$where: $what" "${RPS[$n]}" "${P50[$n]}" "${P99[$n]}"
done
echo
echo "2xx answers per instance through HAProxy: $SPLIT"
echo "$REDIS_CHECK"
awk -v lm="${RPS[local_me]}" -v sm="${RPS[shared_me]}" -v le="${RPS[local_events]}" -v se="${RPS[shared_events]}" \
  -v bm="${P99[balancer_me]}" -v be="${P99[balancer_events]}" \
  -v n="$PROP_N" -v failed="$PROP_FAILED" -v p50="$PROP_P50" -v p95="$PROP_P95" -v p99="$PROP_P99" -v max="$PROP_MAX" '
  function verdict(ok) { return ok ? "met" : "NOT met" }
  BEGIN {
    printf "\nshared ÷ local, /me: %.2f (target ≥ 0.75: shared limits cost ≤ 25 %%) %s\n", sm/lm, verdict(sm/lm >= 0.75)
    printf "shared ÷ local, events: %.2f\n", se/le
    printf "p99 through the balancer: /me %.2f ms, events %.2f ms (target ≤ 10 ms) %s\n", bm, be, verdict(bm <= 10 && be <= 10)
    printf "propagation of %d revocations to instance 2: p50 %s ms, p95 %s ms, p99 %s ms, max %s ms, %d not refused within 6 s (target p99 ≤ 250 ms) %s\n", n, p50, p95, p99, max, failed, verdict(failed == 0 && p99 != "inf" && p99 + 0 <= 250)
  }'
