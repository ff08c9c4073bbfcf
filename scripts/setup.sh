#!/usr/bin/env bash
# Set up erdrill on Debian 12 as root: system packages, .venv with the locked Python
# packages, and the npm packages for the HTML report. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "setup: must run as root (the lab creates network namespaces)" >&2
  exit 2
fi

apt_packages=$(grep -v '^#' scripts/apt-packages.txt | xargs)
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $apt_packages 2>/dev/null \
  | awk '$NF != "installed" {print $1}' || true)
if [ -n "$missing" ] || ! dpkg-query -W $apt_packages >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $apt_packages >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if ! .venv/bin/python -c 'import uv' 2>/dev/null; then
  .venv/bin/pip install -q uv==0.13.8
fi
.venv/bin/python -m uv pip install --python .venv/bin/python -q --require-hashes -r requirements.lock
.venv/bin/python -m uv pip install --python .venv/bin/python -q --no-deps -e .

if [ -f package.json ]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --silent --no-audit --no-fund
  fi
fi
