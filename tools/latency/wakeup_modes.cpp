// The raw modes call the kernel directly on purpose: they are the baseline tfd is measured
// against, so nothing of tfd may sit between them and the system call.
#include "wakeup_modes.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "tfd/time_convert.hpp"
#include "tfd/timer_fd.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd::latency {
namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::system_error(errno, std::system_category(), what);
}

timespec to_timespec(std::chrono::nanoseconds ns) noexcept {
    return {static_cast<time_t>(ns.count() / 1'000'000'000),
            static_cast<long>(ns.count() % 1'000'000'000)};
}

// clock_nanosleep(TIMER_ABSTIME) to each deadline: cyclictest's own method.  It pays the
// thread's timer slack (50 us by default) on every sleep.
class nanosleep_mode final : public wakeup_mode {
  public:
    using wakeup_mode::wakeup_mode;

  private:
    void start(std::chrono::nanoseconds) override {}
    std::uint64_t wait(std::chrono::nanoseconds deadline) override {
        timespec at = to_timespec(deadline);
        int clock = static_cast<int>(config().clock);
        while (int error = ::clock_nanosleep(clock, TIMER_ABSTIME, &at, nullptr)) {
            if (error != EINTR) {
                errno = error;
                fail("clock_nanosleep");
            }
        }
        return 0;
    }
};

// One periodic timerfd armed at an absolute first deadline; a blocking read per wake-up.
class timerfd_mode : public wakeup_mode {
  public:
    explicit timerfd_mode(const run_config& config)
        : wakeup_mode(config), fd_(::timerfd_create(static_cast<int>(config.clock), TFD_CLOEXEC)) {
        if (!fd_.valid()) {
            fail("timerfd_create");
        }
    }

  protected:
    void start(std::chrono::nanoseconds first) override {
        itimerspec spec{to_timespec(config().period), to_timespec(first)};
        if (::timerfd_settime(fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
            fail("timerfd_settime");
        }
    }
    std::uint64_t wait(std::chrono::nanoseconds) override { return read_count(); }
    void stop() override {
        itimerspec off{};
        if (::timerfd_settime(fd_.get(), 0, &off, nullptr) != 0) {
            fail("timerfd_settime (disarm)");
        }
    }
    std::uint64_t read_count() {
        std::uint64_t count = 0;
        while (::read(fd_.get(), &count, sizeof count) != sizeof count) {
            if (errno != EINTR) {
                fail("read (timerfd)");
            }
        }
        return count;
    }
    // Arms the timer to expire once, at `deadline`.
    void arm_once(std::chrono::nanoseconds deadline) {
        itimerspec spec{{0, 0}, to_timespec(deadline)};
        if (::timerfd_settime(fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
            fail("timerfd_settime");
        }
    }
    int fd() const noexcept { return fd_.get(); }

  private:
    unique_fd fd_;
};

// A timerfd re-armed one-shot (TFD_TIMER_ABSTIME) for each deadline before the read, as an
// event loop arms its timer descriptor.  Compared with `timerfd` it shows what the periodic
// timer's re-arm costs: the kernel re-arms a periodic timerfd inside read(), after the
// wake-up, so that cost lands in the measured lateness; here it is paid before sleeping.
class timerfd_oneshot_mode final : public timerfd_mode {
  public:
    using timerfd_mode::timerfd_mode;

  private:
    void start(std::chrono::nanoseconds) override {}
    std::uint64_t wait(std::chrono::nanoseconds deadline) override {
        arm_once(deadline);
        read_count();
        return 0;  // a one-shot timer counts one expiry; the periods come from the time
    }
};

// A timerfd armed one-shot for each deadline and waited for with epoll_wait(-1) before the
// read: exactly what tfd's event loop does with its timer descriptor, minus the loop.
class timerfd_epoll_mode final : public timerfd_mode {
  public:
    // `read_after_wait` false: skip the read, since re-arming with timerfd_settime() also
    // clears the expiration count and the readiness.  That takes one system call out of the
    // path between the wake-up and the caller, which a loop that re-arms anyway could do.
    timerfd_epoll_mode(const run_config& config, bool read_after_wait)
        : timerfd_mode(config),
          epoll_(::epoll_create1(EPOLL_CLOEXEC)),
          read_after_wait_(read_after_wait) {
        if (!epoll_.valid()) {
            fail("epoll_create1");
        }
        epoll_event event{};
        event.events = EPOLLIN;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd(), &event) != 0) {
            fail("epoll_ctl");
        }
    }

  private:
    void start(std::chrono::nanoseconds) override {}
    std::uint64_t wait(std::chrono::nanoseconds deadline) override {
        arm_once(deadline);
        epoll_event event{};
        while (::epoll_wait(epoll_.get(), &event, 1, -1) != 1) {
            if (errno != EINTR) {
                fail("epoll_wait");
            }
        }
        if (read_after_wait_) {
            read_count();
        }
        return 0;  // one-shot: the periods come from the time
    }

    unique_fd epoll_;
    bool read_after_wait_;
};

// No timerfd at all: epoll_pwait2(2) with the time left to the deadline as its timeout (on
// an epoll set with nothing in it).  The kernel then sleeps on an hrtimer that wakes the
// thread directly, as clock_nanosleep does, instead of going through the timerfd's wait
// queue and epoll's callback.  Like clock_nanosleep it pays timer slack (the larger of the
// thread's slack and 0.1% of the timeout; none for realtime threads), and it only measures
// CLOCK_MONOTONIC.
class epoll_timeout_mode final : public wakeup_mode {
  public:
    explicit epoll_timeout_mode(const run_config& config)
        : wakeup_mode(config), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (!epoll_.valid()) {
            fail("epoll_create1");
        }
    }

  private:
    void start(std::chrono::nanoseconds) override {}
    std::uint64_t wait(std::chrono::nanoseconds deadline) override {
        // The timeout is relative, measured from a clock read taken before the call, so the
        // wait can only end late, never early; a wake-up before the deadline (a signal)
        // just waits again for what is left.
        for (;;) {
            std::chrono::nanoseconds left = deadline - read_clock(clock_id::monotonic);
            if (left.count() <= 0) {
                return 0;
            }
            timespec timeout = to_timespec(left);
            epoll_event event{};
            if (::epoll_pwait2(epoll_.get(), &event, 1, &timeout, nullptr) < 0 && errno != EINTR) {
                fail("epoll_pwait2");
            }
        }
    }

    unique_fd epoll_;
};

// Spin-finish: the timerfd wakes `spin_margin` before each deadline and the thread
// busy-waits on the clock for the rest.  Trades CPU time (about margin / period of a core,
// plus the wake-up lateness) for precision: the lateness left is the clock read's.
class timerfd_spin_mode final : public timerfd_mode {
  public:
    using timerfd_mode::timerfd_mode;

  private:
    void start(std::chrono::nanoseconds first) override {
        timerfd_mode::start(first - config().spin_margin);
    }
    std::uint64_t wait(std::chrono::nanoseconds deadline) override {
        std::uint64_t count = read_count();
        const clock_id clock = base_clock(config().clock);
        while (read_clock(clock) < deadline) {
            // Busy-wait: sleeping again would pay the wake-up latency this mode avoids.
        }
        return count;
    }
};

// tfd::timer_fd: the library's owner type, blocking read.
class timer_fd_mode final : public wakeup_mode {
  public:
    explicit timer_fd_mode(const run_config& config) : wakeup_mode(config), timer_(config.clock) {}

  private:
    void start(std::chrono::nanoseconds first) override {
        timer_.settime(first, config().period, set_flags::absolute);
    }
    std::uint64_t wait(std::chrono::nanoseconds) override {
        for (;;) {
            read_result result = timer_.read();
            if (result.expired()) {
                return result.count;
            }
        }
    }
    void stop() override { timer_.disarm(); }

    timer_fd timer_;
};

}  // namespace

std::chrono::nanoseconds read_clock(clock_id clock) noexcept {
    timespec now{};
    ::clock_gettime(static_cast<int>(clock), &now);
    return std::chrono::nanoseconds(now.tv_sec * 1'000'000'000LL + now.tv_nsec);
}

namespace {
std::chrono::nanoseconds thread_cpu_time() noexcept {
    timespec used{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used);
    return std::chrono::nanoseconds(used.tv_sec * 1'000'000'000LL + used.tv_nsec);
}
}  // namespace

cpu_meter::cpu_meter(std::optional<std::chrono::nanoseconds>& total) noexcept
    : total_(total), start_(thread_cpu_time()) {}

cpu_meter::~cpu_meter() {
    total_ = total_.value_or(std::chrono::nanoseconds(0)) + (thread_cpu_time() - start_);
}

void wakeup_mode::run_chunk(std::uint64_t periods, mode_stats& stats) {
    cpu_meter meter(stats.cpu);
    const std::chrono::nanoseconds period = config_.period;
    // The alarm clocks count in their base clock's time.
    const clock_id clock = base_clock(config_.clock);
    std::chrono::nanoseconds deadline = read_clock(clock) + period;
    start(deadline);
    // The first wake-up of a chunk warms up (caches, the first use of a descriptor) and is
    // not counted; every mode, cyclictest included, drops exactly that one.
    bool warm_up = true;
    std::uint64_t done = 0;
    while (done < periods) {
        std::uint64_t counted = wait(deadline);
        std::chrono::nanoseconds lateness = read_clock(clock) - deadline;
        std::uint64_t covered = counted != 0 ? counted : periods_covered(lateness, period);
        if (!std::exchange(warm_up, false)) {
            stats.add(lateness, covered);
            done += covered;
        }
        deadline += period * static_cast<std::int64_t>(covered);
    }
    stop();
}

std::unique_ptr<mode> make_nanosleep_mode(const run_config& config) {
    return std::make_unique<nanosleep_mode>(config);
}
std::unique_ptr<mode> make_timerfd_mode(const run_config& config) {
    return std::make_unique<timerfd_mode>(config);
}
std::unique_ptr<mode> make_timerfd_epoll_mode(const run_config& config) {
    return std::make_unique<timerfd_epoll_mode>(config, true);
}
std::unique_ptr<mode> make_timerfd_epoll_noread_mode(const run_config& config) {
    return std::make_unique<timerfd_epoll_mode>(config, false);
}
std::unique_ptr<mode> make_epoll_timeout_mode(const run_config& config) {
    return std::make_unique<epoll_timeout_mode>(config);
}
std::unique_ptr<mode> make_timerfd_oneshot_mode(const run_config& config) {
    return std::make_unique<timerfd_oneshot_mode>(config);
}
std::unique_ptr<mode> make_timerfd_spin_mode(const run_config& config) {
    return std::make_unique<timerfd_spin_mode>(config);
}
std::unique_ptr<mode> make_timer_fd_mode(const run_config& config) {
    return std::make_unique<timer_fd_mode>(config);
}

}  // namespace tfd::latency
