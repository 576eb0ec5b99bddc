// Timer watchers: one timer_queue and one timer_fd per clock in use, and the loop's timer
// phase (collect every due timer, then run them).
#include "tfd/timer_watcher.hpp"

#include <cerrno>
#include <new>
#include <string>
#include <system_error>

#include "loop_impl.hpp"
#include "saturating.hpp"

namespace tfd {
namespace detail {
namespace {

constexpr std::array<clock_id, 5> slot_clocks{clock_id::realtime, clock_id::monotonic,
                                              clock_id::boottime, clock_id::realtime_alarm,
                                              clock_id::boottime_alarm};

std::size_t slot_of(clock_id clock) {
    for (std::size_t i = 0; i < slot_clocks.size(); ++i) {
        if (slot_clocks[i] == clock) {
            return i;
        }
    }
    throw std::system_error(
        std::make_error_code(std::errc::invalid_argument),
        "event_loop: timer on unknown clock " + std::to_string(static_cast<int>(clock)));
}

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

const timer_binding loop_impl::one_shot_unbound{&loop_impl::fire_one_shot,
                                                &loop_impl::one_shot_unbound, nullptr};
const timer_binding loop_impl::periodic_unbound{&loop_impl::fire_periodic,
                                                &loop_impl::periodic_unbound, nullptr};

// A new chunk's blocks go to the front of the free list in address order, so that timers
// started one after another sit next to each other.
void timer_pool::add_chunk() {
    chunks_.push_back(std::make_unique<slot[]>(chunk_slots));  // zeroed: its pages are touched
    slot* chunk = chunks_.back().get();
    for (std::size_t i = chunk_slots; i-- > 0;) {
        chunk[i].next = free_;
        free_ = &chunk[i];
    }
    free_count_ += chunk_slots;
}

void timer_pool::reserve(std::size_t count) {
    chunks_.reserve(chunks_.size() + (count - std::min(count, free_count_)) / chunk_slots + 1);
    while (free_count_ < count) {
        add_chunk();
    }
}

void* timer_pool::allocate() {
    if (free_ == nullptr) {
        add_chunk();
    }
    slot* block = free_;
    free_ = block->next;
    --free_count_;
    return block->bytes;
}

void timer_pool::deallocate(void* block) noexcept {
    auto* freed = ::new (block) slot;
    freed->next = free_;
    free_ = freed;
    ++free_count_;
}

// Phase 4: a clock's timer_fd is readable.  Expirations are not counted, the queue knows
// what is due.  Only a cancel_on_set timer_fd is read, for the ECANCELED that tells of a
// wall-clock change; the others are left readable, since the settime that phase 2 makes
// after every fire (to re-arm or disarm) clears them for one system call less per wake-up.
void loop_impl::timer_fd_ready(clock_timers& timers) {
    timers.fired = true;
    if (!timers.reads_on_fire) {
        timers.armed = clock_timers::expired;
        return;
    }
    read_result result = timers.fd.read();
    if (result.status == read_status::cancelled) {
        timers.armed = clock_timers::cancelled;
        timers.changed = true;
    } else {
        timers.armed = clock_timers::not_armed;
    }
}

void loop_impl::free_node(timer_node* node) noexcept {
    if (node->binding->unbound == &periodic_unbound) {
        delete static_cast<periodic_node*>(node);
    } else {
        node->~timer_node();
        pool_.deallocate(node);
    }
    --timers_;
}

clock_timers& loop_impl::timers_for(clock_id clock) {
    std::unique_ptr<clock_timers>& slot = clocks_[slot_of(clock)];
    if (!slot) {
        auto timers = std::make_unique<clock_timers>(clock, this);
        clock_timers* raw = timers.get();
        if (int fd = unwatched_number(raw->fd.native_handle()); fd != raw->fd.native_handle()) {
            raw->fd = timer_fd::adopt(fd, clock);
        }
        raw->node = register_fd(raw->fd.native_handle(), io_events::readable, true,
                                [raw](io_events) { timer_fd_ready(*raw); });
        slot = std::move(timers);
        any_clock_ = true;
    }
    return *slot;
}

const timer_binding* clock_timers::bind(const timer_binding* unbound) {
    if (last_bound != nullptr && last_bound->unbound == unbound) {
        return last_bound;
    }
    for (const auto& bound : bindings) {
        if (bound->unbound == unbound) {
            return last_bound = bound.get();
        }
    }
    bindings.push_back(
        std::make_unique<timer_binding>(timer_binding{unbound->invoke, unbound, this}));
    return last_bound = bindings.back().get();
}

clock_id loop_impl::clock_of(const timer_base& timer) noexcept {
    return timer.binding->clock->clock;
}

void loop_impl::start(timer_base& timer, clock_timers& clock, std::int64_t deadline) {
    const timer_binding* binding = timer.binding;
    if (!timer.idle()) {
        if (binding->clock == &clock) {
            if (due_list::holds(timer)) {
                due_.remove(timer);
            }
            clock.queue.refresh(timer, std::chrono::nanoseconds(deadline));
            clock.dirty = true;
            return;
        }
        stop(timer);  // registered with another clock or loop
    }
    if (binding->clock != &clock) {
        timer.binding = clock.bind(binding->unbound);
    }
    clock.queue.start(timer, std::chrono::nanoseconds(deadline));
    clock.dirty = true;
}

void loop_impl::stop(timer_base& timer) noexcept {
    clock_timers& clock = *timer.binding->clock;
    if (due_list::holds(timer)) {
        clock.owner->due_.remove(timer);
    } else {
        clock.queue.cancel(timer);
        clock.dirty = true;
    }
}

timer_watcher loop_impl::start_timer(clock_id clock, std::int64_t deadline, std::int64_t period,
                                     missed_ticks policy, timer_callback callback) {
    if (!callback) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "event_loop: empty timer callback");
    }
    clock_timers& timers = timers_for(clock);
    timer_node* node = nullptr;
    if (period > 0) {
        auto* periodic = new periodic_node;
        periodic->period = period;
        periodic->policy = policy;
        periodic->binding = timers.bind(&periodic_unbound);
        node = periodic;
    } else {
        node = ::new (pool_.allocate()) timer_node;
        node->binding = timers.bind(&one_shot_unbound);
    }
    ++timers_;
    node->callback = std::move(callback);
    try {
        start(*node, timers, deadline);
    } catch (...) {
        free_node(node);
        throw;
    }
    return timer_watcher(node);
}

void loop_impl::release(timer_node* node) noexcept {
    if (!node->idle()) {
        stop(*node);
    }
    if (firing_ == node) {
        firing_released_ = true;  // freed when its callback returns
    } else {
        free_node(node);
    }
}

// Leaves every timer still registered with this loop idle and unbound, so that an embedded
// timer that outlives the loop can still be destroyed or started on another loop.
void loop_impl::unbind_all() noexcept {
    auto unbind = [](timer_entry& entry) {
        auto& timer = static_cast<timer_base&>(entry);
        timer.binding = timer.binding->unbound;
    };
    while (timer_entry* entry = due_.pop_front()) {
        unbind(*entry);
    }
    for (const auto& timers : clocks_) {
        if (timers) {
            while (timer_entry* entry =
                       timers->queue.pop_due(std::chrono::nanoseconds(INT64_MAX))) {
                unbind(*entry);
            }
        }
    }
}

// Phase 5, before collection: a cancel_on_set timer_fd reported a change of the wall clock
// (its timers are collected against the new time right after).
void loop_impl::clock_was_set(clock_timers& timers) {
    timers.changed = false;
    if (clock_change_) {
        std::function<void()> callback = clock_change_;  // it may replace itself
        callback();
    }
}

// timerfd_settime(2), which also answers ECANCELED when the wall clock was set since the
// last cancel_on_set arm and no read saw it: the new setting is in place all the same (see
// the NOTES of timerfd_create(2)), so that is a clock change, not a failure.
void loop_impl::arm_fd(clock_timers& timers, std::int64_t target, set_flags flags) {
    std::error_code ec;
    timers.fd.settime(std::chrono::nanoseconds(target), std::chrono::nanoseconds(0), flags, ec);
    if (ec == std::errc::operation_canceled) {
        timers.fired = true;
        timers.changed = true;
    } else if (ec) {
        throw std::system_error(ec, "event_loop: arming the " +
                                        std::string(to_string(timers.clock)) + " timer_fd at " +
                                        std::to_string(target) + " ns");
    }
}

// A target the clock has already reached (a loop running behind, a burst of overdue periodic
// ticks) needs no timer_fd: arming it in the past would only buy an immediate expiry, a
// timer interrupt and a wake-up.  The clock is marked fired instead, so this pass polls
// rather than waits and collects it.  The timer_fd keeps its setting (`armed` still says
// which); if it is expired and readable, the pass does not block on it, and the arm after
// the collection clears it.  Not for cancel_on_set timer_fds: they must stay armed to hear
// of wall-clock changes.
bool loop_impl::already_due(clock_timers& timers, std::int64_t target) const {
    if (target == clock_timers::not_armed || timers.reads_on_fire ||
        target > read_clock(timers.clock)) {
        return false;
    }
    timers.fired = true;
    timers.dirty = false;  // collection sets it again
    return true;
}

void loop_impl::arm_timers() {
    if (!any_clock_ || options_.virtual_time) {
        return;  // virtual clocks are followed by mark_due(), never by a timer_fd
    }
    for (const auto& timers : clocks_) {
        if (!timers || !timers->dirty) {
            continue;
        }
        std::optional<std::chrono::nanoseconds> next = timers->queue.next_deadline();
        bool wall_clock = base_clock(timers->clock) == clock_id::realtime;
        // 0 would disarm the timer_fd: a deadline at or before the epoch is "due now", 1 ns.
        // Spin-finish wakes spin_margin early (spin_to_deadline() waits out the rest);
        // coalescing wakes timer_coalescing late (the two are never both set).
        std::int64_t target = clock_timers::not_armed;
        if (next) {
            std::int64_t shifted =
                saturating_add(saturating_sub(next->count(), options_.spin_margin.count()),
                               options_.timer_coalescing.count());
            target = std::max<std::int64_t>(shifted, 1);
        } else if (wall_clock && clock_change_ && timers->clock == clock_id::realtime) {
            target = INT64_MAX;  // armed only to hear of clock changes
        }
        if (target != timers->armed && already_due(*timers, target)) {
            continue;
        }
        if (target != timers->armed) {
            // On failure this throws with `dirty` still set, so the next pass tries again.
            if (target != clock_timers::not_armed) {
                // A realtime timer_fd also wakes the loop when the wall clock is set, so
                // realtime deadlines are re-evaluated without polling.
                set_flags flags = wall_clock ? set_flags::absolute | set_flags::cancel_on_set
                                             : set_flags::absolute;
                arm_fd(*timers, target, flags);
            } else {
                arm_fd(*timers, 0, set_flags::none);  // 0 disarms
            }
            timers->armed = target;
        }
        timers->dirty = false;
    }
}

void loop_impl::collect_due_timers() {
    if (!any_clock_) {
        return;
    }
    for (const auto& timers : clocks_) {
        if (!timers || !timers->fired) {
            continue;
        }
        if (timers->changed) {
            clock_was_set(*timers);
        }
        timers->fired = false;
        timers->dirty = true;  // the timer_fd is disarmed now; arm it for what is left
        timers->now = read_clock(timers->clock);
        if (options_.spin_margin.count() > 0 && !options_.virtual_time) {
            spin_to_deadline(*timers);
        }
        while (timer_entry* entry = timers->queue.pop_due(std::chrono::nanoseconds(timers->now))) {
            lateness_.record(
                std::chrono::nanoseconds(saturating_sub(timers->now, entry->deadline().count())));
            due_.push_back(*entry);
        }
    }
}

// Spin-finish: the timer_fd woke the loop up to spin_margin before the earliest deadline;
// busy-wait on the clock until it is reached, so the collection that follows finds it due.
void loop_impl::spin_to_deadline(clock_timers& timers) {
    std::optional<std::chrono::nanoseconds> next = timers.queue.next_deadline();
    if (!next || next->count() <= timers.now ||
        next->count() - timers.now > options_.spin_margin.count()) {
        return;
    }
    while (timers.now < next->count()) {
        timers.now = clock_now(base_clock(timers.clock)).count();
    }
}

// A callback may stop or restart any due timer (which leaves the list) or destroy an embedded
// one (which it stopped first), so the list is read afresh for each.  One that throws leaves
// the rest in the list for the next pass.
void loop_impl::run_due_timers() {
    while (timer_entry* entry = due_.pop_front()) {
        auto& timer = static_cast<timer_base&>(*entry);
        timer.binding->invoke(timer);
    }
}

void loop_impl::fire_one_shot(timer_base& timer) {
    auto& node = static_cast<timer_node&>(timer);
    node.binding->clock->owner->run_node(node, 0);
}

void loop_impl::fire_periodic(timer_base& timer) {
    auto& node = static_cast<periodic_node&>(timer);
    // Re-armed before the callback runs, so the callback can stop or restart it.  Being
    // re-queued after collection, it cannot run again in this pass even when due.
    clock_timers& clock = *node.binding->clock;
    next_tick next = schedule_next(node.deadline().count(), node.period, clock.now, node.policy);
    if (!next.ends) {
        clock.queue.start(node, std::chrono::nanoseconds(next.deadline));
        clock.dirty = true;
    }
    clock.owner->run_node(node, next.overruns);
}

// Runs a handle's callback; frees the node afterwards if the handle let go of it meanwhile,
// whether the callback returns or throws.
void loop_impl::run_node(timer_node& node, std::uint64_t overruns) {
    struct scope {
        loop_impl& loop;
        timer_node* previous;
        bool previous_released;
        ~scope() {
            timer_node* node = std::exchange(loop.firing_, previous);
            if (std::exchange(loop.firing_released_, previous_released)) {
                loop.free_node(node);
            }
        }
    } guard{*this, std::exchange(firing_, &node), std::exchange(firing_released_, false)};
    node.callback(overruns);
}

}  // namespace detail

void timer_watcher::stop() noexcept {
    if (node_ != nullptr && !node_->idle()) {
        detail::loop_impl::stop(*node_);
    }
}

void timer_watcher::reset() noexcept {
    if (node_ != nullptr) {
        detail::loop_impl* loop = node_->binding->clock->owner;
        loop->release(std::exchange(node_, nullptr));
    }
}

void timer_watcher::restart_after(std::chrono::nanoseconds delay) {
    if (node_ == nullptr) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "timer_watcher::restart_after: empty handle");
    }
    detail::clock_timers& clock = *node_->binding->clock;
    std::int64_t now = clock.owner->read_clock(clock.clock);
    std::int64_t deadline = 0;
    if (__builtin_add_overflow(now, delay.count(), &deadline)) {
        deadline = delay.count() > 0 ? INT64_MAX : INT64_MIN;
    }
    clock.owner->start(*node_, clock, deadline);
}

void timer_watcher::restart_at(std::chrono::nanoseconds deadline) {
    if (node_ == nullptr) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "timer_watcher::restart_at: empty handle");
    }
    detail::clock_timers& clock = *node_->binding->clock;
    clock.owner->start(*node_, clock, deadline.count());
}

bool timer_watcher::pending() const noexcept {
    return node_ != nullptr && !node_->idle();
}

std::chrono::nanoseconds timer_watcher::deadline() const noexcept {
    return node_ != nullptr ? node_->deadline() : std::chrono::nanoseconds(0);
}

clock_id timer_watcher::clock() const noexcept {
    return node_ != nullptr ? detail::loop_impl::clock_of(*node_) : clock_id::monotonic;
}

}  // namespace tfd
