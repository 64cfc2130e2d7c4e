#!/usr/bin/env bash
# Builds Skiff with its tests and runs them all. The last lines are swift test's own summary.
# The tests need about 2 GiB free under $TMPDIR (or /tmp) at their peak and leave nothing there.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${TMPDIR:-/tmp}"
free_kib=$(df -Pk "$scratch" | awk 'NR == 2 { print $4 }')
if [ "$free_kib" -lt $((2 * 1024 * 1024)) ]; then
    echo "warning: only $((free_kib / 1024)) MiB free in $scratch; tests that write large trees will fail with 'No space left on device'" >&2
fi
swift build --build-tests
swift test --skip-build "$@"
