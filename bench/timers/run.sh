#!/bin/sh
# Timers at scale in one command: installs the peers' Debian packages when missing (as root),
# builds timers_bench in Release and runs it.  The Markdown table goes to stdout; the raw
# figures to <build-dir>/timers_bench.json.
#
# usage: bench/timers/run.sh [build-dir] [timers_bench options, e.g. --rounds 7]
set -eu
cd "$(dirname "$0")/../.."
build=${1:-build-bench}
[ $# -gt 0 ] && shift

missing=""
for pkg in libev-dev libuv1-dev libevent-dev libasio-dev libsystemd-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        # shellcheck disable=SC2086  # one word per package
        apt-get install -y $missing || { apt-get update && apt-get install -y $missing; }
    else
        echo "run.sh: missing$missing; not root, so those peers are left out" >&2
    fi
fi

cmake -S . -B "$build" -DTFD_WERROR=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target timers_bench
"$build/bench/timers/timers_bench" --json "$build/timers_bench.json" "$@"
