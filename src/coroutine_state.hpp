// What a loop keeps for coroutines (private to the library): its detached tasks and the
// descriptor-wait slots of tfd/readiness.hpp.  Made at the first spawn or descriptor wait,
// destroyed with the loop, before the loop's own state.
#pragma once

#include <memory>
#include <vector>

#include "tfd/readiness.hpp"
#include "tfd/task.hpp"

namespace tfd::detail {

class coroutine_state {
  public:
    explicit coroutine_state(event_loop& loop) : loop_(loop), tasks(loop) {}

    // The slot of `fd` (made at its first use; fd >= 0).
    fd_slot& slot(int fd);

  private:
    event_loop& loop_;
    // Invariant: fds_[n] is null or the slot of descriptor n; a slot lives as long as the
    // loop, so awaiters may keep pointers to it.
    std::vector<std::unique_ptr<fd_slot>> fds_;

  public:
    // After fds_: destroyed first, so frames destroyed here still find their slots.
    spawned_tasks tasks;
};

}  // namespace tfd::detail
