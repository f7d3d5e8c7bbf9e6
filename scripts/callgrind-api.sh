#!/usr/bin/env bash
# Instructions per authenticated GET /api/v1/me, counted by callgrind (repeatable whatever else
# the machine is doing, unlike wrk's requests/s): the server runs under valgrind on SQLite,
# serves N and 2N requests on one keep-alive connection (two runs), and the difference of the
# two totals divided by N is the cost of one request (start-up and idle work cancel out).
# Usage: scripts/callgrind-api.sh [binary, default target/release/concat-portal] [N, default 2000]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/release/concat-portal}"
N="${2:-2000}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
cargo build --release --locked --example seed_bench >&2
total() {
  local requests=$1 port=$2 work
  work="$(mktemp -d)"
  local db="sqlite://$work/portal.db"
  eval "$(target/release/examples/seed_bench "$db")"
  DATABASE_URL="$db" PORTAL_DATA_DIR="$work" PORTAL_ADDR="127.0.0.1:$port" \
    PORTAL_API_RATE_LIMIT=1000000000 RUST_LOG=warn \
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$BIN" serve >"$work/server.log" 2>&1 &
  local server=$!
  for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS -H "Authorization: Bearer $API_ID:$API_SECRET" "http://127.0.0.1:$port/api/v1/me" >/dev/null
  python3 - "$port" "$API_ID:$API_SECRET" "$requests" <<'PY'
import http.client, sys
port, cred, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    c.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + cred})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
  kill -INT "$server"; wait "$server" || true
  callgrind_annotate "$work/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  rm -rf "$work"
}
A="$(total "$N" 18401)"
B="$(total "$((2 * N))" 18402)"
echo "instructions: $N requests $A, $((2 * N)) requests $B; per request $(( (B - A) / N ))"
