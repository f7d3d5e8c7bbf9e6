#!/usr/bin/env bash
# Benchmarks the API path against a release build on SQLite, in one run:
#   /healthz, authenticated GET /api/v1/me, and authenticated
#   GET /api/v1/organizations/{org}/events (20 events), each with wrk at 64 connections,
# reporting requests/s, p50/p99 latency and the server's peak RSS (VmHWM).
# Each endpoint is also measured against the framework's own limit: `examples/bare_reference`, a
# bare actix-web server sending the same bytes the portal sent (status, headers, body; captured
# from the portal with curl at the start of the run), with no middleware, auth or database, on
# the same CPU. For each endpoint the two take turns (reference, portal; BENCH_ROUNDS times,
# default 2), and every figure is also given as a ratio to the reference's.
# Shared (Redis) rate limits are off: PORTAL_REDIS_URL is removed from the server's environment.
# With BENCH_API_LISTENER=1 the server also gets PORTAL_API_ADDR (the API on a listener and worker
# threads of its own, without the pages' middleware) and wrk measures it there.
# Usage: scripts/bench-api.sh [seconds per run, default 15]
# Takes about 3 × 2 × BENCH_ROUNDS × (seconds + 2) seconds after the build.
# Needs wrk (Debian: apt-get install -y wrk). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-15}"
CONNECTIONS=64
THREADS="${BENCH_WRK_THREADS:-1}"  # one wrk thread leaves the server a core of its own
ROUNDS="${BENCH_ROUNDS:-2}"
# Pin the server to CPU 0 and wrk to CPU 1 (BENCH_PIN=0 to let the scheduler place both), so the
# load generator does not preempt the server's threads mid-request and the tail measures the
# portal rather than the two fighting over the same core. The reference is pinned the same way.
PIN="${BENCH_PIN:-1}"
SERVER_CPU=(); WRK_CPU=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=(taskset -c 0); WRK_CPU=(taskset -c 1)
fi
PORT="${BENCH_PORT:-18181}"
API_PORT="$PORT"; API_ENV=()
if [ "${BENCH_API_LISTENER:-0}" = 1 ]; then
  API_PORT="$((PORT + 1))"; API_ENV=("PORTAL_API_ADDR=127.0.0.1:$API_PORT")
fi
REF_PORT="${BENCH_REF_PORT:-18189}"

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
cargo build --release --locked --bin concat-portal --example seed_bench --example bare_reference >&2

WORK="$(mktemp -d)"
stop() {
  local pid
  for pid in "${REF:-}" "${SERVER:-}"; do
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap stop EXIT
DB="sqlite://$WORK/portal.db"
eval "$(target/release/examples/seed_bench "$DB")"

# Production defaults, except: a rate limit the load cannot reach, and warn-level logs (one
# info line per request would measure the log file; BENCH_RUST_LOG=info to include it).
DATABASE_URL="$DB" PORTAL_DATA_DIR="$WORK" PORTAL_ADDR="127.0.0.1:$PORT" \
  PORTAL_API_RATE_LIMIT=1000000000 RUST_LOG="${BENCH_RUST_LOG:-warn}" \
  env -u PORTAL_REDIS_URL "${API_ENV[@]}" \
  "${SERVER_CPU[@]}" target/release/concat-portal serve >"$WORK/server.log" 2>&1 &
SERVER=$!
wait_up() {
  for _ in $(seq 1 100); do
    curl -fsS --max-time 2 "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS --max-time 2 "http://127.0.0.1:$1/healthz" >/dev/null
}
wait_up "$API_PORT"

AUTH="Authorization: Bearer $API_ID:$API_SECRET"
EVENTS="/api/v1/organizations/$ORG_ID/events"
curl -fsS --max-time 5 -H "$AUTH" "http://127.0.0.1:$API_PORT$EVENTS" | grep -q '"has_more":false' \
  || { echo "the events endpoint does not answer as expected" >&2; exit 1; }

ENDPOINTS=(healthz me events)
declare -A PATHS ARGS LABELS
PATHS=([healthz]=/healthz [me]=/api/v1/me [events]="$EVENTS")
LABELS=([healthz]="GET /healthz" [me]="GET /api/v1/me (Bearer)" [events]="GET /api/v1/organizations/{org}/events")
# wrk's extra arguments (request headers), one string per endpoint, split on newlines.
ARGS=([healthz]="" [me]="-H
$AUTH
-H
EventId: evt_0000000000000000" [events]="-H
$AUTH")
wrk_args() {
  local -n into=$2
  into=()
  if [ -n "${ARGS[$1]}" ]; then
    # shellcheck disable=SC2034 # `into` names the caller's array
    mapfile -t into <<<"${ARGS[$1]}"
  fi
}

# The reference: what the portal answers to the very requests wrk will send, captured, then
# served from memory by a bare actix-web server on the same CPU.
REF_ROUTES=()
for n in "${ENDPOINTS[@]}"; do
  wrk_args "$n" a
  curl -fsS --http1.1 --max-time 5 -i "${a[@]}" "http://127.0.0.1:$API_PORT${PATHS[$n]}" -o "$WORK/$n.http"
  REF_ROUTES+=("${PATHS[$n]}=$WORK/$n.http")
done
"${SERVER_CPU[@]}" target/release/examples/bare_reference "$REF_PORT" "${REF_ROUTES[@]}" \
  >"$WORK/reference.log" 2>&1 &
REF=$!
wait_up "$REF_PORT"

# Same bytes: every header line (names and values, sorted; the date and the rate-limit counters
# vary) and the body (digits masked: /me reports the counters too) of a fresh answer of each.
normalized() {
  tr -d '\r' <"$1" | awk -v head="$2" '
    !body && /^$/ { body = 1; next }
    !body && head {
      line = tolower($0)
      if (line ~ /^date:/) next
      if (line ~ /^x-ratelimit-(remaining|reset):/) gsub(/[0-9]/, "0")
      print; next
    }
    body && !head { gsub(/[0-9]/, "0"); print }' | if [ "$2" = 1 ]; then sort; else cat; fi
}
for n in "${ENDPOINTS[@]}"; do
  wrk_args "$n" a
  for side in portal:"$API_PORT" reference:"$REF_PORT"; do
    curl -fsS --http1.1 --max-time 5 -i "${a[@]}" "http://127.0.0.1:${side#*:}${PATHS[$n]}" \
      -o "$WORK/$n.${side%%:*}"
  done
  for part in 1 0; do
    if ! diff <(normalized "$WORK/$n.portal" "$part") <(normalized "$WORK/$n.reference" "$part") >&2; then
      echo "the reference does not answer ${PATHS[$n]} as the portal does (above: portal <, reference >)" >&2
      exit 1
    fi
  done
done

# to_ms "1.23ms" → 1.23
to_ms() {
  case "$1" in
    *us) awk -v v="${1%us}" 'BEGIN{printf "%.3f", v/1000}' ;;
    *ms) awk -v v="${1%ms}" 'BEGIN{printf "%.3f", v}' ;;
    *s)  awk -v v="${1%s}" 'BEGIN{printf "%.3f", v*1000}' ;;
  esac
}

# The CPU time a process has used (user and system, clock ticks): /proc/<pid>/stat fields 14, 15.
cpu_ticks() {
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
TICK_US="$(awk -v t="$(getconf CLK_TCK)" 'BEGIN{print 1000000/t}')"

# Figures per "endpoint server round", e.g. RPS[me portal 2]. CPU[…]: the server's CPU time
# per request in µs (user + system, from /proc), which other load on the machine does not
# change as much as it changes requests/s; BUSY[…]: how busy the server was (% of one CPU). A
# reference well below 100 % means wrk, not the server, set its pace.
declare -A RPS P50 P99 CPU BUSY
run() {
  local name="$1" server="$2" round="$3" port pid a out before after requests
  case $server in portal) port="$API_PORT" pid="$SERVER" ;; reference) port="$REF_PORT" pid="$REF" ;; esac
  wrk_args "$name" a
  # Warm-up (caches, connections), then the measured run.
  "${WRK_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "${a[@]}" "http://127.0.0.1:$port${PATHS[$name]}" >/dev/null
  before="$(cpu_ticks "$pid")"
  out="$("${WRK_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${a[@]}" "http://127.0.0.1:$port${PATHS[$name]}")"
  after="$(cpu_ticks "$pid")"
  requests="$(echo "$out" | awk '/requests in/ {print $1}')"
  CPU[$name $server $round]="$(awk -v t=$((after - before)) -v us="$TICK_US" -v n="$requests" 'BEGIN{printf "%.2f", t*us/n}')"
  BUSY[$name $server $round]="$(awk -v t=$((after - before)) -v us="$TICK_US" -v d="$DURATION" 'BEGIN{printf "%.1f", t*us/(d*10000)}')"
  echo "### $name, $server, round $round" >&2
  echo "$out" >&2
  if echo "$out" | grep -q "Non-2xx"; then
    echo "$name ($server): some responses were not 2xx" >&2; exit 1
  fi
  RPS[$name $server $round]="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  P50[$name $server $round]="$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")"
  P99[$name $server $round]="$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")"
}

for n in "${ENDPOINTS[@]}"; do
  for round in $(seq 1 "$ROUNDS"); do
    run "$n" reference "$round"
    run "$n" portal "$round"
  done
done
RSS_KB="$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")"

# mean <array name> <endpoint> <server>: the mean over the rounds.
mean() {
  local -n values=$1
  local r sum=0
  for r in $(seq 1 "$ROUNDS"); do
    sum="$(awk -v s="$sum" -v v="${values[$2 $3 $r]}" 'BEGIN{printf "%.6f", s+v}')"
  done
  awk -v s="$sum" -v n="$ROUNDS" -v d="${4:-3}" 'BEGIN{printf "%.*f", d, s/n}'
}
declare -A M_RPS M_P50 M_P99 M_CPU M_BUSY
for n in "${ENDPOINTS[@]}"; do
  for s in portal reference; do
    M_CPU[$n $s]="$(mean CPU "$n" "$s" 2)"
    M_BUSY[$n $s]="$(mean BUSY "$n" "$s" 0)"
    M_RPS[$n $s]="$(mean RPS "$n" "$s" 2)"
    M_P50[$n $s]="$(mean P50 "$n" "$s")"
    M_P99[$n $s]="$(mean P99 "$n" "$s")"
  done
done

echo
REV="$(git rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout')"
if git rev-parse --git-dir >/dev/null 2>&1 && ! git diff --quiet HEAD -- src Cargo.toml Cargo.lock; then
  REV="$REV + uncommitted changes"
fi
echo "## API benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $REV, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, pinned: ${SERVER_CPU[*]:-no} / ${WRK_CPU[*]:-no}, API listener of its own: ${BENCH_API_LISTENER:-0}"
echo
echo "The portal (mean of $ROUNDS runs):"
echo
printf '| %-40s | %10s | %8s | %8s |\n' endpoint "req/s" "p50 ms" "p99 ms"
printf '|%s|%s|%s|%s|\n' "------------------------------------------" "------------" "----------" "----------"
for n in "${ENDPOINTS[@]}"; do
  printf '| %-40s | %10s | %8s | %8s |\n' "${LABELS[$n]}" "${M_RPS[$n portal]}" "${M_P50[$n portal]}" "${M_P99[$n portal]}"
done
awk -v h="${M_RPS[healthz portal]}" -v m="${M_RPS[me portal]}" -v e="${M_RPS[events portal]}" \
  -v p1="${M_P99[me portal]}" -v p2="${M_P99[events portal]}" -v rss="$RSS_KB" 'BEGIN {
  printf "\n/me ÷ /healthz = %.2f (target ≥ 0.85)\n", m/h
  printf "events ÷ /healthz = %.2f (target ≥ 0.40)\n", e/h
  printf "p99: /me %.2f ms, events %.2f ms (target ≤ 5 ms)\n", p1, p2
  printf "server peak RSS: %.1f MiB (target ≤ 100 MiB)\n", rss/1024
}'

echo
echo "Against the bare reference (examples/bare_reference: the same bytes, no middleware, no auth, no database), turn about:"
echo
printf '| %-40s | %5s | %26s | %26s | %11s | %11s |\n' endpoint round "reference req/s, p50, p99" "portal req/s, p50, p99" "req/s ratio" "p99 ratio"
printf '|%s|%s|%s|%s|%s|%s|\n' "------------------------------------------" "------:" "---------------------------:" "---------------------------:" "------------:" "------------:"
for n in "${ENDPOINTS[@]}"; do
  for r in $(seq 1 "$ROUNDS") mean; do
    if [ "$r" = mean ]; then
      rr="${M_RPS[$n reference]}" r50="${M_P50[$n reference]}" r99="${M_P99[$n reference]}"
      pr="${M_RPS[$n portal]}" p50="${M_P50[$n portal]}" p99="${M_P99[$n portal]}"
    else
      rr="${RPS[$n reference $r]}" r50="${P50[$n reference $r]}" r99="${P99[$n reference $r]}"
      pr="${RPS[$n portal $r]}" p50="${P50[$n portal $r]}" p99="${P99[$n portal $r]}"
    fi
    awk -v l="${LABELS[$n]}" -v r="$r" -v rr="$rr" -v r50="$r50" -v r99="$r99" \
      -v pr="$pr" -v p50="$p50" -v p99="$p99" 'BEGIN {
      printf "| %-40s | %5s | %9.0f, %5.2f, %5.2f ms | %9.0f, %5.2f, %5.2f ms | %11.2f | %11.2f |\n",
        l, r, rr, r50, r99, pr, p50, p99, pr/rr, p99/r99
    }'
  done
done
echo
echo "The server's CPU time per request (user + system, from /proc) and how busy it kept its CPU"
echo "(below ~90 %, something else had the CPU, or wrk set the pace):"
echo
printf '| %-40s | %5s | %17s | %17s | %15s |\n' endpoint round "reference µs, busy" "portal µs, busy" "µs portal ÷ ref"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------------------" "------:" "------------------:" "------------------:" "----------------:"
for n in "${ENDPOINTS[@]}"; do
  for r in $(seq 1 "$ROUNDS") mean; do
    if [ "$r" = mean ]; then
      rc="${M_CPU[$n reference]}" rb="${M_BUSY[$n reference]}" pc="${M_CPU[$n portal]}" pb="${M_BUSY[$n portal]}"
    else
      rc="${CPU[$n reference $r]}" rb="${BUSY[$n reference $r]}" pc="${CPU[$n portal $r]}" pb="${BUSY[$n portal $r]}"
    fi
    awk -v l="${LABELS[$n]}" -v r="$r" -v rc="$rc" -v rb="$rb" -v pc="$pc" -v pb="$pb" 'BEGIN {
      printf "| %-40s | %5s | %8.2f, %5.0f %% | %8.2f, %5.0f %% | %15.2f |\n", l, r, rc, rb, pc, pb, pc/rc
    }'
  done
done
awk -v mr="${M_RPS[me reference]}" -v mp="${M_RPS[me portal]}" -v m99r="${M_P99[me reference]}" -v m99p="${M_P99[me portal]}" \
  -v er="${M_RPS[events reference]}" -v ep="${M_RPS[events portal]}" -v e99r="${M_P99[events reference]}" -v e99p="${M_P99[events portal]}" \
  -v hr="${M_RPS[healthz reference]}" -v hp="${M_RPS[healthz portal]}" 'BEGIN {
  printf "\n/me ÷ reference = %.2f (target ≥ 0.85), p99 ÷ reference = %.2f (target ≤ 1.5)\n", mp/mr, m99p/m99r
  printf "events ÷ reference = %.2f (target ≥ 0.90), p99 ÷ reference = %.2f (target ≤ 1.5)\n", ep/er, e99p/e99r
  printf "/healthz ÷ reference = %.2f (no target: the portal asks the database)\n", hp/hr
}'
