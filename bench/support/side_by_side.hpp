// A main() for Google Benchmark binaries that compare tfd with a baseline or a peer.
//
// Benchmarks are named "<operation>/<contender>", e.g. "settime/tfd" and "settime/raw".
// run_side_by_side() runs every benchmark for several repetitions with Google Benchmark's
// random interleaving (so rounds of the contenders alternate instead of running back to
// back), then prints a Markdown table of the median time per operation for each contender
// with its ratio to tfd's.
#pragma once

namespace tfd::bench {

// Parses Google Benchmark's flags (defaults: 15 repetitions, interleaved, aggregates only)
// and runs the registered benchmarks.  Returns main()'s exit status.
int run_side_by_side(int argc, char** argv);

}  // namespace tfd::bench
