// Command-line options of tfd-latency.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tfd/clock.hpp"

namespace tfd::latency {

struct options {
    std::chrono::nanoseconds period{std::chrono::milliseconds(1)};
    std::uint64_t count = 5000;  // periods per mode (and per thread)
    clock_id clock = clock_id::monotonic;
    unsigned threads = 1;
    std::optional<int> priority;  // SCHED_FIFO priority of the measuring threads
    std::vector<int> cpus;        // pin thread i to cpus[i % size]; empty: no pinning
    bool lock_memory = false;     // mlockall(MCL_CURRENT | MCL_FUTURE)
    std::optional<std::chrono::nanoseconds> slack;  // timer slack of the measuring threads
    unsigned hogs = 0;               // busy-looping SCHED_OTHER threads running alongside, as load
    bool pm_qos = false;             // hold /dev/cpu_dma_latency at 0 during the run
    std::vector<std::string> modes;  // empty: every available mode
    std::uint64_t round = 100;       // periods per mode per round
    std::chrono::nanoseconds spin_margin{std::chrono::microseconds(200)};
    bool with_cyclictest = false;
    std::string json_file;
    std::string svg_file;
    std::string python = "python3";
    bool show_histogram = true;
    bool list_modes = false;
    bool help = false;
    std::string command_line;  // as typed, for the reports
};

// Thrown for a bad command line; what() is the message for the user.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Parses "250us", "1ms", "1.5ms", "2s", "500ns"; a bare number is microseconds, as in
// cyclictest.  Throws usage_error naming `what` on anything else.
std::chrono::nanoseconds parse_duration(const std::string& text, const char* what);

options parse_options(int argc, char** argv);

const char* usage_text();

}  // namespace tfd::latency
