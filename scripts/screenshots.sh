#!/usr/bin/env bash
# Makes docs/screenshots/*.png: the first screen (1280 × 860 CSS px) of each role's main pages,
# taken by the browser walks (tests/portal/browser/walks.rs: real Chromium, the suite's story
# data, SQLite) with PORTAL_TEST_SCREENSHOTS set, then picked and named here.
# Usage: scripts/screenshots.sh [output directory]. Needs Debian's chromium and chromedriver and
# axe-core in target/browser-deps (as .ci/run installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-$PWD/docs/screenshots}"
SHOTS="$(mktemp -d)"
trap 'rm -rf "$SHOTS"' EXIT
export PORTAL_TEST_SCREENSHOTS="$SHOTS" PORTAL_TEST_SCREENSHOTS_HEIGHT=860
# One walk at a time (they write the same names); the developer's last, so /docs/api is shown
# as a signed-in developer sees it (their own API ID in the examples).
for walk in public concat_admin org_admin developer; do
  cargo test --test portal -- --exact "browser::walks::${walk}_pages_fit_and_pass_axe::sqlite"
done
mkdir -p "$OUT"
pick() { # pick <name> <extended regex of the walk's file name>
  local file
  file="$(ls "$SHOTS" | grep -E "^$2-1280\.png$" | head -n1)"
  [ -n "$file" ] || { echo "no screenshot matches $2" >&2; exit 1; }
  cp "$SHOTS/$file" "$OUT/$1.png"
}
pick home '_'
pick developer-integration '_developer_integrations_[0-9a-f_]{36}'
pick api-docs '_docs_api'
pick org-overview '_org_org_[A-Za-z0-9]{16}'
pick org-integrations '_org_org_[A-Za-z0-9]{16}_integrations'
pick admin-dashboard '_admin'
ls -l "$OUT"
