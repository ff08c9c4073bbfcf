#!/usr/bin/env bash
# Run the drill once, unattended, and say what its exit code means (docs/scheduling.md).
# Used by the cron example; ERDRILL_HOME is the checkout (default /opt/erdrill), extra
# arguments go to pytest (e.g. --target azure --drill-config /etc/erdrill/azure.toml).
set -uo pipefail
cd "${ERDRILL_HOME:-/opt/erdrill}" || exit 13
.venv/bin/pytest features/ -p no:cacheprovider "$@"
rc=$?
case $rc in
  0)  msg="drill passed" ;;
  10) msg="drill failed: a failover or failback figure exceeded its limit" ;;
  11) msg="drill failed: traffic did not fail over (or did not come back)" ;;
  12) msg="drill aborted by a signal; the fault was undone" ;;
  13) msg="drill harness error: the network was not judged" ;;
  14) msg="drill refused: another drill runs against this target" ;;
  15) msg="drill refused: an earlier drill's fault is still in place (see the log)" ;;
  16) msg="EXPRESSROUTE NOT RESTORED after the drill: act now" ;;
  *)  msg="drill ended with exit code $rc (pytest: usage error or nothing collected)" ;;
esac
logger -t erdrill -p "user.$([ "$rc" = 0 ] && echo info || echo err)" "$msg (exit $rc)" 2>/dev/null || true
echo "erdrill: $msg (exit $rc)" >&2
exit "$rc"
