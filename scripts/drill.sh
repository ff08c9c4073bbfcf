#!/usr/bin/env bash
# Set everything up, run the whole drill against the lab (pytest features/), then build
# the HTML report. Exits with the drill's own exit code.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit $?
.venv/bin/pytest features/ "$@"
status=$?
.venv/bin/erdrill report || echo "drill.sh: the HTML report could not be built" >&2
exit $status
