#!/usr/bin/env bash
# Set everything up, then run the checks and every test: lint, types, the harness's own
# tests (real lab daemons, real SDK over HTTP), the drill against the lab and its report.
# A pytest run that collects nothing exits 5 and fails this script like any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check .
echo "== mypy"; mypy
echo "== import layers"; lint-imports --no-cache
echo "== tests/"; pytest tests/ -p no:cacheprovider --ignore=tests/after_drill "$@"
echo "== features/ (the drill against the lab)"; pytest features/ -p no:cacheprovider
echo "== erdrill report"; erdrill report
echo "== the drill's report, in headless Chromium"; pytest tests/after_drill -p no:cacheprovider
