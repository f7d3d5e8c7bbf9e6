#!/usr/bin/env bash
# Checks that the API matches its own OpenAPI document, on SQLite and on PostgreSQL:
#   - redocly lint of the served /api/v1/openapi.json: 0 errors;
#   - schemathesis (all checks; phases examples, coverage, fuzzing, stateful; a fixed seed)
#     without credentials, with credentials, and with credentials and a real EventId: 0 failures.
# For each database it starts a debug portal on a free loopback port with a fresh database and
# data directory, seeds a developer (API ID and secret), an organization that authorized it with
# events:read and events:write, and 20 events (examples/seed_bench.rs), runs the tools, and
# stops the portal. The tools are pinned and installed on first use (PyPI and npm) under
# $CONFORMANCE_TOOLS (default ~/.cache/concat-portal/conformance).
# Usage: scripts/api-conformance.sh   (PORTAL_TEST_POSTGRES_URL: a PostgreSQL server URL whose
# user may create databases; default postgres://postgres@127.0.0.1:5432/test)
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
REDOCLY_VERSION=2.77.0
SEED="${CONFORMANCE_SEED:-20261208}"
MAX_EXAMPLES="${CONFORMANCE_MAX_EXAMPLES:-100}"
TOOLS="${CONFORMANCE_TOOLS:-$HOME/.cache/concat-portal/conformance}"
PG_URL="${PORTAL_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

log() { printf '\n== %s\n' "$*"; }

# Pinned tools, in a virtualenv and an npm prefix of their own.
ST="$TOOLS/venv/bin/st"
if [ "$("$TOOLS/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]; then
  log "Installing schemathesis $SCHEMATHESIS_VERSION"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
REDOCLY="$TOOLS/redocly/node_modules/.bin/redocly"
if [ "$("$REDOCLY" --version 2>/dev/null)" != "$REDOCLY_VERSION" ]; then
  log "Installing @redocly/cli $REDOCLY_VERSION"
  mkdir -p "$TOOLS/redocly"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/redocly" "@redocly/cli@$REDOCLY_VERSION"
fi
"$ST" --version
echo "redocly $("$REDOCLY" --version)"

cargo build --locked --bin concat-portal --example seed_bench
PORTAL=target/debug/concat-portal
SEEDER=target/debug/examples/seed_bench

WORK="$(mktemp -d)"
SERVER=""
PG_DB=""
stop_server() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
  fi
}
drop_pg() {
  if [ -n "$PG_DB" ]; then
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    PG_DB=""
  fi
}
trap 'stop_server; drop_pg; rm -rf "$WORK"' EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

FAILED=0
RESULTS=()
# st_run <label> [extra st args...]: one schemathesis run; its summary line is kept.
st_run() {
  local label="$1"; shift
  local out="$WORK/st-$label.log" rc=0
  local cmd=("$ST" run "$BASE/api/v1/openapi.json" --url "$BASE"
    --checks all --phases examples,coverage,fuzzing,stateful
    --seed "$SEED" --max-examples "$MAX_EXAMPLES" --generation-database none
    --workers 1 --no-color "$@")
  echo "+ ${cmd[*]}" | sed -E 's/(Bearer [^: ]+:)[^ "]+/\1<secret>/'
  # From the scratch directory: schemathesis and hypothesis keep caches in the current one.
  (cd "$WORK" && "${cmd[@]}") >"$out" 2>&1 || rc=$?
  # Never print the secret, even in a failure's reproduction.
  sed -i -E "s/${API_SECRET}/<secret>/g" "$out"
  cat "$out"
  local counts summary
  counts="$(grep -E '^ +[0-9]+ generated' "$out" | tail -n1 | sed -E 's/^ +//' || true)"
  summary="$(grep -E '^=+ .* in [0-9.]+s =+$' "$out" | tail -n1 | sed -E 's/^=+ | =+$//g' || true)"
  RESULTS+=("$BACKEND schemathesis $label: ${counts:-?}; ${summary:-no summary line} (exit $rc)")
  if [ "$rc" != 0 ]; then FAILED=1; fi
}

for BACKEND in sqlite postgres; do
  log "$BACKEND: fresh database, seeded"
  DATA="$WORK/$BACKEND"
  mkdir -p "$DATA"
  if [ "$BACKEND" = sqlite ]; then
    DB="sqlite://$DATA/portal.db"
  else
    PG_DB="conformance_$$"
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
    psql "$PG_URL" -qc "CREATE DATABASE $PG_DB" >/dev/null
    DB="${PG_URL%/*}/$PG_DB"
  fi
  eval "$("$SEEDER" "$DB" "events:read events:write")"
  PORT="$(free_port)"
  BASE="http://127.0.0.1:$PORT"
  # Limits the tools cannot reach: they would only turn answers into 429s.
  DATABASE_URL="$DB" PORTAL_DATA_DIR="$DATA" PORTAL_ADDR="127.0.0.1:$PORT" \
    PORTAL_BASE_URL="$BASE" PORTAL_API_RATE_LIMIT=1000000000 \
    PORTAL_API_UNAUTHENTICATED_LIMIT=1000000000 RUST_LOG=warn \
    "$PORTAL" serve >"$WORK/server-$BACKEND.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 150); do
    curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "$BASE/healthz" >/dev/null

  log "$BACKEND: redocly lint"
  curl -fsS "$BASE/api/v1/openapi.json" -o "$WORK/openapi.json"
  rc=0
  (cd "$WORK" && "$REDOCLY" lint --format=stylish openapi.json) >"$WORK/lint.log" 2>&1 || rc=$?
  cat "$WORK/lint.log"
  RESULTS+=("$BACKEND redocly lint: $(grep -E 'Woohoo|error|valid' "$WORK/lint.log" | tail -n1)")
  if [ "$rc" != 0 ]; then FAILED=1; fi

  log "$BACKEND: schemathesis without credentials"
  st_run anonymous
  log "$BACKEND: schemathesis with credentials"
  st_run credentials -H "Authorization: Bearer $API_ID:$API_SECRET"
  log "$BACKEND: schemathesis with credentials and the seeded event"
  st_run credentials+event -H "Authorization: Bearer $API_ID:$API_SECRET" -H "EventId: $EVENT_ID"

  stop_server
  drop_pg
done

log "Summary"
printf '%s\n' "${RESULTS[@]}"
exit "$FAILED"
