#!/usr/bin/env bash
# Makes docs/screenshots/*.png: the main pages of each role at 1280 px, in real Chromium
# (Debian's chromium and chromedriver), from a fresh SQLite database filled by the same story
# steps the tests use. Usage: scripts/screenshots.sh [output directory]
set -euo pipefail
cd "$(dirname "$0")/.."
export PORTAL_SCREENSHOTS_DIR="${1:-$PWD/docs/screenshots}"
cargo test --test portal screenshots -- --ignored --exact screenshots::screenshots_of_the_main_pages
ls -l "$PORTAL_SCREENSHOTS_DIR"
