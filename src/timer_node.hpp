// The timers made by handles (event_loop::after/at/every): what a timer_watcher points at.
//
// A handle points at a timer_node, the scheduler's part of a timer (timer_base: binding and
// queue hook); its binding says which of three kinds the node is (timer_scheduler's
// one_shot, wide_one_shot and periodic records), and so where its callback is and where the
// node's memory goes back to:
//   one_shot_node  40 + 16 = 56 bytes, from the loop's one-shot pool: a pending one-shot
//                  timer costs 64 bytes with its 8-byte handle;
//   wide_node      40 + 32 = 72 bytes, from the wide pool: for one-shot callables of 9 to
//                  24 bytes, which timer_callback would move to the heap;
//   periodic_node  a one_shot_node plus its period and missed-tick policy, from the general
//                  heap: periodic timers are few.
#pragma once

#include <cstdint>

#include "tfd/embedded_timer.hpp"
#include "tfd/timer_watcher.hpp"

namespace tfd::detail {

struct timer_node : timer_base {};

struct one_shot_node : timer_node {
    timer_callback callback;
};
static_assert(sizeof(one_shot_node) <= 56, "a handle's timer should stay within 56 bytes");

struct wide_node : timer_node {
    wide_timer_callback callback;
};
static_assert(sizeof(wide_node) <= 72, "a wide handle timer should stay within 72 bytes");

struct periodic_node : one_shot_node {
    std::int64_t period = 0;  // ns, > 0
    missed_ticks policy = missed_ticks::skip;
};

}  // namespace tfd::detail
