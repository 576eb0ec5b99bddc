// What a loop keeps for coroutines (private to the library): its detached tasks and the
// descriptor-wait slots of tfd/readiness.hpp.  Made at the first spawn or descriptor wait,
// destroyed with the loop, before the loop's own state.
//
// A slot still waited on once the spawned tasks are gone belongs to a coroutine the user
// owns (a task not spawned, lifetime rule 2 of docs/coroutines.md) that outlives the loop:
// destroying that frame later would write into the freed slot.  As for a handle that
// outlives its loop (loop_impl::check_nothing_refers_to_me), every build stops the program
// there with a message saying what was left, rather than corrupt the heap.
#pragma once

#include <memory>
#include <vector>

#include "tfd/readiness.hpp"
#include "tfd/task.hpp"

namespace tfd::detail {

class coroutine_state {
  public:
    explicit coroutine_state(event_loop& loop) : loop_(loop), fds_(loop), tasks(loop) {}

    // The slot of `fd` (made at its first use; fd >= 0).  EBADF, naming `operation`, when
    // the slot is new and fd is not an open descriptor.
    fd_slot& slot(int fd, const char* operation);
    // The slot of `fd` if it has one (fd >= 0), else null.
    [[nodiscard]] fd_slot* find(int fd) const noexcept {
        auto index = static_cast<std::size_t>(fd);
        return index < fds_.slots.size() ? fds_.slots[index].get() : nullptr;
    }

  private:
    // The slots, destroyed after the spawned tasks; its destructor stops the program when a
    // slot is still waited on (see above).
    struct slot_table {
        explicit slot_table(event_loop& l) noexcept : loop(l) {}
        slot_table(const slot_table&) = delete;
        slot_table& operator=(const slot_table&) = delete;
        ~slot_table();
        event_loop& loop;
        // Invariant: slots[n] is null or the slot of descriptor n; a slot lives as long as
        // the loop, so awaiters may keep pointers to it.
        std::vector<std::unique_ptr<fd_slot>> slots;
    };

    event_loop& loop_;
    slot_table fds_;

  public:
    // After fds_: destroyed first, so frames destroyed here still find their slots.
    spawned_tasks tasks;
};

}  // namespace tfd::detail
