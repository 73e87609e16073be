#!/usr/bin/env bash
# test.sh — install what is missing, build with warnings as errors, run every
# test suite, and end with "N passed, N failed" (after an "N skipped" line
# when any was) counted from the Check suites (each check) and the other
# tests (each test).
# Usage: tools/test.sh [BUILD_DIR [meson setup options...]]
set -uo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
bm_install_deps
dir=${1:-build-test}
shift || true
if [ ! -d "$dir" ]; then
    meson setup "$dir" --werror "$@" >/dev/null || exit 1
fi
ninja -C "$dir" || exit 1
meson test -C "$dir" --print-errorlogs --num-processes 2
rc=$?
python3 tools/test_summary.py "$dir/meson-logs/testlog.json" || rc=1
exit $rc
