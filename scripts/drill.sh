#!/usr/bin/env bash
# Set everything up and run the whole drill against the lab (pytest features/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/pytest features/ "$@"
