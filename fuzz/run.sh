#!/usr/bin/env bash
# Runs every fuzzer built in BUILD_DIR for SECONDS each, starting from the seed corpus in
# fuzz/corpus/<stem>/ (new inputs go to a scratch copy, so the repository is not modified).
# Exits non-zero when one finds a crash, a leak or a failed check.
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
# Python-level random tests (fuzz/*_fuzz.py) under CPython 3.13, for the same time each;
# they need the tfd package built for 3.13 (TFD_PYTHON_PATH, e.g. build/python/3.13) and
# report themselves skipped (exit 77) without it.
for script in "$here"/*_fuzz.py; do
    [ -e "$script" ] || continue
    stem=$(basename "$script" .py)
    echo "--- $stem for ${seconds}s"
    rc=0
    PYENV_VERSION=${TFD_FUZZ_PYENV_VERSION:-3.13.0} python3 "$script" --seconds "$seconds" \
        --path "${TFD_PYTHON_PATH:-}" >"$scratch/$stem.log" 2>&1 || rc=$?
    tail -25 "$scratch/$stem.log"
    if [ $rc -eq 77 ]; then
        echo "skipped: $stem"
    elif [ $rc -ne 0 ]; then
        echo "FAILED: $stem"
        status=1
    else
        echo "ok: $stem"
    fi
done
exit $status
