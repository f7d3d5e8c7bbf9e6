#!/usr/bin/env bash
# Instructions per authenticated GET /api/v1/me (or, with CALLGRIND_ENDPOINT=events, GET
# /api/v1/organizations/{org}/events), counted by callgrind (repeatable whatever else
# the machine is doing, unlike wrk's requests/s): the server runs under valgrind on SQLite,
# serves N and 2N requests on one keep-alive connection (two runs), and the difference of the
# two totals divided by N is the cost of one request (start-up and idle work cancel out).
# Usage: scripts/callgrind-api.sh [binary, default target/release/concat-portal] [N, default 2000]
# CALLGRIND_SERVER=reference counts `examples/bare_reference` instead (the framework's own
#   limit: the portal's /me answer, captured from the binary run without valgrind, sent back
#   byte for byte with no middleware), the same way.
# CALLGRIND_TOP=30 also prints the 30 functions costing the most per request, inclusive of what
#   they call (the difference of the two runs' inclusive counts ÷ N).
# CALLGRIND_API_LISTENER=1 gives the portal PORTAL_API_ADDR and sends the requests there (the
#   API's own server, without the pages' middleware).
# CALLGRIND_OUT=dir keeps the two callgrind files there (<server>-<endpoint>[-api-addr]-<requests>.out), for
#   callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/release/concat-portal}"
N="${2:-2000}"
SERVER_KIND="${CALLGRIND_SERVER:-portal}"
ENDPOINT="${CALLGRIND_ENDPOINT:-me}"
case "$ENDPOINT" in me|events) ;; *) echo "CALLGRIND_ENDPOINT is me or events" >&2; exit 1 ;; esac
TOP="${CALLGRIND_TOP:-0}"
STEM="$SERVER_KIND-$ENDPOINT"
[ "${CALLGRIND_API_LISTENER:-0}" = 1 ] && [ "$SERVER_KIND" = portal ] && STEM="$STEM-api-addr"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
case "$SERVER_KIND" in
  portal) cargo build --release --locked --example seed_bench >&2 ;;
  reference) cargo build --release --locked --example seed_bench --example bare_reference >&2 ;;
  *) echo "CALLGRIND_SERVER is portal or reference" >&2; exit 1 ;;
esac
OUTS="$(mktemp -d)"
trap 'rm -rf "$OUTS"' EXIT
wait_up() {
  for _ in $(seq 1 300); do curl -fsS --max-time 5 "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
}
total() {
  local requests=$1 port=$2 work
  work="$(mktemp -d)"
  local db="sqlite://$work/portal.db"
  eval "$(target/release/examples/seed_bench "$db")"
  local auth="Authorization: Bearer $API_ID:$API_SECRET"
  local path=/api/v1/me
  [ "$ENDPOINT" = events ] && path="/api/v1/organizations/$ORG_ID/events"
  local server_env=(DATABASE_URL="$db" PORTAL_DATA_DIR="$work" PORTAL_ADDR="127.0.0.1:$port"
    PORTAL_API_RATE_LIMIT=1000000000 RUST_LOG=warn)
  local api_port=$port
  if [ "$SERVER_KIND" = portal ] && [ "${CALLGRIND_API_LISTENER:-0}" = 1 ]; then
    api_port=$((port + 10)); server_env+=(PORTAL_API_ADDR="127.0.0.1:$api_port")
  fi
  local server
  if [ "$SERVER_KIND" = reference ]; then
    # The portal's answers, as the client below will get them.
    env -u PORTAL_REDIS_URL "${server_env[@]}" "$BIN" serve >"$work/portal.log" 2>&1 &
    server=$!
    wait_up "$port"
    curl -fsS --http1.1 --max-time 5 -i "http://127.0.0.1:$port/healthz" -o "$work/healthz.http"
    curl -fsS --http1.1 --max-time 5 -i -H "$auth" "http://127.0.0.1:$port$path" -o "$work/api.http"
    kill -INT "$server"; wait "$server" || true
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
      target/release/examples/bare_reference "$port" \
      "/healthz=$work/healthz.http" "$path=$work/api.http" >"$work/server.log" 2>&1 &
  else
    env -u PORTAL_REDIS_URL "${server_env[@]}" \
      valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$BIN" serve >"$work/server.log" 2>&1 &
  fi
  server=$!
  wait_up "$api_port"
  curl -fsS --max-time 30 -H "$auth" "http://127.0.0.1:$api_port$path" >/dev/null
  python3 - "$api_port" "$API_ID:$API_SECRET" "$requests" "$path" <<'PY'
import http.client, sys
port, cred, n, path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    c.request("GET", path, headers={"Authorization": "Bearer " + cred})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
  kill -INT "$server"; wait "$server" || true
  cp "$work/cg.out" "$OUTS/$STEM-$requests.out"
  callgrind_annotate "$work/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  rm -rf "$work"
}
path_label="GET /api/v1/me"
[ "$ENDPOINT" = events ] && path_label="GET /api/v1/organizations/{org}/events"
[ "${CALLGRIND_API_LISTENER:-0}" = 1 ] && [ "$SERVER_KIND" = portal ] && path_label="$path_label (PORTAL_API_ADDR)"
A="$(total "$N" 18401)"
B="$(total "$((2 * N))" 18402)"
echo "$SERVER_KIND, $path_label: instructions: $N requests $A, $((2 * N)) requests $B; per request $(( (B - A) / N ))"
if [ "$TOP" -gt 0 ]; then
  python3 - "$OUTS/$STEM-$N.out" "$OUTS/$STEM-$((2 * N)).out" "$N" "$TOP" <<'PY'
import re, subprocess, sys
a_file, b_file, n, top = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
line = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?)\s*$")
def inclusive(path):
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", "--auto=no", path],
        capture_output=True, text=True, check=True).stdout
    costs = {}
    for l in out.splitlines():
        m = line.match(l)
        if m:
            costs[m.group(2)] = costs.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return costs
a, b = inclusive(a_file), inclusive(b_file)
per = {f: (b.get(f, 0) - a.get(f, 0)) / n for f in set(a) | set(b)}
total = per.get("PROGRAM TOTALS", 0)
print(f"per request, inclusive (of {total:,.0f}):")
for f, c in sorted(per.items(), key=lambda kv: -kv[1])[: top + 1]:
    if f != "PROGRAM TOTALS":
        print(f"{c:12,.0f} {100 * c / total:5.1f} %  {f[:200]}")
PY
fi
if [ -n "${CALLGRIND_OUT:-}" ]; then
  mkdir -p "$CALLGRIND_OUT"
  cp "$OUTS"/*.out "$CALLGRIND_OUT"/
fi
