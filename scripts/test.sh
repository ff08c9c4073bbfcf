#!/usr/bin/env bash
# Set everything up, then run the checks and the tests. Lanes (README "Run the tests"):
#   scripts/test.sh              everything: lint, types, layers, every tier of tests/, the
#                                drill against the lab (pytest features/), its report in Chromium
#   scripts/test.sh --fast       lint, types, layers and the pure tier (no root, no lab, no server)
#   scripts/test.sh --no-drills  lint, types, layers and every tier but whole drills and slow tests
# Extra arguments go to pytest. A pytest run that collects nothing exits 5 and fails this
# script like any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
lane=all
case "${1:-}" in
  --fast) lane=fast; shift ;;
  --no-drills) lane=no-drills; shift ;;
esac
scripts/setup.sh

export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check .
echo "== mypy"; mypy
echo "== import layers"; lint-imports --no-cache
case $lane in
  fast)
    echo "== tests/ (pure tier)"
    exec pytest tests/ -p no:cacheprovider --ignore=tests/after_drill -m pure "$@" ;;
  no-drills)
    echo "== tests/ (pure, face and lab tiers)"
    exec pytest tests/ -p no:cacheprovider --ignore=tests/after_drill -m "not drill and not slow" "$@" ;;
esac
echo "== tests/"; pytest tests/ -p no:cacheprovider --ignore=tests/after_drill --durations=15 "$@"
echo "== features/ (the drill against the lab)"; pytest features/ -p no:cacheprovider
echo "== erdrill report"; erdrill report
echo "== the drill's report, in headless Chromium"; pytest tests/after_drill -p no:cacheprovider
