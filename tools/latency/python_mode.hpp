// Python's tfd.Timer, measured by a small script (tfd_latency_probe.py) in a child process.
#pragma once

#include <memory>
#include <string>

#include "mode.hpp"

namespace tfd::latency {

// Empty when the interpreter can import tfd; otherwise why not.  Checked once.
std::string python_unavailable(const run_config& config);

std::unique_ptr<mode> make_python_mode(const run_config& config);

}  // namespace tfd::latency
