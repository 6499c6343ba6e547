#!/usr/bin/env bash
# Soak: runs the reliability suite (tests tagged Category=Reliability, docs/reliability.md) with every
# scenario holding its load for --duration instead of its short CI default, then prints the table.
#   bash bench/soak/run.sh --duration 10m [--report PATH]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=10m
report=bench/soak/last-soak.md
while (($#)); do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    -h|--help) sed -n 2,4p "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (expected --duration D, --report PATH)" >&2; exit 2 ;;
  esac
done
ulimit -n 65536 2>/dev/null || true
report=$(realpath -m "$report")
: > "$report"
export FASTPROXY_SOAK_DURATION="$duration" FASTPROXY_RELIABILITY_REPORT="$report"
# The whole-session timeout of tests/test.runsettings (15 min) is for CI; a soak runs each scenario for
# the duration, so it gets a day.
set +e
dotnet test tests/FastProxy.Tests/FastProxy.Tests.csproj -c Release --filter "Category=Reliability" \
  --logger "console;verbosity=normal" -- RunConfiguration.TestSessionTimeout=86400000
rc=$?
set -e
{
  echo "Soak of $(date -u +%Y-%m-%dT%H:%MZ), each scenario held for $duration (exit $rc):"
  echo
  echo "| scenario | load held | faults injected / inputs tried | lost | reproduce |"
  echo "|---|---|---|---|---|"
  cat "$report"
} | tee "$report.table"
mv "$report.table" "$report"
exit "$rc"
