// The loop's timer scheduler: every timer of every clock, handles' and embedded ones, and the
// loop's timer phases (2: arm; 5: collect, then run).
//
// It owns one clock_timers per clock in use (a timer_queue and the timer_fd that wakes the
// loop for it), the pool of handles' one-shot nodes, the due list, the virtual clock and the
// lateness histogram.  A timer is a timer_base: the queue hook plus its binding, which says
// which clock_timers (so which scheduler) it is registered with and how to call it.
//
// Invariants:
//  * a timer is idle, queued in exactly one clock's queue (the one its binding names), or in
//    due_ (collected, not yet run); a bound binding's clock belongs to this scheduler;
//  * clocks_[clock_index(c)] is the clock_timers of clock c, or null until a timer or
//    on_clock_change needs it; any_clock_ says whether any exists;
//  * an embedded timer that is idle has an unbound binding (it holds no pointer into a loop);
//    a handle's node stays bound until its handle lets go of it;
//  * handle_timers_ counts live handle nodes (pending or not), of every kind (timer_node.hpp);
//    a node's binding is bound to one of the one_shot, wide_one_shot or periodic records,
//    which says its kind; firing_ is the node whose callback runs, and firing_released_
//    says its handle let go of it meanwhile;
//  * on virtual time no timer_fd is ever armed: mark_due() sets `collect` as an expiry would;
//  * a clock's timed_at is set only with timed_waits_, on the monotonic clock, between the
//    arm that planned the timed wait and the collection after it; meanwhile its timer_fd is
//    disarmed or armed no earlier than timed_at, so it cannot wake the loop early;
//  * with on_clock_change set, or realtime timers pending, the realtime timer_fd is armed
//    with CANCEL_ON_SET (at INT64_MAX when no realtime timer is pending), so a wall-clock
//    change always wakes the loop.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "clock_timers.hpp"
#include "due_list.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/latency_histogram.hpp"
#include "tfd/loop_options.hpp"
#include "tfd/small_function.hpp"
#include "tfd/timer_watcher.hpp"
#include "timer_node.hpp"
#include "timer_pool.hpp"
#include "virtual_clock.hpp"

namespace tfd::detail {

class fd_registry;

class timer_scheduler {
  public:
    timer_scheduler(const loop_options& options, fd_registry& fds);
    ~timer_scheduler();
    timer_scheduler(const timer_scheduler&) = delete;
    timer_scheduler& operator=(const timer_scheduler&) = delete;

    // --- Timers ---------------------------------------------------------------------------
    // The clock_timers of `clock`, made (with its timer_fd) on first use; EINVAL for an id
    // outside tfd::clocks.
    clock_timers& timers_for(clock_id clock) {
        std::size_t index = clock_index(clock);
        if (index < clocks.size() && clocks_[index]) [[likely]] {
            return *clocks_[index];
        }
        return make_timers(clock);
    }
    // Starts `timer` (idle or active) at `deadline` on `clock`, binding it there; an active
    // timer registered elsewhere is stopped there first.  Inline: it is every start's and
    // every refresh's path.
    void start(timer_base& timer, clock_timers& clock, std::int64_t deadline) {
        const timer_binding* binding = timer.binding;
        if (!timer.idle()) {
            if (binding->clock == &clock) {
                if (due_list::holds(timer)) {
                    due_.remove(timer);
                }
                clock.queue.refresh(timer, std::chrono::nanoseconds(deadline));
                clock.needs_arm = true;
                return;
            }
            stop(timer);  // registered with another clock or loop
        }
        if (binding->clock != &clock) {
            timer.binding = clock.bind(binding->unbound);
        }
        clock.queue.start(timer, std::chrono::nanoseconds(deadline));
        clock.needs_arm = true;
    }
    // Cancels an active timer, queued or due.
    static void stop(timer_base& timer) noexcept;
    [[nodiscard]] static clock_id clock_of(const timer_base& timer) noexcept;

    // Handles: a node with `callback`, started at `deadline`; period 0 for a one-shot timer.
    timer_node* start_handle(clock_id clock, std::int64_t deadline, std::int64_t period,
                             missed_ticks policy, timer_callback callback);
    // A one-shot handle with a callable of 9 to 24 bytes, in a wide node.
    timer_node* start_handle(clock_id clock, std::int64_t deadline, wide_timer_callback callback);
    // The handle lets go of `node`: stopped and freed (after its callback, if it runs).
    void release(timer_node* node) noexcept;
    // event_loop::reserve_timers: std::system_error naming the count when it cannot be met
    // (EINVAL past any address space, ENOMEM past the machine's memory or when allocation
    // fails); the pool is then as it was.
    void reserve(std::size_t count);

    // --- Time -----------------------------------------------------------------------------
    // `clock` now, in ns since its epoch: the virtual reading on virtual time.
    [[nodiscard]] std::int64_t read_clock(clock_id clock) const;
    [[nodiscard]] bool virtual_time() const noexcept { return virtual_time_; }
    // Virtual time: moves every clock forward by `delta` / to what run_for would wait for.
    void advance(std::int64_t delta) noexcept { virtual_clock_.advance(delta); }
    [[nodiscard]] std::int64_t virtual_elapsed() const noexcept { return virtual_clock_.elapsed(); }
    // The virtual elapsed time of the earliest pending deadline, or of `limit` from now when
    // that is non-negative and earlier; nothing when neither exists.
    [[nodiscard]] std::optional<std::int64_t> virtual_jump(std::chrono::nanoseconds limit) const;
    void jump_to(std::int64_t elapsed) noexcept { virtual_clock_.move_to(elapsed); }

    void on_clock_change(clock_change_callback callback);
    [[nodiscard]] const latency_histogram& lateness() const noexcept { return lateness_; }

    // --- The pass -------------------------------------------------------------------------
    // Phase 2.
    void arm();
    // Phase 3's timeout, shortened to a timed wait's target (see timed_wait in the .cpp).
    // Inline for the common case, a loop without timed waits.
    [[nodiscard]] std::chrono::nanoseconds limit_wait(std::chrono::nanoseconds timeout) const {
        return timed_waits_ && timeout.count() != 0 ? limit_timed_wait(timeout) : timeout;
    }

    // Timed waits: the thread's timer slack at most this (loop_options::timer_slack), a
    // monotonic target at most this far ahead.
    static constexpr std::chrono::nanoseconds timed_wait_slack{100};
    static constexpr std::chrono::nanoseconds timed_wait_window{100'000};
    // Marks every clock whose earliest deadline its reading has reached for collection, as
    // its timer_fd would.
    void mark_due();
    // Phase 5: collect every due timer of every clock marked for collection, then run them.
    void collect();
    void run_due();

    // A clock is marked for collection or collected timers wait: the pass must not block.
    [[nodiscard]] bool work_waiting() const noexcept;
    // Pending timers (queued or due), handles' and embedded ones.
    [[nodiscard]] std::size_t active() const noexcept;
    [[nodiscard]] std::size_t handles() const noexcept { return handle_timers_; }

  private:
    clock_timers& make_timers(clock_id clock);
    static void fire_one_shot(timer_base& timer);
    static void fire_wide_one_shot(timer_base& timer);
    static void fire_periodic(timer_base& timer);
    template <class Node>
    void run_node(Node& node, std::uint64_t overruns);
    timer_node* start_node(timer_node* node, clock_timers& timers, std::int64_t deadline);
    void free_node(timer_node* node) noexcept;
    bool already_due(clock_timers& timers, std::int64_t target, std::int64_t now) const;
    bool timed_wait(clock_timers& timers, std::int64_t target, std::int64_t now);
    [[nodiscard]] std::chrono::nanoseconds limit_timed_wait(std::chrono::nanoseconds timeout) const;
    [[nodiscard]] std::optional<std::int64_t> arm_target(clock_timers& timers) const;
    void spin_to_deadline(clock_timers& timers);
    void tell_clock_change(clock_timers& timers);
    void unbind_all() noexcept;

    static const timer_binding one_shot_unbound;
    static const timer_binding wide_one_shot_unbound;
    static const timer_binding periodic_unbound;

    fd_registry& fds_;
    bool virtual_time_;
    std::chrono::nanoseconds spin_margin_;
    std::chrono::nanoseconds coalescing_;
    std::chrono::nanoseconds spin_below_;   // 0 on virtual time and with coalescing
    std::chrono::nanoseconds spin_window_;  // the larger of spin_margin_ and spin_below_
    bool timed_waits_;  // timer_slack is set, and small enough for exact timeouts
    // The pool outlives the queues (members are destroyed in reverse order), so a queue's
    // destructor never touches a node in freed memory.
    timer_pool<one_shot_node> pool_;
    timer_pool<wide_node> wide_pool_;
    std::array<std::unique_ptr<clock_timers>, clocks.size()> clocks_{};
    bool any_clock_ = false;
    due_list due_;
    std::size_t handle_timers_ = 0;
    timer_node* firing_ = nullptr;
    bool firing_released_ = false;
    virtual_clock virtual_clock_;
    latency_histogram lateness_;
    clock_change_callback clock_change_;
    std::uint64_t clock_change_generation_ = 0;  // counts on_clock_change() calls
};

}  // namespace tfd::detail
