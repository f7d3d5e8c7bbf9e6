#!/usr/bin/env bash
# Costs that grow with data (issue 16): seeds a fresh SQLite file and a fresh PostgreSQL
# database at production size with `examples/bench_data` (10,000 integrations with a year of
# raw API usage, 10,000,000 audit rows, 100,000 access requests …; the shape is documented in
# examples/bench_data/seed.rs), starts the release portal on each, signs in as a ConCat admin
# (password and TOTP), a developer and an organization admin, and times every GET page of the
# admin, organization and developer areas: median and max of 5 requests after one warm-up,
# against the 100 ms target. Prints one markdown table per database.
#
# The server runs with the production defaults except: warn-level logs, no Redis, and neither
# the job scheduler nor the outbox dispatcher (the seed ran every job once already; a run in
# the middle of the timing would measure the job, not the page).
#
# Usage: scripts/bench-data.sh [scale, default 1]     (0.01 for a quick run)
# Environment:
#   BENCH_BACKENDS  "sqlite postgres" (default), or one of them
#   BENCH_PG_URL    the PostgreSQL server (trust auth), default postgres://postgres@127.0.0.1:5432;
#                   a database concat_bench_data_<pid> is created there and dropped at the end
#   BENCH_PORT      loopback port of the first server, default 18281 (the second uses +1)
#   BENCH_KEEP      a directory: keep the seeded databases (the SQLite file and the seed's
#                   variables there; the PostgreSQL database concat_bench_data_<scale>_<dir hash>)
#                   and, on a later run with the same directory and scale, time them again
#                   without seeding
# At scale 1 seeding takes tens of minutes per database and about 10 GB of disk each.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:-1}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
PORT="${BENCH_PORT:-18281}"
KEEP="${BENCH_KEEP:-}"
TAG="$(printf '%s' "$SCALE" | tr -c '0-9A-Za-z' '_')"

for b in $BACKENDS; do
  case "$b" in
    sqlite) ;;
    postgres) command -v psql >/dev/null || { echo "psql is not installed" >&2; exit 1; } ;;
    *) echo "BENCH_BACKENDS: unknown backend $b" >&2; exit 1 ;;
  esac
done
cargo build --release --locked --bin concat-portal --example bench_data >&2

WORK="$(mktemp -d)"
SERVER=""
PG_DROP=""
cleanup() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  if [ -n "$PG_DROP" ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DROP\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

pg() { PGOPTIONS='-c client_min_messages=warning' psql "$PG_URL/postgres" -v ON_ERROR_STOP=1 -qAtc "$1"; }

TABLES=()
port="$PORT"
for backend in $BACKENDS; do
  if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP"
    KEEP="$(cd "$KEEP" && pwd)"
    vars="$KEEP/$backend-$TAG.env"
  else
    vars="$WORK/$backend.env"
  fi
  case "$backend" in
    sqlite)
      file="${vars%.env}.db"
      [ -n "$KEEP" ] || file="$WORK/portal.db"
      url="sqlite://$file"
      name="SQLite"
      ;;
    postgres)
      db="concat_bench_data_$$"
      [ -z "$KEEP" ] || db="concat_bench_data_${TAG}_$(printf '%s' "$KEEP" | cksum | cut -d' ' -f1)"
      url="$PG_URL/$db"
      name="PostgreSQL"
      ;;
  esac

  seeded="reused"
  present=""
  case "$backend" in
    sqlite) [ -s "$file" ] && present=1 ;;
    postgres) [ "$(pg "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ] && present=1 ;;
  esac
  if [ -n "$KEEP" ] && [ -s "$vars" ] && [ -n "$present" ]; then
    echo "== $name: reusing the database seeded before ($vars)" >&2
  else
    echo "== $name: seeding at scale $SCALE" >&2
    case "$backend" in
      sqlite) rm -f "$file" "$file-wal" "$file-shm" ;;
      postgres)
        pg "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
        pg "CREATE DATABASE \"$db\""
        [ -n "$KEEP" ] || PG_DROP="$db"
        ;;
    esac
    start="$(date +%s)"
    target/release/examples/bench_data seed "$url" "$SCALE" >"$vars.part"
    mv "$vars.part" "$vars"
    seeded="seeded in $(( $(date +%s) - start )) s"
  fi
  case "$backend" in
    sqlite) size="$(du -cb "$file"* | tail -1 | awk '{printf "%.2f GB", $1 / 1e9}')" ;;
    postgres) size="$(pg "SELECT round(pg_database_size('$db') / 1e9, 2) || ' GB'")" ;;
  esac
  echo "== $name: $seeded, $size" >&2

  set -a
  # shellcheck disable=SC1090 # written by bench_data seed: BENCH_* and PORTAL_SECRET_KEY
  . "$vars"
  set +a
  mkdir -p "$WORK/data-$backend"
  DATABASE_URL="$url" PORTAL_DATA_DIR="$WORK/data-$backend" PORTAL_ADDR="127.0.0.1:$port" \
    RUST_LOG=warn PORTAL_JOBS_SCHEDULER=false PORTAL_OUTBOX_DISPATCHER=false \
    env -u PORTAL_REDIS_URL target/release/concat-portal serve >"$WORK/server-$backend.log" 2>&1 &
  SERVER=$!
  # Start-up runs pending migrations, which may take a while on a big database (10 minutes).
  for _ in $(seq 1 1200); do
    curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.5
  done
  if ! curl -fsS --max-time 5 "http://127.0.0.1:$port/healthz" >/dev/null; then
    echo "the portal did not come up on $name:" >&2
    tail -20 "$WORK/server-$backend.log" >&2
    exit 1
  fi

  title="$name, scale $SCALE ($seeded, $size; load average before timing: $(cut -d' ' -f1-3 /proc/loadavg))"
  if ! target/release/examples/bench_data time "http://127.0.0.1:$port" "$title" >"$WORK/$backend.md"; then
    cat "$WORK/$backend.md"
    echo "timing the pages on $name failed; the server's log ends:" >&2
    tail -20 "$WORK/server-$backend.log" >&2
    exit 1
  fi
  TABLES+=("$WORK/$backend.md")
  if grep -qiE "error|panicked" "$WORK/server-$backend.log"; then
    echo "the server logged errors on $name:" >&2
    grep -iE "error|panicked" "$WORK/server-$backend.log" | tail -10 >&2
  fi

  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=""
  port=$((port + 1))
done

if rev="$(git rev-parse --short HEAD 2>/dev/null)"; then
  [ -z "$(git status --porcelain -- src templates migrations)" ] || rev="$rev (src, templates or migrations modified)"
else
  rev="not a git checkout"
fi
echo
echo "## Pages at production size: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $rev"
for t in "${TABLES[@]}"; do
  echo
  cat "$t"
done
