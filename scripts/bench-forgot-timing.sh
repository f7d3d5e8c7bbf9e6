#!/usr/bin/env bash
# Issue 12.2: "forgot password" must not tell by its timing whether an account exists. Starts a
# release build on SQLite with 400 accounts, then `examples/forgot_timing` times 400 alternating
# pairs of requests (an existing account, each asked once so each does the full work / an unknown
# email) and prints both medians.
# Usage: scripts/bench-forgot-timing.sh [rounds, default 400]. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-400}"
PORT="${BENCH_PORT:-18183}"
cargo build --release --locked --bin concat-portal --example forgot_timing >&2
WORK="$(mktemp -d)"
trap 'kill "${SERVER:-0}" 2>/dev/null || true; wait "${SERVER:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
DB="sqlite://$WORK/portal.db"
target/release/examples/forgot_timing seed "$DB" "$ROUNDS"
DATABASE_URL="$DB" PORTAL_DATA_DIR="$WORK" PORTAL_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
  PORTAL_OUTBOX_DISPATCHER=false PORTAL_JOBS_SCHEDULER=false \
  target/release/concat-portal serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "## Forgot-password timing: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $ROUNDS pairs, SQLite"
target/release/examples/forgot_timing time "http://127.0.0.1:$PORT" "$ROUNDS"
