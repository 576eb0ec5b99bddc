#!/usr/bin/env bash
# Runs every fuzzer built in BUILD_DIR for SECONDS each, starting from the seed corpus in
# fuzz/corpus/<stem>/ (new inputs go to a scratch copy, so the repository is not modified).
# Exits non-zero as soon as one finds a crash, a leak or a failed check.
set -euo pipefail
build_dir=${1:?usage: run.sh BUILD_DIR [SECONDS]}
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for source in "$here"/*_fuzz.cpp; do
    stem=$(basename "$source" .cpp)
    binary="$build_dir/fuzz/$stem"
    mkdir -p "$scratch/$stem"
    if [ -d "$here/corpus/$stem" ]; then
        cp -r "$here/corpus/$stem/." "$scratch/$stem/"
    fi
    echo "--- $stem for ${seconds}s"
    if ! "$binary" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$scratch/" \
        "$scratch/$stem" 2>"$scratch/$stem.log"; then
        tail -40 "$scratch/$stem.log"
        mkdir -p "$build_dir/fuzz-artifacts"
        cp "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* "$build_dir/fuzz-artifacts/" 2>/dev/null || true
        echo "FAILED: $stem (artifacts in $build_dir/fuzz-artifacts)"
        status=1
    else
        grep -E "stat::number_of_executed_units|cov:" "$scratch/$stem.log" | tail -2
        echo "ok: $stem"
    fi
done
exit $status
