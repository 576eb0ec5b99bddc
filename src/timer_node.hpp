// The timers made by handles (event_loop::after/at/every): what a timer_watcher points at.
//
// A one-shot node is the scheduler's part of a timer (timer_base: queue hook and binding) and
// the handle's callback: 56 bytes, from the loop's timer_pool, so a pending one-shot timer
// costs 64 bytes with its 8-byte handle.  A periodic node adds its period and missed-tick
// policy and comes from the general heap: periodic timers are few.  Which kind a node is, its
// binding says (timer_scheduler's one_shot / periodic records).
#pragma once

#include <cstdint>

#include "tfd/embedded_timer.hpp"
#include "tfd/timer_watcher.hpp"

namespace tfd::detail {

struct timer_node : timer_base {
    timer_callback callback;
};
static_assert(sizeof(timer_node) <= 56, "a handle's timer should stay within 56 bytes");

struct periodic_node : timer_node {
    std::int64_t period = 0;  // ns, > 0
    missed_ticks policy = missed_ticks::skip;
};

}  // namespace tfd::detail
