// The timers of one clock and the timer_fd that wakes the loop for them.
//
// The timer_fd's kernel state is an explicit state machine (fd_state):
//
//   disarmed  --arm(t)-->        armed(t)        settime, ABSTIME (or CANCEL_ON_SET too)
//   armed(t)  --arm(u != t)-->   armed(u)        skipped when u == t: the deadline did not move
//   armed(t)  --arm(none)-->     disarmed        settime with 0
//   armed(t)  --ready, no read-> expired         every clock but the realtime ones: the
//                                                readiness stays until the next settime
//   armed(t)  --ready, read-->   disarmed        the realtime ones (CANCEL_ON_SET needs the read)
//   armed(t)  --read ECANCELED-> cancelled       the wall clock was set; still armed in the
//                                                kernel until the next settime
//   expired, cancelled --arm(any)--> armed/disarmed  always a settime: it also clears the
//                                                readiness, so a level-triggered backend does
//                                                not report the descriptor again and again
//
// Work flags, apart from the fd's state:
//   needs_arm   the queue changed since the last arm (phase 2 looks again);
//   collect     the clock's timers may be due: phase 5 collects them (set by the timer_fd's
//               readiness, by an arm that found the target already reached, by the virtual
//               clock or coalescing's mark_due, and by a clock change);
//   clock_set   the wall clock was set: phase 5 tells on_clock_change first.
//
// Invariants: state == armed exactly when the kernel holds armed_at and no expiry was seen;
// armed_at is meaningful only then.  On virtual time the fd is never armed (disarmed always).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "tfd/clock.hpp"
#include "tfd/embedded_timer.hpp"
#include "tfd/timer_fd.hpp"
#include "tfd/timer_queue.hpp"

namespace tfd::detail {

class timer_scheduler;
struct fd_node;

struct clock_timers {
    enum class fd_state : unsigned char { disarmed, armed, expired, cancelled };

    clock_timers(clock_id id, timer_scheduler* scheduler);

    // Whether the timer_fd is already set for `target` (nullopt: disarmed), so phase 2 may
    // skip the settime.
    [[nodiscard]] bool set_for(std::optional<std::int64_t> target) const noexcept;
    // settime for `target` (nullopt disarms); ECANCELED is a clock change, not a failure.
    void arm(std::optional<std::int64_t> target);
    // Phase 4: the timer_fd is readable.
    void ready();

    // The bound record of `unbound`'s callback on this clock (made on first use).  Inline for
    // its common case: the same callback type as the last start on this clock.
    const timer_binding* bind(const timer_binding* unbound) {
        if (last_bound_ != nullptr && last_bound_->unbound == unbound) [[likely]] {
            return last_bound_;
        }
        return bind_slow(unbound);
    }

    clock_id clock;
    timer_fd fd;
    // Armed with TFD_TIMER_CANCEL_ON_SET, whose ECANCELED only a read reports: read when it
    // fires.  Other clocks skip the read (one system call per wake-up): see fd_state::expired.
    bool reads_on_fire;
    fd_state state = fd_state::disarmed;
    std::int64_t armed_at = 0;  // the absolute deadline, while state == armed
    // A timed wait's target (timer_scheduler::timed_wait): this pass waits for it with the
    // backend's own timeout, not the timer_fd; collected after the wait, whatever ended it.
    std::optional<std::int64_t> timed_at;
    bool needs_arm = false;
    bool collect = false;
    bool clock_set = false;
    std::int64_t now = 0;  // the clock reading used for the last collection
    timer_queue queue;
    fd_node* node = nullptr;  // the timer_fd's registration
    timer_scheduler* owner;

  private:
    const timer_binding* bind_slow(const timer_binding* unbound);

    std::vector<std::unique_ptr<timer_binding>> bindings_;
    const timer_binding* last_bound_ = nullptr;  // the last bind() answer: usually the next one
};

}  // namespace tfd::detail
