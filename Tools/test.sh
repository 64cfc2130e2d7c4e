#!/usr/bin/env bash
# Builds Skiff with its tests and runs them all: the systemd boot test first, alone (it boots a
# container and would slow every other test beside it), then swift test, whose own summary
# ends the output. Fails when either fails. With arguments (a --filter, say), only swift test
# runs, with them.
# The tests need about 2 GiB free under $TMPDIR (or /tmp) at their peak and leave nothing there.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${TMPDIR:-/tmp}"
free_kib=$(df -Pk "$scratch" | awk 'NR == 2 { print $4 }')
if [ "$free_kib" -lt $((2 * 1024 * 1024)) ]; then
    echo "warning: only $((free_kib / 1024)) MiB free in $scratch; tests that write large trees will fail with 'No space left on device'" >&2
fi
swift build --build-tests
boot=0
if [ $# -eq 0 ]; then
    # The units booted under systemd as PID 1 (needs root, debootstrap and systemd-nspawn:
    # Tools/setup.sh). Skipped where those are missing, except in CI, where it must run.
    if [ "$(id -u)" -eq 0 ] && command -v debootstrap >/dev/null && command -v systemd-nspawn >/dev/null || [ "${CI:-}" = true ]; then
        Tools/systemd/boot-test.sh "$(swift build --show-bin-path)" || boot=$?
    else
        echo "skipping the systemd boot test (Tools/systemd/boot-test.sh): it needs root, debootstrap and systemd-nspawn"
    fi
fi
status=0
swift test --skip-build "$@" || status=$?
if [ "$boot" -ne 0 ]; then
    echo "the systemd boot test failed (exit $boot): its report is above swift test's output" >&2
    [ "$status" -ne 0 ] || status=$boot
fi
exit "$status"
