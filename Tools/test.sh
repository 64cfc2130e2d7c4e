#!/usr/bin/env bash
# Builds Skiff with its tests and runs them all. The last lines are swift test's own summary.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build "$@"
