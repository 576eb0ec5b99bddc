// tfd::event_loop with each backend: a periodic timer (missed_ticks::skip) whose callback
// times itself.  Available when the library has the event loop.
#pragma once

#include <memory>
#include <string>

#include "mode.hpp"

namespace tfd::latency {

// Empty when the event loop is part of this build; otherwise why not.
std::string loop_unavailable(const run_config& config);

std::unique_ptr<mode> make_loop_epoll_mode(const run_config& config);
std::unique_ptr<mode> make_loop_poll_mode(const run_config& config);
std::unique_ptr<mode> make_loop_select_mode(const run_config& config);
// The epoll loop with loop_options::spin_margin = --spin-margin (spin-finish).
std::unique_ptr<mode> make_loop_spin_mode(const run_config& config);

}  // namespace tfd::latency
