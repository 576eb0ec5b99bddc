// Runs the chosen modes in alternating rounds on one or more measuring threads.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "mode.hpp"
#include "options.hpp"

namespace tfd::latency {

struct mode_result {
    const mode_info* info = nullptr;
    mode_stats stats;    // merged over every thread
    std::string failed;  // non-empty when the mode stopped with an error
};

struct run_outcome {
    std::vector<mode_result> modes;
    std::vector<std::string> notes;     // what the environment refused or changed
    std::string scheduling;             // "SCHED_FIFO 80" or "SCHED_OTHER"
    std::chrono::nanoseconds slack{0};  // timer slack the measuring threads ran with
    bool memory_locked = false;         // mlockall in force
    bool pm_qos_held = false;           // /dev/cpu_dma_latency held at 0
    double seconds = 0;
};

// Prepares the process (mlockall, PM QoS, a priority check) as `opts` asks, then measures
// every mode of `modes` for opts.count periods on each of opts.threads threads.
run_outcome run_measurement(const options& opts, const std::vector<const mode_info*>& modes);

}  // namespace tfd::latency
