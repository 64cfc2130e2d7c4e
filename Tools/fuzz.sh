#!/usr/bin/env bash
# Fuzzes every parser of outside bytes with libFuzzer (docs/ARCHITECTURE.md, "Fuzzing").
#
#   Tools/fuzz.sh [--seconds N] [--target NAME]... [--seeds] [--build-only | --no-build]
#
# Builds the fuzz targets once (SKIFF_FUZZ=1, fuzzer + address sanitizer, release, into
# .build-fuzz), then runs each target for N seconds (default 60), one process at a time, from
# its checked-in corpus (Tests/FuzzCorpus/<target>) plus a working corpus that grows across
# runs (.build-fuzz/corpus/<target>). Prints per target: executions per second, coverage
# (cov: edges, ft: features, from libFuzzer's final stats), corpus size and crashes. Exits 1
# when any target crashed, leaked, timed out or ran out of memory; the input is saved as
# .build-fuzz/crashes/<target>/crash-* (or leak-, timeout-, oom-): copy it into
# Tests/FuzzCorpus/<target>/ with the fix, where `swift test` keeps running it.
#
# --seeds rebuilds the seed corpora from a real backup (skiff-fuzz-seeds) first; --no-build runs
# the targets built before.
# Environment: FUZZ_NICE (default 10), FUZZ_RSS_MB (2048), FUZZ_MALLOC_MB (64: no single
# allocation may be larger; inputs stay below FUZZ_MAX_LEN, 64 KiB), FUZZ_TIMEOUT (10 s per input).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
targets=()
seeds=0
build_only=0
no_build=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --target) targets+=("$2"); shift 2 ;;
        --seeds) seeds=1; shift ;;
        --build-only) build_only=1; shift ;;
        --no-build) no_build=1; shift ;;
        *) echo "usage: Tools/fuzz.sh [--seconds N] [--target NAME]... [--seeds] [--build-only | --no-build]" >&2; exit 2 ;;
    esac
done
all=$(sed -n 's/^let fuzzTargets = \[\(.*\)\]$/\1/p' Package.swift | tr -d '"' | tr ',' ' ')
[ ${#targets[@]} -eq 0 ] && read -r -a targets <<< "$all"
# Builds hold /tmp/skiff-build.lock (two Swift builds at once thrash two cores), all of them
# under one hold, so that other builds do not slip in between the targets.
exec 9>>/tmp/skiff-build.lock
[ "$no_build" = 0 ] && command -v flock >/dev/null && flock 9
start=$(date +%s)
if [ "$seeds" = 1 ]; then
    swift build --product skiff-fuzz-seeds
    .build/debug/skiff-fuzz-seeds Tests/FuzzCorpus
fi

# One scratch path for the instrumented build; SwiftPM's --sanitize fuzzer links libFuzzer's
# main, -Xswiftc adds address sanitizing (two --sanitize flags: the driver keeps the last).
build=(env SKIFF_FUZZ=1 swift build -c release --scratch-path .build-fuzz --sanitize fuzzer
       -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address)
mkdir -p .build-fuzz/logs
for target in "${targets[@]}"; do
    [ "$no_build" = 1 ] && { [ -x ".build-fuzz/release/fuzz-$target" ] || { echo "fuzz-$target is not built" >&2; exit 1; }; continue; }
    if ! "${build[@]}" --product "fuzz-$target" > .build-fuzz/logs/build.log 2>&1; then
        grep -v "Cannot export local symbol" .build-fuzz/logs/build.log >&2
        echo "fuzz-$target did not build" >&2
        exit 1
    fi
done
command -v flock >/dev/null && flock -u 9
echo "fuzz targets built in $(( $(date +%s) - start )) s"
[ "$build_only" = 1 ] && exit 0

export SWIFT_BACKTRACE=enable=no   # libFuzzer and ASan report crashes; the Swift backtracer would hang on them
failed=0
printf '%-14s %9s %7s %7s %8s %8s  %s\n' target exec/s cov ft corpus runs result
for target in "${targets[@]}"; do
    work=".build-fuzz/corpus/$target" crashes=".build-fuzz/crashes/$target" log=".build-fuzz/logs/$target.log"
    mkdir -p "$work" "$crashes" "$(dirname "$log")"
    set +e
    nice -n "${FUZZ_NICE:-10}" ".build-fuzz/release/fuzz-$target" "$work" "Tests/FuzzCorpus/$target" \
        -max_total_time="$seconds" -workers=1 -print_final_stats=1 -max_len="${FUZZ_MAX_LEN:-65536}" \
        -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -malloc_limit_mb="${FUZZ_MALLOC_MB:-64}" -timeout="${FUZZ_TIMEOUT:-10}" \
        -artifact_prefix="$crashes/" > "$log" 2>&1
    status=$?
    set -e
    execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    last=$( (grep -E '^#[0-9]+' "$log" || true) | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' | tail -1 || true)
    cov=$(echo "$last" | awk '{print $2}') ft=$(echo "$last" | awk '{print $4}') corp=$(echo "$last" | awk '{print $6}')
    artifacts=$( (grep -o "Test unit written to .*" "$log" || true) | sed 's/Test unit written to //' | tr '\n' ' ')
    if [ "$status" -eq 0 ] && [ -z "$artifacts" ]; then result=ok; else result="FAILED ($status): ${artifacts:-see $log}"; failed=1; fi
    printf '%-14s %9s %7s %7s %8s %8s  %s\n' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${runs:-?}" "$result"
done
if [ "$failed" = 1 ]; then
    echo "fuzzing found crashes: logs in .build-fuzz/logs, inputs in .build-fuzz/crashes (reproduce: .build-fuzz/release/fuzz-TARGET FILE)" >&2
    exit 1
fi
