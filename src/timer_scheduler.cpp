// The timer scheduler: starting and stopping timers, and the loop's timer phases.
#include "timer_scheduler.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <new>
#include <string>
#include <system_error>

#include "fd_registry.hpp"
#include "saturating.hpp"
#include "tfd/handle.hpp"

namespace tfd::detail {
namespace {

// The next deadline of a periodic timer scheduled at `deadline` and run at `now`, and the
// number of whole periods that elapsed in between (its overrun count).  `ends` when that next
// deadline lies past the end of the clock's range (INT64_MAX ns): the schedule has run out of
// time (only a virtual clock gets there, by advance(nanoseconds::max())), and the timer stops
// after this run rather than fall due again, forever, at the last representable instant.
struct next_tick {
    std::int64_t deadline;
    std::uint64_t overruns;
    bool ends;
};

next_tick schedule_next(std::int64_t deadline, std::int64_t period, std::int64_t now,
                        missed_ticks policy) noexcept {
    std::uint64_t overruns = 0;
    if (now > deadline) {
        // Unsigned: now - deadline may exceed INT64_MAX when the deadline is far negative.
        overruns = (static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(deadline)) /
                   static_cast<std::uint64_t>(period);
    }
    std::int64_t next = 0;
    bool ends = false;
    switch (policy) {
        case missed_ticks::burst:
            ends = __builtin_add_overflow(deadline, period, &next);
            return {next, overruns, ends};
        case missed_ticks::delay:
            ends = __builtin_add_overflow(now, period, &next);
            return {next, overruns, ends};
        case missed_ticks::skip:
            break;
    }
    // The first scheduled tick after `now`: deadline + (overruns + 1) * period.
    __extension__ using wide = __int128;
    wide first_after =
        static_cast<wide>(deadline) + static_cast<wide>(overruns + 1) * static_cast<wide>(period);
    if (first_after > INT64_MAX) {
        return {0, overruns, true};
    }
    return {static_cast<std::int64_t>(first_after), overruns, false};
}

}  // namespace

const timer_binding timer_scheduler::one_shot_unbound{&timer_scheduler::fire_one_shot,
                                                      &timer_scheduler::one_shot_unbound, nullptr};
const timer_binding timer_scheduler::wide_one_shot_unbound{
    &timer_scheduler::fire_wide_one_shot, &timer_scheduler::wide_one_shot_unbound, nullptr};
const timer_binding timer_scheduler::periodic_unbound{&timer_scheduler::fire_periodic,
                                                      &timer_scheduler::periodic_unbound, nullptr};

timer_scheduler::timer_scheduler(const loop_options& options, fd_registry& fds)
    : fds_(fds),
      virtual_time_(options.virtual_time),
      spin_margin_(options.virtual_time ? std::chrono::nanoseconds(0) : options.spin_margin),
      coalescing_(options.virtual_time ? std::chrono::nanoseconds(0) : options.timer_coalescing),
      spin_below_(options.virtual_time || coalescing_.count() > 0 ? std::chrono::nanoseconds(0)
                                                                  : options.spin_below),
      spin_window_(std::max(spin_margin_, spin_below_)),
      timed_waits_(!options.virtual_time && options.timer_slack.count() > 0 &&
                   options.timer_slack <= timed_wait_slack) {
    if (virtual_time_) {
        virtual_clock_.start();
    }
}

timer_scheduler::~timer_scheduler() {
    unbind_all();
}

// ---- timers --------------------------------------------------------------------------------

clock_timers& timer_scheduler::make_timers(clock_id clock) {
    std::size_t index = clock_index(clock);
    if (index == clocks.size()) {
        usage_error("event_loop",
                    describe_clock(clock) + ": no timer on a clock tfd does not know");
    }
    std::unique_ptr<clock_timers>& slot = clocks_[index];
    if (!slot) {
        auto timers = std::make_unique<clock_timers>(clock, this);
        clock_timers* raw = timers.get();
        if (int fd = fds_.unwatched_number(raw->fd.native_handle());
            fd != raw->fd.native_handle()) {
            raw->fd = timer_fd::adopt(fd, clock);
        }
        raw->node = fds_.add_internal(raw->fd.native_handle(), io_events::readable,
                                      [raw](io_events) { raw->ready(); });
        raw->queue.set_origin(std::chrono::nanoseconds(read_clock(clock)));
        slot = std::move(timers);
        any_clock_ = true;
    }
    return *slot;
}

clock_id timer_scheduler::clock_of(const timer_base& timer) noexcept {
    return timer.binding->clock->clock;
}

void timer_scheduler::stop(timer_base& timer) noexcept {
    clock_timers& clock = *timer.binding->clock;
    if (due_list::holds(timer)) {
        clock.owner->due_.remove(timer);
    } else {
        clock.queue.cancel(timer);
        clock.needs_arm = true;
    }
}

void timer_scheduler::reserve(std::size_t count) {
    constexpr std::size_t block = timer_pool<one_shot_node>::block_bytes();
    auto refuse = [count](std::errc error, const std::string& why) {
        throw std::system_error(std::make_error_code(error), "event_loop::reserve_timers: count=" +
                                                                 std::to_string(count) + " " + why);
    };
    // A count whose memory no address space holds would only fail (or, past the vector's
    // max_size, throw std::length_error) after a useless attempt.
    constexpr auto max_bytes = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
    if (count > max_bytes / block) {
        refuse(std::errc::invalid_argument, "is more timers than an address space holds (" +
                                                std::to_string(block) + " bytes each)");
    }
    const std::size_t bytes = count * block;
    // More than the machine's memory: allocating it would end in std::bad_alloc only under a
    // memory limit, and otherwise in the OOM killer once the pages are touched.
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page_size = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0 &&
        bytes / static_cast<std::size_t>(page_size) >= static_cast<std::size_t>(pages)) {
        refuse(std::errc::not_enough_memory,
               "timers need " + std::to_string(bytes) + " bytes, more than this machine's " +
                   std::to_string(static_cast<std::size_t>(pages) *
                                  static_cast<std::size_t>(page_size)) +
                   " bytes of memory");
    }
    try {
        pool_.reserve(count);
    } catch (const std::bad_alloc&) {
        refuse(std::errc::not_enough_memory,
               "timers (" + std::to_string(bytes) + " bytes): out of memory");
    }
}

timer_node* timer_scheduler::start_handle(clock_id clock, std::int64_t deadline,
                                          std::int64_t period, missed_ticks policy,
                                          timer_callback callback) {
    if (!callback) {
        usage_error("event_loop", "empty timer callback");
    }
    clock_timers& timers = timers_for(clock);
    one_shot_node* node = nullptr;
    if (period > 0) {
        auto* periodic = new periodic_node;
        periodic->period = period;
        periodic->policy = policy;
        periodic->binding = timers.bind(&periodic_unbound);
        node = periodic;
    } else {
        node = ::new (pool_.allocate()) one_shot_node;
        node->binding = timers.bind(&one_shot_unbound);
    }
    node->callback = std::move(callback);
    return start_node(node, timers, deadline);
}

timer_node* timer_scheduler::start_handle(clock_id clock, std::int64_t deadline,
                                          wide_timer_callback callback) {
    if (!callback) {
        usage_error("event_loop", "empty timer callback");
    }
    clock_timers& timers = timers_for(clock);
    auto* node = ::new (wide_pool_.allocate()) wide_node;
    node->binding = timers.bind(&wide_one_shot_unbound);
    node->callback = std::move(callback);
    return start_node(node, timers, deadline);
}

timer_node* timer_scheduler::start_node(timer_node* node, clock_timers& timers,
                                        std::int64_t deadline) {
    ++handle_timers_;
    try {
        start(*node, timers, deadline);
    } catch (...) {
        free_node(node);
        throw;
    }
    return node;
}

void timer_scheduler::release(timer_node* node) noexcept {
    if (!node->idle()) {
        stop(*node);
    }
    if (firing_ == node) {
        firing_released_ = true;  // freed when its callback returns
    } else {
        free_node(node);
    }
}

void timer_scheduler::free_node(timer_node* node) noexcept {
    const timer_binding* kind = node->binding->unbound;
    if (kind == &periodic_unbound) {
        delete static_cast<periodic_node*>(node);
    } else if (kind == &wide_one_shot_unbound) {
        auto* wide = static_cast<wide_node*>(node);
        wide->~wide_node();
        wide_pool_.deallocate(wide);
    } else {
        auto* one_shot = static_cast<one_shot_node*>(node);
        one_shot->~one_shot_node();
        pool_.deallocate(one_shot);
    }
    --handle_timers_;
}

// Leaves every timer still registered here idle and unbound, so that an embedded timer that
// outlives the loop can still be destroyed or started on another loop.
void timer_scheduler::unbind_all() noexcept {
    auto unbind = [](timer_entry& entry) {
        auto& timer = static_cast<timer_base&>(entry);
        timer.binding = timer.binding->unbound;
    };
    while (timer_entry* entry = due_.pop_front()) {
        unbind(*entry);
    }
    for (const auto& timers : clocks_) {
        if (timers) {
            timers->queue.set_cascade_budget(0);  // no passes left to spread the work over
            while (timer_entry* entry =
                       timers->queue.pop_due(std::chrono::nanoseconds(INT64_MAX))) {
                unbind(*entry);
            }
        }
    }
}

// ---- time ----------------------------------------------------------------------------------

std::int64_t timer_scheduler::read_clock(clock_id clock) const {
    if (!virtual_time_ || clock_index(clock) == clocks.size()) {
        return clock_now(base_clock(clock)).count();  // an unknown id throws here
    }
    return virtual_clock_.read(clock);
}

std::optional<std::int64_t> timer_scheduler::virtual_jump(std::chrono::nanoseconds limit) const {
    std::optional<std::int64_t> target;
    if (limit.count() >= 0) {
        target = saturating_add(virtual_clock_.elapsed(), limit.count());
    }
    for (const auto& timers : clocks_) {
        if (!timers) {
            continue;
        }
        if (std::optional<std::chrono::nanoseconds> next = timers->queue.next_deadline()) {
            std::int64_t at = virtual_clock_.elapsed_at(timers->clock, next->count());
            target = target ? std::min(*target, at) : at;
        }
    }
    return target;
}

void timer_scheduler::on_clock_change(clock_change_callback callback) {
    clock_change_ = std::move(callback);
    ++clock_change_generation_;
    if (clock_change_) {
        timers_for(clock_id::realtime).needs_arm = true;  // arm it, far ahead if need be
    } else if (auto& realtime = clocks_[clock_index(clock_id::realtime)]) {
        realtime->needs_arm = true;  // disarm when no realtime timer is left
    }
}

// Phase 5, before collection: a cancel_on_set timer_fd reported a change of the wall clock
// (its timers are collected against the new time right after).  The callback may replace or
// remove itself: it runs from a local, which goes back only if it did neither.
void timer_scheduler::tell_clock_change(clock_timers& timers) {
    timers.clock_set = false;
    if (!clock_change_) {
        return;
    }
    const std::uint64_t generation = clock_change_generation_;
    clock_change_callback callback = std::move(clock_change_);
    struct restore {
        timer_scheduler& self;
        clock_change_callback& callback;
        std::uint64_t generation;
        ~restore() {
            if (self.clock_change_generation_ == generation) {
                self.clock_change_ = std::move(callback);
            }
        }
    } put_back{*this, callback, generation};
    callback();
}

// ---- phase 2: arm --------------------------------------------------------------------------

// What the timer_fd of `timers` should be set for: nothing (disarmed), or its earliest
// deadline moved by the precision options.  0 would disarm the timer_fd, so a deadline at or
// before the epoch is "due now", 1 ns.  Spin-finish wakes spin_margin early
// (spin_to_deadline() waits out the rest); coalescing wakes timer_coalescing late (the two
// are never both set).
std::optional<std::int64_t> timer_scheduler::arm_target(clock_timers& timers) const {
    if (std::optional<std::chrono::nanoseconds> next = timers.queue.next_deadline()) {
        if (timers.queue.cascading()) {
            // A lower bound while the queue re-files a large slot in steps: wake for it as it
            // is (usually at once), so the steps follow each other, one per pass.
            return std::max<std::int64_t>(next->count(), 1);
        }
        std::int64_t shifted = saturating_add(saturating_sub(next->count(), spin_margin_.count()),
                                              coalescing_.count());
        return std::max<std::int64_t>(shifted, 1);
    }
    if (clock_change_ && timers.clock == clock_id::realtime) {
        return INT64_MAX;  // armed only to hear of clock changes
    }
    return std::nullopt;
}

// A target the clock has already reached (a loop running behind, a burst of overdue periodic
// ticks) needs no timer_fd: arming it in the past would only buy an immediate expiry, a
// timer interrupt and a wake-up.  The clock is marked for collection instead, so this pass
// polls rather than waits.  A target at most spin_below ahead is treated the same way, and
// collect() then spins up to it (spin_to_deadline): sleeping that little would cost more CPU
// than the wait.  The timer_fd keeps its setting; if it is expired and readable, the pass does
// not block on it, and the arm after the collection clears it.  Not for cancel_on_set
// timer_fds: they must stay armed to hear of wall-clock changes.
bool timer_scheduler::already_due(clock_timers& timers, std::int64_t target,
                                  std::int64_t now) const {
    if (timers.reads_on_fire || target > saturating_add(now, spin_below_.count())) {
        return false;
    }
    timers.collect = true;  // and the collection sets needs_arm again
    return true;
}

// Timed waits (enabled by a timer_slack of at most timed_wait_slack): a monotonic target at
// most timed_wait_window ahead is waited for with the backend's own timeout instead of the
// timer_fd, which saves the settime, one of the two system calls of a wake-up.  The kernel
// ends such a wait no earlier than asked (it adds the timeout to its own reading of the
// clock, taken after ours) and at most the larger of the thread's slack and a thousandth of
// the wait later: 100 ns at most here.  The timer_fd must not wake the loop before the
// target: one armed for an earlier time is re-armed as usual, an expired (readable) one is
// disarmed, and one armed for a later time is left alone.
bool timer_scheduler::timed_wait(clock_timers& timers, std::int64_t target, std::int64_t now) {
    if (!timed_waits_ || timers.clock != clock_id::monotonic ||
        target - now > timed_wait_window.count() || !fds_.precise_timeouts()) {
        return false;
    }
    switch (timers.state) {
        case clock_timers::fd_state::disarmed:
            break;
        case clock_timers::fd_state::armed:
            if (timers.armed_at < target) {
                return false;
            }
            break;
        case clock_timers::fd_state::expired:
        case clock_timers::fd_state::cancelled:
            timers.arm(std::nullopt);
            break;
    }
    timers.timed_at = target;
    return true;
}

void timer_scheduler::arm() {
    if (!any_clock_ || virtual_time_) {
        return;  // virtual clocks are followed by mark_due(), never by a timer_fd
    }
    for (const auto& timers : clocks_) {
        if (!timers || !timers->needs_arm) {
            continue;
        }
        timers->timed_at.reset();
        std::optional<std::int64_t> target = arm_target(*timers);
        bool settled = timers->set_for(target);
        if (!settled && target) {
            const std::int64_t now = read_clock(timers->clock);
            settled = already_due(*timers, *target, now) || timed_wait(*timers, *target, now);
        }
        if (!settled) {
            timers->arm(target);  // on failure throws with needs_arm still set
        }
        timers->needs_arm = false;
    }
}

std::chrono::nanoseconds timer_scheduler::limit_timed_wait(std::chrono::nanoseconds timeout) const {
    const std::unique_ptr<clock_timers>& monotonic = clocks_[clock_index(clock_id::monotonic)];
    if (!monotonic || !monotonic->timed_at) {
        return timeout;
    }
    const std::int64_t left =
        std::max<std::int64_t>(*monotonic->timed_at - read_clock(clock_id::monotonic), 0);
    return std::chrono::nanoseconds(timeout.count() < 0 ? left : std::min(timeout.count(), left));
}

// ---- phase 5: collect and run --------------------------------------------------------------

void timer_scheduler::mark_due() {
    if (!any_clock_) {
        return;
    }
    for (const auto& timers : clocks_) {
        if (!timers || timers->collect) {
            continue;
        }
        std::optional<std::chrono::nanoseconds> next = timers->queue.next_deadline();
        if (next && next->count() <= read_clock(timers->clock)) {
            timers->collect = true;
        }
    }
}

void timer_scheduler::collect() {
    if (!any_clock_) {
        return;
    }
    for (const auto& timers : clocks_) {
        if (!timers || (!timers->collect && !timers->timed_at)) {
            continue;
        }
        timers->timed_at.reset();  // a timed wait ended (by its timeout or not)
        if (timers->clock_set) {
            tell_clock_change(*timers);
        }
        timers->collect = false;
        timers->needs_arm = true;  // the timer_fd fired or is stale: arm it for what is left
        timers->now = read_clock(timers->clock);
        if (spin_window_.count() > 0) {
            spin_to_deadline(*timers);
        }
        while (timer_entry* entry = timers->queue.pop_due(std::chrono::nanoseconds(timers->now))) {
            lateness_.record(
                std::chrono::nanoseconds(saturating_sub(timers->now, entry->deadline().count())));
            due_.push_back(*entry);
        }
    }
}

// Spin-finish: the timer_fd woke the loop up to spin_margin before the earliest deadline, or
// arm() found it less than spin_below ahead; busy-wait on the clock until it is reached, so
// the collection that follows finds it due.
void timer_scheduler::spin_to_deadline(clock_timers& timers) {
    std::optional<std::chrono::nanoseconds> next = timers.queue.next_deadline();
    if (!next || next->count() <= timers.now || next->count() - timers.now > spin_window_.count()) {
        return;
    }
    while (timers.now < next->count()) {
        timers.now = clock_now(base_clock(timers.clock)).count();
    }
}

// A callback may stop or restart any due timer (which leaves the list) or destroy an embedded
// one (which it stopped first), so the list is read afresh for each.  One that throws leaves
// the rest in the list for the next pass.
void timer_scheduler::run_due() {
    while (timer_entry* entry = due_.pop_front()) {
        auto& timer = static_cast<timer_base&>(*entry);
        timer.binding->invoke(timer);
    }
}

void timer_scheduler::fire_one_shot(timer_base& timer) {
    auto& node = static_cast<one_shot_node&>(static_cast<timer_node&>(timer));
    node.binding->clock->owner->run_node(node, 0);
}

void timer_scheduler::fire_wide_one_shot(timer_base& timer) {
    auto& node = static_cast<wide_node&>(static_cast<timer_node&>(timer));
    node.binding->clock->owner->run_node(node, 0);
}

void timer_scheduler::fire_periodic(timer_base& timer) {
    auto& node = static_cast<periodic_node&>(static_cast<timer_node&>(timer));
    // Re-armed before the callback runs, so the callback can stop or restart it.  Being
    // re-queued after collection, it cannot run again in this pass even when due.
    clock_timers& clock = *node.binding->clock;
    next_tick next = schedule_next(node.deadline().count(), node.period, clock.now, node.policy);
    if (!next.ends) {
        clock.queue.start(node, std::chrono::nanoseconds(next.deadline));
        clock.needs_arm = true;
    }
    clock.owner->run_node(node, next.overruns);
}

// Runs a handle's callback; frees the node afterwards if the handle let go of it meanwhile,
// whether the callback returns or throws.
template <class Node>
void timer_scheduler::run_node(Node& node, std::uint64_t overruns) {
    struct scope {
        timer_scheduler& scheduler;
        timer_node* previous;
        bool previous_released;
        ~scope() {
            timer_node* ran = std::exchange(scheduler.firing_, previous);
            if (std::exchange(scheduler.firing_released_, previous_released)) {
                scheduler.free_node(ran);
            }
        }
    } guard{*this, std::exchange(firing_, &node), std::exchange(firing_released_, false)};
    node.callback(overruns);
}

bool timer_scheduler::work_waiting() const noexcept {
    if (!due_.empty()) {
        return true;
    }
    if (!any_clock_) {
        return false;
    }
    for (const auto& clock : clocks_) {
        if (clock && clock->collect) {
            return true;
        }
    }
    return false;
}

std::size_t timer_scheduler::active() const noexcept {
    std::size_t count = due_.size();
    for (const auto& clock : clocks_) {
        if (clock) {
            count += clock->queue.size();
        }
    }
    return count;
}

}  // namespace tfd::detail
