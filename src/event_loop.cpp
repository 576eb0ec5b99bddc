// The event loop's passes: timeout, arm, wait, descriptors, timers, posted work.  Watcher
// bookkeeping lives in fd_watcher.cpp, timer_watcher.cpp and signal_watcher.cpp.
#include "tfd/event_loop.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include "loop_impl.hpp"
#include "saturating.hpp"
#include "tfd/timer_slack.hpp"

namespace tfd {
namespace detail {
namespace {

#ifdef NDEBUG
constexpr bool debug_build = false;
#else
constexpr bool debug_build = true;
#endif

void check_options(const loop_options& options) {
    if (options.spin_margin.count() < 0) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "event_loop: spin_margin=" + format_duration(options.spin_margin) +
                                    " must not be negative");
    }
    if (options.timer_coalescing.count() < 0) {
        throw std::system_error(
            std::make_error_code(std::errc::invalid_argument),
            "event_loop: timer_coalescing=" + format_duration(options.timer_coalescing) +
                " must not be negative");
    }
    if (options.timer_coalescing.count() > 0 && options.spin_margin.count() > 0) {
        throw std::system_error(
            std::make_error_code(std::errc::invalid_argument),
            "event_loop: timer_coalescing=" + format_duration(options.timer_coalescing) +
                " and spin_margin=" + format_duration(options.spin_margin) +
                " exclude each other (one wakes late, the other early)");
    }
    if (options.timer_slack.count() < 0) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "event_loop: timer_slack=" + format_duration(options.timer_slack) +
                                    " must not be negative");
    }
}

}  // namespace

// Marks the loop as running for one run()/run_once()/run_for() call, refusing nesting.
class loop_impl::running_guard {
  public:
    running_guard(loop_impl& loop, const char* operation) : loop_(loop) {
        if (loop_.running_) {
            throw std::system_error(std::make_error_code(std::errc::resource_deadlock_would_occur),
                                    std::string("event_loop::") + operation +
                                        ": the loop is already running (called from a callback)");
        }
        loop_.apply_timer_slack();
        loop_.running_ = true;
        loop_.owner_.store(std::this_thread::get_id());
    }
    ~running_guard() {
        loop_.owner_.store(std::thread::id());
        loop_.running_ = false;
        // Events collected by a pass that a callback's exception cut short are stale by the
        // next pass; level triggering reports the ones still pending again.
        loop_.ready_.clear();
    }
    running_guard(const running_guard&) = delete;
    running_guard& operator=(const running_guard&) = delete;

  private:
    loop_impl& loop_;
};

loop_impl::loop_impl(backend_kind kind, loop_options options)
    : options_((check_options(options), options)), backend_(make_backend(kind)) {
    if (options_.virtual_time) {
        virtual_start_ = {clock_now(clock_id::realtime).count(),
                          clock_now(clock_id::monotonic).count(),
                          clock_now(clock_id::boottime).count()};
    }
    sigemptyset(&signal_mask_);
    register_fd(wake_.native_handle(), io_events::readable, true,
                [this](io_events) { (void)wake_.drain(); });
}

loop_impl::~loop_impl() {
    if constexpr (debug_build) {
        check_nothing_refers_to_me();
    }
    unbind_all();
    for (fd_node* node : by_fd_) {
        if (node != nullptr && node->internal) {
            delete node;
        }
    }
}

// A handle or an active embedded timer that outlives its loop would later touch freed memory:
// debug builds stop here and say what was left.
void loop_impl::check_nothing_refers_to_me() const noexcept {
    std::size_t active_timers = due_.size();
    for (const auto& clock : clocks_) {
        if (clock) {
            active_timers += clock->queue.size();
        }
    }
    std::size_t guards = guards_.load();
    if (timers_ + user_fds_ + signal_watchers_ + active_timers + guards == 0) {
        return;
    }
    std::fprintf(stderr,
                 "tfd::event_loop %p destroyed while still in use: %zu timer handle(s), %zu fd "
                 "watcher(s), %zu signal watcher(s), %zu work guard(s), %zu active timer(s) "
                 "(handles' and embedded ones) refer to it; destroy or stop them before the "
                 "loop\n",
                 static_cast<const void*>(this), timers_, user_fds_, signal_watchers_, guards,
                 active_timers);
    std::abort();
}

bool loop_impl::work_waiting() const noexcept {
    if (has_posted_.load(std::memory_order_acquire) || !due_.empty()) {
        return true;
    }
    if (!any_clock_) {
        return false;
    }
    for (const auto& clock : clocks_) {
        if (clock && clock->fired) {
            return true;
        }
    }
    return false;
}

bool loop_impl::alive() const noexcept {
    return active_watchers() > 0 || work_waiting() || guards_.load(std::memory_order_acquire) > 0;
}

std::size_t loop_impl::active_watchers() const noexcept {
    std::size_t count = user_fds_ + signal_watchers_ + due_.size();
    for (const auto& clock : clocks_) {
        if (clock) {
            count += clock->queue.size();
        }
    }
    return count;
}

void loop_impl::pass(std::chrono::nanoseconds timeout) {
    if (options_.virtual_time) {
        mark_due();
    }
    arm_timers();  // first: arming can find a clock change, which is work waiting
    if (work_waiting()) {
        timeout = std::chrono::nanoseconds(0);
    }
    wait(timeout);
    ++pass_;
    dispatch_fds();
    if (options_.timer_coalescing.count() > 0 && !options_.virtual_time) {
        mark_due();  // awake anyway: run what is due rather than wake again for it
    }
    collect_due_timers();
    run_due_timers();
    run_posted();
}

// Phase 3.  On virtual time a pass that would block with a timer pending (or with run_for's
// limit ahead) polls instead, and when nothing turned up, jumps the clock to what it would
// have waited for.
void loop_impl::wait(std::chrono::nanoseconds timeout) {
    ready_.clear();
    if (!options_.virtual_time || timeout.count() == 0) {
        backend_->wait(timeout, ready_);
        return;
    }
    std::optional<std::int64_t> target = virtual_jump(timeout);
    if (!target || guards_.load(std::memory_order_acquire) > 0) {
        // Nothing to jump to (only descriptors or post()), or work another thread does for
        // the loop is outstanding (a work_guard): wait for real.
        backend_->wait(timeout, ready_);
        return;
    }
    backend_->wait(std::chrono::nanoseconds(0), ready_);
    if (ready_.empty() && !has_posted_.load(std::memory_order_acquire)) {
        virtual_elapsed_ = std::max(virtual_elapsed_, *target);
        mark_due();
    }
}

// The virtual_elapsed_ of the earliest pending deadline, or of `limit` from now when it is
// non-negative and earlier; nothing when neither exists.
std::optional<std::int64_t> loop_impl::virtual_jump(std::chrono::nanoseconds limit) const {
    std::optional<std::int64_t> target;
    if (limit.count() >= 0) {
        target = saturating_add(virtual_elapsed_, limit.count());
    }
    for (const auto& timers : clocks_) {
        if (!timers) {
            continue;
        }
        if (std::optional<std::chrono::nanoseconds> next = timers->queue.next_deadline()) {
            std::int64_t start = virtual_start_[virtual_index(timers->clock)];
            std::int64_t at = saturating_sub(next->count(), start);
            target = target ? std::min(*target, at) : at;
        }
    }
    return target;
}

std::size_t loop_impl::virtual_index(clock_id clock) noexcept {
    switch (base_clock(clock)) {
        case clock_id::realtime:
            return 0;
        case clock_id::monotonic:
            return 1;
        default:
            return 2;
    }
}

std::int64_t loop_impl::read_clock(clock_id clock) const {
    clock_id base = base_clock(clock);
    bool known =
        base == clock_id::realtime || base == clock_id::monotonic || base == clock_id::boottime;
    if (!options_.virtual_time || !known) {
        return clock_now(base).count();
    }
    return saturating_add(virtual_start_[virtual_index(base)], virtual_elapsed_);
}

// Marks every clock whose earliest deadline has passed by its reading as fired, as its
// timer_fd would: on virtual time, for run_until_idle(), which does not wait for them, and
// after every wait when coalescing, whose timer_fds expire up to timer_coalescing late.
void loop_impl::mark_due() {
    if (!any_clock_) {
        return;
    }
    for (const auto& timers : clocks_) {
        if (!timers || timers->fired) {
            continue;
        }
        std::optional<std::chrono::nanoseconds> next = timers->queue.next_deadline();
        if (next && next->count() <= read_clock(timers->clock)) {
            timers->fired = true;
        }
    }
}

void loop_impl::apply_timer_slack() {
    if (options_.timer_slack.count() > 0 && slack_thread_ != std::this_thread::get_id()) {
        set_timer_slack(options_.timer_slack);
        slack_thread_ = std::this_thread::get_id();
    }
}

void loop_impl::on_clock_change(std::function<void()> callback) {
    clock_change_ = std::move(callback);
    if (clock_change_) {
        timers_for(clock_id::realtime).dirty = true;  // arm it, far ahead if need be
    } else if (clocks_[0]) {
        clocks_[0]->dirty = true;  // disarm when no realtime timer is left
    }
}

void loop_impl::dispatch_fds() {
    for (std::size_t i = 0; i < ready_.size(); ++i) {
        ready_event event = ready_[i];
        if (event.fd < 0 || static_cast<std::size_t>(event.fd) >= by_fd_.size()) {
            continue;
        }
        fd_node* node = by_fd_[event.fd];
        if (node == nullptr || node->added_pass == pass_) {
            continue;
        }
        io_events deliver = event.events & (node->interest | io_events::error | io_events::hangup);
        if (deliver == io_events::none) {
            continue;
        }
        callback_scope<fd_node> scope(*this, node);
        node->callback(deliver);
    }
    ready_.clear();
}

void loop_impl::run_posted() {
    if (!has_posted_.load(std::memory_order_acquire)) {
        return;
    }
    std::deque<std::function<void()>> batch;
    {
        std::lock_guard lock(posted_mutex_);
        batch.swap(posted_);
        has_posted_.store(false, std::memory_order_release);
    }
    while (!batch.empty()) {
        std::function<void()> work = std::move(batch.front());
        batch.pop_front();
        try {
            work();
        } catch (...) {
            // Keep what was not run, ahead of anything posted meanwhile.
            std::lock_guard lock(posted_mutex_);
            for (auto& rest : posted_) {
                batch.push_back(std::move(rest));
            }
            posted_.swap(batch);
            has_posted_.store(!posted_.empty(), std::memory_order_release);
            throw;
        }
    }
}

void loop_impl::post(std::function<void()> work) {
    bool was_empty = false;
    {
        std::lock_guard lock(posted_mutex_);
        was_empty = posted_.empty();
        posted_.push_back(std::move(work));
        has_posted_.store(true, std::memory_order_release);
    }
    // Only the first of a batch needs to wake the loop: it takes the whole batch.
    if (was_empty) {
        wake_.notify();
    }
}

void loop_impl::stop() noexcept {
    // Sequentially consistent with running_guard's store of owner_: either this thread sees
    // the new owner (and wakes it), or the owner's first check sees the flag.
    stop_requested_.store(true);
    if (owner_.load() != std::this_thread::get_id()) {
        wake_.notify();
    }
}

void loop_impl::run() {
    running_guard guard(*this, "run");
    while (!stop_requested_.exchange(false) && alive()) {
        pass(std::chrono::nanoseconds(-1));
    }
}

bool loop_impl::run_once() {
    running_guard guard(*this, "run_once");
    stop_requested_.store(false, std::memory_order_release);
    pass(alive() ? std::chrono::nanoseconds(-1) : std::chrono::nanoseconds(0));
    return alive();
}

void loop_impl::run_for(std::chrono::nanoseconds duration) {
    running_guard guard(*this, "run_for");
    const std::int64_t end = saturating_add(read_clock(clock_id::monotonic), duration.count());
    while (!stop_requested_.exchange(false)) {
        std::int64_t left = end - read_clock(clock_id::monotonic);
        if (left <= 0) {
            break;
        }
        pass(std::chrono::nanoseconds(left));
    }
}

void loop_impl::run_until_idle() {
    running_guard guard(*this, "run_until_idle");
    idle_passes();
}

void loop_impl::idle_passes() {
    stop_requested_.store(false, std::memory_order_release);
    do {
        pass(std::chrono::nanoseconds(0));
        mark_due();
    } while (work_waiting() && !stop_requested_.exchange(false));
}

void loop_impl::advance(std::chrono::nanoseconds delta) {
    if (!options_.virtual_time) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "event_loop::advance: the loop is not on virtual time");
    }
    if (delta.count() < 0) {
        throw std::system_error(
            std::make_error_code(std::errc::invalid_argument),
            "event_loop::advance: delta=" + format_duration(delta) + " must not be negative");
    }
    running_guard guard(*this, "advance");
    virtual_elapsed_ = saturating_add(virtual_elapsed_, delta.count());
    idle_passes();
}

}  // namespace detail

event_loop::event_loop(backend_kind backend, loop_options options)
    : impl_(std::make_unique<detail::loop_impl>(backend, options)) {}
event_loop::~event_loop() = default;

fd_watcher event_loop::watch(int fd, io_events interest, fd_callback callback) {
    return impl_->watch(fd, interest, std::move(callback));
}

timer_watcher event_loop::after(std::chrono::nanoseconds delay, timer_callback callback,
                                clock_id clock) {
    std::int64_t now = impl_->read_clock(clock);
    std::int64_t deadline = 0;
    if (__builtin_add_overflow(now, delay.count(), &deadline)) {
        deadline = delay.count() > 0 ? INT64_MAX : INT64_MIN;
    }
    return impl_->start_timer(clock, deadline, 0, missed_ticks::skip, std::move(callback));
}

timer_watcher event_loop::at(clock_id clock, std::chrono::nanoseconds deadline,
                             timer_callback callback) {
    return impl_->start_timer(clock, deadline.count(), 0, missed_ticks::skip, std::move(callback));
}

timer_watcher event_loop::every(std::chrono::nanoseconds period, timer_callback callback,
                                periodic_options options) {
    std::int64_t now = impl_->read_clock(options.clock);
    std::int64_t first = 0;
    if (__builtin_add_overflow(now, period.count(), &first)) {
        first = INT64_MAX;
    }
    return every_from(std::chrono::nanoseconds(first), period, std::move(callback), options);
}

timer_watcher event_loop::every_from(std::chrono::nanoseconds first,
                                     std::chrono::nanoseconds period, timer_callback callback,
                                     periodic_options options) {
    if (period.count() <= 0) {
        throw std::system_error(
            std::make_error_code(std::errc::invalid_argument),
            "event_loop::every: period=" + format_duration(period) + " must be positive");
    }
    return impl_->start_timer(options.clock, first.count(), period.count(), options.policy,
                              std::move(callback));
}

signal_watcher event_loop::on_signal(int signo, signal_callback callback) {
    return impl_->on_signal(signo, std::move(callback));
}

void event_loop::post(std::function<void()> work) {
    impl_->post(std::move(work));
}
void event_loop::stop() noexcept {
    impl_->stop();
}
void event_loop::run() {
    impl_->run();
}
bool event_loop::run_once() {
    return impl_->run_once();
}
void event_loop::run_for(std::chrono::nanoseconds duration) {
    impl_->run_for(duration);
}
std::chrono::nanoseconds event_loop::now(clock_id clock) const {
    return std::chrono::nanoseconds(impl_->read_clock(clock));
}
void event_loop::run_until_idle() {
    impl_->run_until_idle();
}
void event_loop::advance(std::chrono::nanoseconds delta) {
    impl_->advance(delta);
}
bool event_loop::virtual_time() const noexcept {
    return impl_->virtual_time();
}
void event_loop::on_clock_change(std::function<void()> callback) {
    impl_->on_clock_change(std::move(callback));
}
const latency_histogram& event_loop::lateness() const noexcept {
    return impl_->lateness();
}
backend_kind event_loop::backend() const noexcept {
    return impl_->kind();
}
std::size_t event_loop::active_watchers() const noexcept {
    return impl_->active_watchers();
}
void event_loop::reserve_timers(std::size_t count) {
    impl_->reserve_timers(count);
}

}  // namespace tfd
