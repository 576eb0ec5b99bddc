// The figures of a run: the table and the terminal histogram, the JSON file, the SVG plot.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "options.hpp"
#include "runner.hpp"

namespace tfd::latency {

// The percentiles every report shows, in this order.
struct summary {
    std::string name;
    std::uint64_t periods = 0, samples = 0, overruns = 0;
    double min_ns = 0, mean_ns = 0, p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
    // CPU time of the measuring thread per period, as a share of the period, in percent;
    // negative when unknown (modes measured in a child process).
    double cpu_percent = -1;
};
summary summarize(const mode_result& result, std::chrono::nanoseconds period);

// A common log-scale latency axis for every mode with samples: [lo, hi] in ns.
struct log_axis {
    double lo = 1000, hi = 2000;
    [[nodiscard]] double fraction(double ns) const;  // 0 at lo, 1 at hi, clamped
};
log_axis axis_for(const run_outcome& outcome);

// "70.1", "1234.5": microseconds with one decimal.
std::string micros(double ns);
// "12.3us", "8.47ms": a short label for an axis.
std::string short_duration(double ns);

void print_header(std::FILE* out, const options& opts, const run_outcome& outcome);
void print_table(std::FILE* out, const run_outcome& outcome, std::chrono::nanoseconds period);
void print_histogram(std::FILE* out, const run_outcome& outcome);
// Each tfd mode's p50 and p99 as a ratio to the best raw baseline of the same run.
void print_ratios(std::FILE* out, const run_outcome& outcome, std::chrono::nanoseconds period);

// Throws std::system_error when the file cannot be written.
void write_json(const std::string& path, const options& opts, const run_outcome& outcome);
void write_svg(const std::string& path, const options& opts, const run_outcome& outcome);

}  // namespace tfd::latency
