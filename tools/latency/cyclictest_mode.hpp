// cyclictest (Debian's rt-tests), the field's yardstick, run chunk by chunk like every other
// mode so it sees the same background noise.
#pragma once

#include <memory>
#include <string>

#include "mode.hpp"

namespace tfd::latency {

// Empty when cyclictest can measure `config`; otherwise why it cannot.
std::string cyclictest_unavailable(const run_config& config);

std::unique_ptr<mode> make_cyclictest_mode(const run_config& config);

// Makes sure cyclictest is installed, installing rt-tests with apt-get if it is missing.
// Returns an empty string on success, otherwise a message saying what failed.
std::string ensure_cyclictest_installed();

// Parses one line of `cyclictest -v -N` output ("   0:     12:   70123": thread, cycle,
// lateness in ns).  Returns the lateness, or nullopt for any other line.
std::optional<std::chrono::nanoseconds> parse_cyclictest_sample(const std::string& line);

}  // namespace tfd::latency
