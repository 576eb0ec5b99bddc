// tfd::event_loop: the façade, and the pass that runs the loop's subsystems.
#include "tfd/event_loop.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

#include "loop_impl.hpp"
#include "saturating.hpp"
#include "tfd/timer_slack.hpp"
#include "timer_node.hpp"

namespace tfd {
namespace detail {
namespace {

#ifdef NDEBUG
constexpr bool debug_build = false;
#else
constexpr bool debug_build = true;
#endif

const loop_options& check_options(const loop_options& options) {
    if (options.spin_margin.count() < 0) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "event_loop: spin_margin=" + format_duration(options.spin_margin) +
                                    " must not be negative");
    }
    if (options.spin_below.count() < 0 || options.spin_below > std::chrono::milliseconds(1)) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "event_loop: spin_below=" + format_duration(options.spin_below) +
                                    " must be from 0 to 1ms (a longer spin costs more than any "
                                    "sleep)");
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
    return options;
}

}  // namespace

// Marks the loop as running for one run()/run_once()/run_for() call, refusing nesting.
class loop_impl::running_guard {
  public:
    // Claims the loop for this thread: owner_ goes from no thread to this one, atomically,
    // so a call from a second thread is refused (and told so) rather than racing the first.
    running_guard(loop_impl& loop, const char* operation) : loop_(loop) {
        const std::thread::id self = std::this_thread::get_id();
        std::thread::id owner{};
        if (!loop_.owner_.compare_exchange_strong(owner, self)) {
            throw std::system_error(
                std::make_error_code(std::errc::resource_deadlock_would_occur),
                std::string("event_loop::") + operation +
                    (owner == self ? ": the loop is already running (called from a callback)"
                                   : ": the loop is running on another thread (a loop belongs "
                                     "to the thread that runs it)"));
        }
        try {
            loop_.apply_timer_slack();
        } catch (...) {
            loop_.owner_.store(std::thread::id());
            throw;
        }
    }
    ~running_guard() {
        // A stop() requested while this call ran was meant for it, whether or not the call
        // ended through it (run_once, run_until_idle and advance end anyway): it must not
        // leak into the next run().
        loop_.stop_requested_.store(false);
        loop_.fds.drop_ready();
        loop_.owner_.store(std::thread::id());
    }
    running_guard(const running_guard&) = delete;
    running_guard& operator=(const running_guard&) = delete;

  private:
    loop_impl& loop_;
};

loop_impl::loop_impl(backend_kind kind, loop_options opts)
    : options(check_options(opts)), fds(kind), timers(options, fds), signals(fds), posts(fds) {}

loop_impl::~loop_impl() {
    check_nothing_refers_to_me();
}

// A handle or a work guard that outlives its loop would later touch freed memory (its node,
// the loop's counters), in any build: every build stops here and says what was left, rather
// than crash somewhere later.  An active embedded timer is left idle by the scheduler's
// destructor, so a release build lets it go; a debug build stops for it too, since it is
// still a mistake.
void loop_impl::check_nothing_refers_to_me() const noexcept {
    const std::size_t handles = timers.handles() + fds.handles() + signals.handles();
    const std::size_t active_timers = timers.active();
    const std::size_t guards = posts.guards();
    if (handles + guards + (debug_build ? active_timers : 0) == 0) {
        return;
    }
    std::fprintf(stderr,
                 "tfd::event_loop %p destroyed while still in use: %zu timer handle(s), %zu fd "
                 "watcher(s), %zu signal watcher(s), %zu work guard(s), %zu active timer(s) "
                 "(handles' and embedded ones) refer to it; destroy or stop them before the "
                 "loop\n",
                 static_cast<const void*>(this), timers.handles(), fds.handles(), signals.handles(),
                 guards, active_timers);
    std::abort();
}

bool loop_impl::work_waiting() const noexcept {
    return posts.waiting() || timers.work_waiting();
}

bool loop_impl::alive() const noexcept {
    return active_watchers() > 0 || work_waiting() || posts.guards() > 0;
}

std::size_t loop_impl::active_watchers() const noexcept {
    return fds.active() + signals.active() + timers.active();
}

// One pass; the numbers are the phases of event_loop.hpp and docs/design.md.
void loop_impl::pass(std::chrono::nanoseconds timeout) {
    if (options.virtual_time) {
        timers.mark_due();  // 1: what the virtual clock has reached counts as expired
    }
    timers.arm();  // 2, before 1's check: arming can find a clock change, which is work waiting
    if (work_waiting()) {
        timeout = std::chrono::nanoseconds(0);  // 1
    }
    wait(timers.limit_wait(timeout));  // 3
    fds.dispatch();                    // 4
    if (options.timer_coalescing.count() > 0 && !options.virtual_time) {
        timers.mark_due();  // awake anyway: run what is due rather than wake again for it
    }
    timers.collect();  // 5
    timers.run_due();
    posts.run();  // 6
}

// Phase 3.  On virtual time a pass that would block with a timer pending (or with run_for's
// limit ahead) polls instead, and when nothing turned up, jumps the clock to what it would
// have waited for; not while a work_guard says another thread is working for the loop.
void loop_impl::wait(std::chrono::nanoseconds timeout) {
    if (!options.virtual_time || timeout.count() == 0) {
        fds.wait(timeout);
        return;
    }
    std::optional<std::int64_t> target = timers.virtual_jump(timeout);
    if (!target || posts.guards() > 0) {
        fds.wait(timeout);  // nothing to jump to (only descriptors or post()), or held
        return;
    }
    fds.wait(std::chrono::nanoseconds(0));
    if (!fds.any_ready() && !posts.waiting()) {
        timers.jump_to(*target);
        timers.mark_due();
    }
}

void loop_impl::apply_timer_slack() {
    if (options.timer_slack.count() > 0 && slack_thread_ != std::this_thread::get_id()) {
        set_timer_slack(options.timer_slack);
        slack_thread_ = std::this_thread::get_id();
    }
}

void loop_impl::stop() noexcept {
    // Sequentially consistent with running_guard's store of owner_: either this thread sees
    // the new owner (and wakes it), or the owner's first check sees the flag.
    stop_requested_.store(true);
    if (owner_.load() != std::this_thread::get_id()) {
        posts.wake();
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
    const std::int64_t end =
        saturating_add(timers.read_clock(clock_id::monotonic), duration.count());
    while (!stop_requested_.exchange(false)) {
        std::int64_t left = end - timers.read_clock(clock_id::monotonic);
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
        timers.mark_due();
    } while (work_waiting() && !stop_requested_.exchange(false));
}

void loop_impl::advance(std::chrono::nanoseconds delta) {
    if (!options.virtual_time) {
        usage_error("event_loop::advance", "the loop is not on virtual time");
    }
    if (delta.count() < 0) {
        throw std::system_error(
            std::make_error_code(std::errc::invalid_argument),
            "event_loop::advance: delta=" + format_duration(delta) + " must not be negative");
    }
    running_guard guard(*this, "advance");
    timers.advance(delta.count());
    idle_passes();
}

}  // namespace detail

// ---- the façade ------------------------------------------------------------------------------

event_loop::event_loop(backend_kind backend, loop_options options)
    : impl_(std::make_unique<detail::loop_impl>(backend, options)) {}
event_loop::~event_loop() = default;

fd_watcher event_loop::watch(int fd, io_events interest, fd_callback callback) {
    detail::check_interest("event_loop::watch", fd, interest);
    return fd_watcher(impl_->fds.watch(fd, interest, std::move(callback)));
}

std::int64_t event_loop::deadline_after(std::chrono::nanoseconds delay, clock_id clock) const {
    return detail::saturating_add(impl_->timers.read_clock(clock), delay.count());
}

timer_watcher event_loop::start_timer(const char* operation, clock_id clock, std::int64_t deadline,
                                      std::int64_t period, missed_ticks policy,
                                      timer_callback callback) {
    if (!callback) {
        detail::usage_error(operation, "empty callback");
    }
    return timer_watcher(
        impl_->timers.start_handle(clock, deadline, period, policy, std::move(callback)));
}

timer_watcher event_loop::start_wide_timer(const char* operation, clock_id clock,
                                           std::int64_t deadline, wide_timer_callback callback) {
    if (!callback) {
        detail::usage_error(operation, "empty callback");
    }
    return timer_watcher(impl_->timers.start_handle(clock, deadline, std::move(callback)));
}

timer_watcher event_loop::start_periodic(const char* operation, std::int64_t first,
                                         std::chrono::nanoseconds period, timer_callback callback,
                                         periodic_options options) {
    if (period.count() <= 0) {
        throw std::system_error(
            std::make_error_code(std::errc::invalid_argument),
            std::string(operation) + ": period=" + format_duration(period) + " must be positive");
    }
    return start_timer(operation, options.clock, first, period.count(), options.policy,
                       std::move(callback));
}

signal_watcher event_loop::on_signal(int signo, signal_callback callback) {
    return signal_watcher(impl_->signals.watch(signo, std::move(callback)));
}

void event_loop::post(posted_work work) {
    impl_->posts.post(std::move(work));
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
void event_loop::run_for_ns(std::chrono::nanoseconds duration) {
    impl_->run_for(duration);
}
std::chrono::nanoseconds event_loop::now(clock_id clock) const {
    return std::chrono::nanoseconds(impl_->timers.read_clock(clock));
}
void event_loop::run_until_idle() {
    impl_->run_until_idle();
}
void event_loop::advance_ns(std::chrono::nanoseconds delta) {
    impl_->advance(delta);
}
bool event_loop::virtual_time() const noexcept {
    return impl_->timers.virtual_time();
}
void event_loop::on_clock_change(clock_change_callback callback) {
    impl_->timers.on_clock_change(std::move(callback));
}
const latency_histogram& event_loop::lateness() const noexcept {
    return impl_->timers.lateness();
}
backend_kind event_loop::backend() const noexcept {
    return impl_->fds.kind();
}
std::size_t event_loop::active_watchers() const noexcept {
    return impl_->active_watchers();
}
void event_loop::reserve_timers(std::size_t count) {
    impl_->timers.reserve(count);
}

}  // namespace tfd
