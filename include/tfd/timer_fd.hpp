// tfd::timer_fd: a safe, zero-overhead owner of a Linux timer file descriptor.
//
// Kernel facts this class relies on and passes through unchanged (each is covered by
// tests/unit/timer_fd_test.cpp or tests/integration/timer_fd_process_test.cpp):
//
//  * A zero initial value disarms the timer, but the kernel still stores the interval:
//    get() afterwards reports {0, interval}.
//  * get() is always relative (time left until the next expiry), even for a timer armed
//    with an absolute deadline.
//  * Re-arming (or disarming) zeroes the count of expirations not yet read.
//  * A periodic timer that nobody reads keeps counting: the next read() returns every
//    period that elapsed, so no expiry is ever lost.
//  * timerfd_settime(2) validates the time values and flags before it looks up the
//    descriptor: a bad descriptor with a negative time fails with EINVAL, not EBADF.
//  * The alarm clocks need CAP_WAKE_ALARM; without it creation fails with EPERM.
//  * The descriptor is an ordinary file: a forked child shares the very same timer (a read
//    in one process consumes the expirations for both); close-on-exec, on by default here,
//    closes it in the new program.
//  * With cancel_on_set on an absolute realtime timer, a discontinuous change of the wall
//    clock makes read() report `cancelled` (ECANCELED) until the timer is re-armed.
//  * A read can return 0 bytes: when a periodic realtime timer's expiry is pending and the
//    clock is then set backwards, the kernel recomputes the overrun count as zero.  read()
//    reports this as `no_expiration`, not as an error.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <cstdint>
#include <system_error>

#include "tfd/clock.hpp"
#include "tfd/time_convert.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd {

// Flags for creating a timer.
enum class open_flags : unsigned {
    none = 0,
    nonblocking = 1u << 0,  // TFD_NONBLOCK: read() never waits.
    inheritable = 1u << 1,  // Omit TFD_CLOEXEC: the descriptor survives execve(2).
};

// Flags for arming a timer.
enum class set_flags : unsigned {
    none = 0,
    absolute = 1u << 0,       // TFD_TIMER_ABSTIME: `initial` is a point on the timer's clock.
    cancel_on_set = 1u << 1,  // TFD_TIMER_CANCEL_ON_SET: only with absolute realtime timers.
};

constexpr open_flags operator|(open_flags a, open_flags b) noexcept {
    return static_cast<open_flags>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr set_flags operator|(set_flags a, set_flags b) noexcept {
    return static_cast<set_flags>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr bool has(open_flags set, open_flags flag) noexcept {
    return (static_cast<unsigned>(set) & static_cast<unsigned>(flag)) != 0;
}
constexpr bool has(set_flags set, set_flags flag) noexcept {
    return (static_cast<unsigned>(set) & static_cast<unsigned>(flag)) != 0;
}

// A timer's setting as the kernel reports it: `initial` is the time until the next expiry
// (zero when disarmed), `interval` the period (zero for a one-shot timer).
struct timer_setting {
    std::chrono::nanoseconds initial{0};
    std::chrono::nanoseconds interval{0};
    friend constexpr bool operator==(const timer_setting&, const timer_setting&) = default;
};

// What a read() found.  Only `expired` carries a count; the others are outcomes a caller
// must handle, not errors.
enum class read_status : unsigned char {
    expired,        // count >= 1 expirations since the last read or arm.
    would_block,    // Non-blocking timer with nothing pending (EAGAIN).
    cancelled,      // The realtime clock was set (cancel_on_set): re-evaluate and re-arm.
    no_expiration,  // The kernel returned 0 bytes: a clock jump undid the pending expiry.
};

struct read_result {
    read_status status = read_status::would_block;
    std::uint64_t count = 0;  // Non-zero only when status == expired.
    [[nodiscard]] constexpr bool expired() const noexcept { return status == read_status::expired; }
};

// Owns one timer file descriptor.  Move-only; the destructor closes it and never throws;
// close() reports errors.  Every call that can fail throws std::system_error carrying the
// errno and a message naming the operation and the offending value, and has a noexcept
// overload that reports through a std::error_code& instead.
class timer_fd {
  public:
    // An empty object that owns no descriptor.
    timer_fd() noexcept = default;

    // Creates a timer on `clock`.  Close-on-exec unless `open_flags::inheritable`.
    explicit timer_fd(clock_id clock, open_flags flags = open_flags::none);
    // Non-throwing creation: on failure `ec` is set and the result is empty.
    [[nodiscard]] static timer_fd create(clock_id clock, open_flags flags,
                                         std::error_code& ec) noexcept;
    // Takes ownership of an existing timer descriptor running on `clock`.
    [[nodiscard]] static timer_fd adopt(int fd, clock_id clock) noexcept;

    timer_fd(timer_fd&&) noexcept = default;
    timer_fd& operator=(timer_fd&&) noexcept = default;
    ~timer_fd() = default;

    // Arms the timer to expire after `initial`, then every `interval` (zero: once).  A zero
    // `initial` disarms.  Durations of any representation are converted to integer
    // nanoseconds (floating-point ones rounded down); a value that does not fit fails with
    // EOVERFLOW.  Returns the previous setting.
    template <class Rep1, class Period1, class Rep2 = std::int64_t, class Period2 = std::nano>
    timer_setting set(std::chrono::duration<Rep1, Period1> initial,
                      std::chrono::duration<Rep2, Period2> interval = {},
                      set_flags flags = set_flags::none) {
        return arm("set", convert("set", "initial", initial), convert("set", "interval", interval),
                   flags);
    }

    // Arms the timer to expire at `deadline`, a point on the timer's own clock (a
    // realtime_clock, system_clock, monotonic_clock, steady_clock or boottime_clock point;
    // the alarm clocks take the points of their base clock).  A deadline on another clock
    // fails with EINVAL.  A deadline already past expires at once.
    template <class Clock, class Duration, class Rep2 = std::int64_t, class Period2 = std::nano>
    timer_setting set_at(std::chrono::time_point<Clock, Duration> deadline,
                         std::chrono::duration<Rep2, Period2> interval = {},
                         set_flags flags = set_flags::none) {
        check_clock("set_at", clock_of<Clock>::value);
        return arm("set_at", convert("set_at", "deadline", deadline.time_since_epoch()),
                   convert("set_at", "interval", interval), flags | set_flags::absolute);
    }

    // The primitive the two calls above reduce to: timerfd_settime(2) with integer
    // nanoseconds.  With set_flags::absolute, `initial` is measured from the clock's epoch.
    timer_setting settime(std::chrono::nanoseconds initial, std::chrono::nanoseconds interval,
                          set_flags flags = set_flags::none);
    timer_setting settime(std::chrono::nanoseconds initial, std::chrono::nanoseconds interval,
                          set_flags flags, std::error_code& ec) noexcept;

    // Stops the timer and drops pending expirations; returns the previous setting.
    timer_setting disarm();
    timer_setting disarm(std::error_code& ec) noexcept;

    // Time until the next expiry (zero if disarmed) and the interval.
    [[nodiscard]] timer_setting get() const;
    [[nodiscard]] timer_setting get(std::error_code& ec) const noexcept;

    // Reads the expiration count.  A blocking timer waits for the next expiry, retrying
    // when a signal interrupts the wait (EINTR).
    read_result read();
    read_result read(std::error_code& ec) noexcept;

    // Sets the expiration count to `ticks` and wakes readers (TFD_IOC_SET_TICKS, meant for
    // checkpoint/restore).  Fails with ENOTTY on kernels built without
    // CONFIG_CHECKPOINT_RESTORE and with EINVAL for zero.
    void set_ticks(std::uint64_t ticks);
    void set_ticks(std::uint64_t ticks, std::error_code& ec) noexcept;

    // Closes the descriptor and reports close(2)'s error; the object is empty afterwards.
    void close();
    void close(std::error_code& ec) noexcept;

    [[nodiscard]] int native_handle() const noexcept { return fd_.get(); }
    [[nodiscard]] bool is_open() const noexcept { return fd_.valid(); }
    explicit operator bool() const noexcept { return is_open(); }
    [[nodiscard]] clock_id clock() const noexcept { return clock_; }
    // Gives up ownership and returns the descriptor; the object becomes empty.
    [[nodiscard]] int release() noexcept { return fd_.release(); }

  private:
    timer_fd(unique_fd fd, clock_id clock) noexcept : fd_(std::move(fd)), clock_(clock) {}

    template <class Rep, class Period>
    static std::chrono::nanoseconds convert(const char* operation, const char* what,
                                            std::chrono::duration<Rep, Period> value) {
        if (auto ns = to_nanoseconds(value)) {
            return *ns;
        }
        throw_out_of_range(operation, what, static_cast<long double>(value.count()),
                           static_cast<long double>(Period::num) / Period::den);
    }
    [[noreturn]] static void throw_out_of_range(const char* operation, const char* what,
                                                long double count, long double unit_seconds);
    void check_clock(const char* operation, clock_id point_clock) const;
    timer_setting arm(const char* operation, std::chrono::nanoseconds initial,
                      std::chrono::nanoseconds interval, set_flags flags);

    unique_fd fd_;
    clock_id clock_ = clock_id::monotonic;
};

}  // namespace tfd
