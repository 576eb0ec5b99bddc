#!/usr/bin/env python3
"""Descriptor dispatch and timer wake-up latency of two builds of tfd, side by side.

Runs bench/dispatch/dispatch_bench (tfd only) and tools/latency/tfd-latency (loop modes) from a
"before" and an "after" build directory in alternating rounds, and prints the medians over
rounds and after/before ratios.  Only ratios from one run mean anything: the machine's load
drifts between runs.

usage: compare_builds.py BEFORE_BUILD AFTER_BUILD [--rounds N] [--count N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def dispatch(build):
    exe = os.path.join(build, "bench", "dispatch", "dispatch_bench")
    out = subprocess.run([exe, "--benchmark_filter=/tfd/"], check=True, capture_output=True,
                         text=True).stdout
    figures = {}
    for line in out.splitlines():  # the binary's own table: | operation | contender | median |
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1] == "tfd":
            figures[cells[0].split("/")[0] + " (ns/round trip)"] = float(cells[2])
    return figures


def latency(build, count):
    exe = os.path.join(build, "tools", "latency", "tfd-latency")
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([exe, "--modes", "loop-epoll,loop-poll", "--count", str(count),
                        "--no-histogram", "--json", f.name],
                       check=True, capture_output=True, text=True)
        doc = json.load(open(f.name))
    figures = {}
    for mode in doc["modes"]:
        figures[mode["name"] + " median lateness (ns)"] = mode["p50_ns"]
    return figures


def main():
    p = argparse.ArgumentParser()
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--count", type=int, default=2000)
    a = p.parse_args()
    samples = {"before": {}, "after": {}}
    for r in range(a.rounds):
        order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
        for which in order:
            build = a.before if which == "before" else a.after
            for k, v in {**dispatch(build), **latency(build, a.count)}.items():
                samples[which].setdefault(k, []).append(v)
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    print(f"| figure ({a.rounds} rounds, alternating) | before | after | after / before |")
    print("|---|---:|---:|---:|")
    for k in samples["before"]:
        b = statistics.median(samples["before"][k])
        x = statistics.median(samples["after"].get(k, [float("nan")]))
        ratios = [y / z for y, z in zip(samples["after"][k], samples["before"][k]) if z > 0]
        print(f"| {k} | {b:.0f} | {x:.0f} | {statistics.median(ratios):.2f} |")


if __name__ == "__main__":
    main()
