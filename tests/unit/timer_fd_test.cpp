#include "tfd/timer_fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <thread>

#include "support/fault_injection.hpp"
#include "support/fd_utils.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

// Returns the message a failing call threw, or "" if it did not throw.
template <class F>
std::string error_of(F&& call, int expected_errno) {
    try {
        call();
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), expected_errno) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "expected std::system_error with errno " << expected_errno;
    return "";
}

TEST(TimerFdCreate, EveryNonAlarmClock) {
    for (clock_id clock : {clock_id::realtime, clock_id::monotonic, clock_id::boottime}) {
        timer_fd timer(clock);
        EXPECT_TRUE(timer.is_open());
        EXPECT_EQ(timer.clock(), clock);
        EXPECT_EQ(timer.get(), timer_setting{});
    }
}

TEST(TimerFdCreate, AlarmClocksWhenPermitted) {
    // Without CAP_WAKE_ALARM these fail with EPERM; the capability-dropping child in
    // tests/integration/timer_fd_process_test.cpp covers that side.
    for (clock_id clock : {clock_id::realtime_alarm, clock_id::boottime_alarm}) {
        std::error_code ec;
        timer_fd timer = timer_fd::create(clock, open_flags::none, ec);
        if (ec == std::errc::operation_not_permitted) {
            GTEST_SKIP() << "no CAP_WAKE_ALARM here: " << ec.message();
        }
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_NO_THROW(timer.set(1h));
        EXPECT_GT(timer.get().initial, 59min);
    }
}

TEST(TimerFdCreate, CloseOnExecByDefaultWithOptOut) {
    timer_fd normal(clock_id::monotonic);
    EXPECT_NE(::fcntl(normal.native_handle(), F_GETFD) & FD_CLOEXEC, 0);
    timer_fd inherited(clock_id::monotonic, open_flags::inheritable);
    EXPECT_EQ(::fcntl(inherited.native_handle(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(TimerFdCreate, NonBlockingFlag) {
    timer_fd blocking(clock_id::monotonic);
    EXPECT_EQ(::fcntl(blocking.native_handle(), F_GETFL) & O_NONBLOCK, 0);
    timer_fd nonblocking(clock_id::monotonic, open_flags::nonblocking);
    EXPECT_NE(::fcntl(nonblocking.native_handle(), F_GETFL) & O_NONBLOCK, 0);
    EXPECT_EQ(nonblocking.read().status, read_status::would_block);
}

TEST(TimerFdCreate, BadClockNamesTheClock) {
    std::string what = error_of([] { timer_fd timer(static_cast<clock_id>(12345)); }, EINVAL);
    EXPECT_EQ(what, "timer_fd::create: clock=12345 (unknown): Invalid argument");
    std::error_code ec;
    timer_fd timer = timer_fd::create(static_cast<clock_id>(-1), open_flags::none, ec);
    EXPECT_EQ(ec, std::errc::invalid_argument);
    EXPECT_FALSE(timer.is_open());
}

TEST(TimerFdCreate, DescriptorExhaustionIsReported) {
    test::scoped_fault fault(sys::call::timerfd_create, -1, EMFILE);
    std::string what = error_of([] { timer_fd timer(clock_id::monotonic); }, EMFILE);
    EXPECT_EQ(what, "timer_fd::create: clock=monotonic (1): Too many open files");
}

// EPERM alone does not say why; for an alarm clock it is the missing capability.  Injected,
// so the test sees the refusal whether or not this process holds CAP_WAKE_ALARM.
TEST(TimerFdCreate, AlarmClockRefusalNamesTheCapability) {
    for (clock_id clock : {clock_id::realtime_alarm, clock_id::boottime_alarm}) {
        test::scoped_fault fault(sys::call::timerfd_create, -1, EPERM);
        std::string what = error_of([&] { timer_fd timer(clock); }, EPERM);
        std::string name(to_string(clock));
        EXPECT_EQ(what.rfind("timer_fd::create: clock=" + name + " (", 0), 0u) << what;
        EXPECT_NE(what.find("needs the CAP_WAKE_ALARM capability"), std::string::npos) << what;
    }
    // Other clocks never need it, so their EPERM is left as the kernel said it.
    test::scoped_fault fault(sys::call::timerfd_create, -1, EPERM);
    std::string what = error_of([] { timer_fd timer(clock_id::monotonic); }, EPERM);
    EXPECT_EQ(what, "timer_fd::create: clock=monotonic (1): Operation not permitted");
}

TEST(TimerFdSet, RelativeTimerReportsTimeLeftAndInterval) {
    timer_fd timer(clock_id::monotonic);
    timer_setting previous = timer.set(10s, 250ms);
    EXPECT_EQ(previous, timer_setting{});
    timer_setting now = timer.get();
    EXPECT_GT(now.initial, 9s);
    EXPECT_LE(now.initial, 10s);
    EXPECT_EQ(now.interval, 250ms);
}

TEST(TimerFdSet, ReturnsThePreviousSetting) {
    timer_fd timer(clock_id::monotonic);
    timer.set(100s, 1s);
    timer_setting previous = timer.set(5s);
    EXPECT_GT(previous.initial, 99s);
    EXPECT_EQ(previous.interval, 1s);
    previous = timer.disarm();
    EXPECT_GT(previous.initial, 4s);
    EXPECT_EQ(previous.interval, 0s);
    EXPECT_EQ(timer.get(), timer_setting{});
}

TEST(TimerFdSet, ZeroInitialDisarmsButKeepsTheInterval) {
    timer_fd timer(clock_id::monotonic, open_flags::nonblocking);
    timer.set(0s, 1s);
    EXPECT_EQ(timer.get(), (timer_setting{0s, 1s}));
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(timer.read().status, read_status::would_block);
}

TEST(TimerFdSet, AnyDurationRepresentation) {
    timer_fd timer(clock_id::monotonic);
    timer.set(std::chrono::duration<double>(100.5), std::chrono::duration<float, std::milli>(1.5f));
    EXPECT_EQ(timer.get().interval, 1500us);
    timer.set(std::chrono::minutes(2), std::chrono::duration<long long, std::pico>(1'999));
    EXPECT_EQ(timer.get().interval, 1ns);
    EXPECT_GT(timer.get().initial, 119s);
}

TEST(TimerFdSet, NegativeValuesNameTheOffendingValue) {
    timer_fd timer(clock_id::monotonic);
    EXPECT_EQ(error_of([&] { timer.set(-1s); }, EINVAL),
              "timer_fd::set: initial=-1s: Invalid argument");
    EXPECT_EQ(error_of([&] { timer.set(1s, -250ms); }, EINVAL),
              "timer_fd::set: interval=-250ms: Invalid argument");
    EXPECT_EQ(error_of([&] { timer.set(std::chrono::duration<double>(-1e-10)); }, EINVAL),
              "timer_fd::set: initial=-1ns: Invalid argument");
    // The failed calls left the timer untouched.
    EXPECT_EQ(timer.get(), timer_setting{});
}

TEST(TimerFdSet, ValuesOutsideSixtyFourBitNanosecondsOverflow) {
    timer_fd timer(clock_id::monotonic);
    EXPECT_EQ(error_of([&] { timer.set(std::chrono::hours(3'000'000)); }, EOVERFLOW),
              "timer_fd::set: initial=10800000000s does not fit in 64-bit nanoseconds: "
              "Value too large for defined data type");
    std::string nan = error_of(
        [&] {
            timer.set(1s, std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN()));
        },
        EOVERFLOW);
    EXPECT_EQ(nan.rfind("timer_fd::set: interval=nan", 0), 0u) << nan;
    error_of(
        [&] { timer.set(std::chrono::duration<double>(std::numeric_limits<double>::infinity())); },
        EOVERFLOW);
    EXPECT_EQ(timer.get(), timer_setting{});
}

TEST(TimerFdSet, ErrorCodeOverloadDoesNotThrow) {
    timer_fd timer(clock_id::monotonic);
    std::error_code ec;
    timer.settime(-1ns, 0ns, set_flags::none, ec);
    EXPECT_EQ(ec, std::errc::invalid_argument);
    timer.settime(1s, 0ns, set_flags::none, ec);
    EXPECT_FALSE(ec);
    timer_setting previous = timer.disarm(ec);
    EXPECT_FALSE(ec);
    EXPECT_GT(previous.initial, 0ns);
}

TEST(TimerFdSet, UnknownFlagBitsReachTheKernel) {
    timer_fd timer(clock_id::monotonic);
    std::string what =
        error_of([&] { timer.settime(1s, 0s, static_cast<set_flags>(1u << 5)); }, EINVAL);
    EXPECT_EQ(what, "timer_fd::settime: fd=" + std::to_string(timer.native_handle()) +
                        " initial=1s interval=0s flags=0x20: Invalid argument");
}

TEST(TimerFdSet, KernelChecksTimesBeforeTheDescriptor) {
    // A bad descriptor with a bad time is EINVAL; with a good time it is EBADF.  The number
    // is one that was just closed rather than -1, which valgrind rejects before the kernel
    // sees it.
    int stale = ::dup(STDERR_FILENO);
    ASSERT_GE(stale, 0);
    ::close(stale);
    timer_fd closed = timer_fd::adopt(stale, clock_id::monotonic);
    EXPECT_EQ(error_of([&] { closed.set(-1s); }, EINVAL),
              "timer_fd::set: initial=-1s: Invalid argument");
    EXPECT_EQ(error_of([&] { closed.set(1s); }, EBADF),
              "timer_fd::set: fd=" + std::to_string(stale) + ": Bad file descriptor");
    (void)closed.release();
}

TEST(TimerFdSetAt, AbsoluteDeadlineAndRelativeGet) {
    timer_fd timer(clock_id::monotonic);
    timer.set_at(monotonic_clock::now() + 10s);
    // get() is relative even though the timer was armed with an absolute time.
    timer_setting now = timer.get();
    EXPECT_GT(now.initial, 9s);
    EXPECT_LE(now.initial, 10s);
}

TEST(TimerFdSetAt, StandardChronoClocks) {
    timer_fd wall(clock_id::realtime);
    wall.set_at(std::chrono::system_clock::now() + 30s, 1s);
    EXPECT_GT(wall.get().initial, 29s);
    timer_fd steady(clock_id::monotonic);
    steady.set_at(std::chrono::steady_clock::now() + 30s);
    EXPECT_GT(steady.get().initial, 29s);
    timer_fd boot(clock_id::boottime);
    boot.set_at(boottime_clock::now() + 30s);
    EXPECT_GT(boot.get().initial, 29s);
}

TEST(TimerFdSetAt, DeadlineOnAnotherClockIsRejected) {
    timer_fd timer(clock_id::monotonic);
    EXPECT_EQ(error_of([&] { timer.set_at(realtime_clock::now() + 1s); }, EINVAL),
              "timer_fd::set_at: deadline is on the realtime clock, timer is on monotonic: Invalid "
              "argument");
}

TEST(TimerFdSetAt, PastDeadlineExpiresAtOnce) {
    timer_fd timer(clock_id::monotonic);
    timer.set_at(monotonic_clock::now() - 1s);
    read_result result = timer.read();
    EXPECT_TRUE(result.expired());
    EXPECT_EQ(result.count, 1u);
}

TEST(TimerFdRead, BlockingReadWaitsForTheExpiry) {
    timer_fd timer(clock_id::monotonic);
    auto start = std::chrono::steady_clock::now();
    timer.set(30ms);
    read_result result = timer.read();
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(result.status, read_status::expired);
    EXPECT_EQ(result.count, 1u);
    EXPECT_GE(waited, 30ms);  // never early
}

TEST(TimerFdRead, UnreadPeriodicTimerCountsEveryPeriod) {
    timer_fd timer(clock_id::monotonic);
    timer.set(1ms, 1ms);
    std::this_thread::sleep_for(60ms);
    read_result result = timer.read();
    EXPECT_TRUE(result.expired());
    EXPECT_GE(result.count, 30u);  // 60 periods elapsed; generous for a loaded machine
}

TEST(TimerFdRead, RearmingZeroesPendingExpirations) {
    timer_fd timer(clock_id::monotonic, open_flags::nonblocking);
    timer.set(1ms);
    std::this_thread::sleep_for(20ms);
    timer.set(1h);
    EXPECT_EQ(timer.read().status, read_status::would_block);
}

TEST(TimerFdRead, RetriesWhenInterrupted) {
    timer_fd timer(clock_id::monotonic);
    timer.set(5ms);
    test::scoped_fault fault(sys::call::read, -1, EINTR, 2);
    read_result result = timer.read();
    EXPECT_EQ(fault.fired(), 2);
    EXPECT_TRUE(result.expired());
}

TEST(TimerFdRead, ZeroByteReadIsNoExpiration) {
    timer_fd timer(clock_id::realtime);
    test::scoped_fault fault(sys::call::read, 0, 0);
    EXPECT_EQ(timer.read().status, read_status::no_expiration);
}

TEST(TimerFdRead, CancelledIsAnOutcomeNotAnError) {
    timer_fd timer(clock_id::realtime);
    test::scoped_fault fault(sys::call::read, -1, ECANCELED);
    std::error_code ec;
    read_result result = timer.read(ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(result.status, read_status::cancelled);
    EXPECT_EQ(result.count, 0u);
}

TEST(TimerFdRead, ClockChangeCancelsAnAbsoluteRealtimeTimer) {
    timer_fd timer(clock_id::realtime, open_flags::nonblocking);
    timer.set_at(realtime_clock::now() + 1h, 0s, set_flags::cancel_on_set);
    // Setting the clock to (about) its own value is a discontinuous change to the kernel.
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    if (::clock_settime(CLOCK_REALTIME, &now) != 0) {
        GTEST_SKIP() << "cannot set CLOCK_REALTIME here (" << std::strerror(errno)
                     << "); the injected-ECANCELED test covers the outcome";
    }
    EXPECT_EQ(timer.read().status, read_status::cancelled);
}

TEST(TimerFdRead, RealErrorsThrowWithTheDescriptor) {
    timer_fd timer = timer_fd::adopt(-1, clock_id::monotonic);
    EXPECT_EQ(error_of([&] { timer.read(); }, EBADF), "timer_fd::read: fd=-1: Bad file descriptor");
    std::error_code ec;
    timer.read(ec);
    EXPECT_EQ(ec, std::errc::bad_file_descriptor);
}

TEST(TimerFdGet, ErrorsNameTheDescriptor) {
    timer_fd timer;
    EXPECT_EQ(error_of([&] { (void)timer.get(); }, EBADF),
              "timer_fd::get: fd=-1: Bad file descriptor");
    std::error_code ec;
    (void)timer.get(ec);
    EXPECT_EQ(ec, std::errc::bad_file_descriptor);
}

TEST(TimerFdSetTicks, SetsTheExpirationCount) {
    timer_fd timer(clock_id::monotonic, open_flags::nonblocking);
    std::error_code ec;
    timer.set_ticks(5, ec);
    if (ec == std::errc::inappropriate_io_control_operation) {
        GTEST_SKIP()
            << "kernel built without CONFIG_CHECKPOINT_RESTORE (TFD_IOC_SET_TICKS: ENOTTY)";
    }
    ASSERT_FALSE(ec) << ec.message();
    read_result result = timer.read();
    EXPECT_TRUE(result.expired());
    EXPECT_EQ(result.count, 5u);
    EXPECT_EQ(error_of([&] { timer.set_ticks(0); }, EINVAL),
              "timer_fd::set_ticks: fd=" + std::to_string(timer.native_handle()) +
                  " ticks=0: Invalid argument");
}

TEST(TimerFdOwnership, MoveReleaseAndDestructor) {
    timer_fd a(clock_id::monotonic);
    int raw = a.native_handle();
    timer_fd b(std::move(a));
    EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(b.native_handle(), raw);
    int released = b.release();
    EXPECT_EQ(released, raw);
    EXPECT_FALSE(b.is_open());
    {
        timer_fd owner = timer_fd::adopt(released, clock_id::monotonic);
        EXPECT_TRUE(test::fd_is_open(raw));
    }
    EXPECT_FALSE(test::fd_is_open(raw));
}

TEST(TimerFdOwnership, CloseReportsErrors) {
    timer_fd timer(clock_id::monotonic);
    int raw = timer.native_handle();
    timer.close();
    EXPECT_FALSE(timer.is_open());
    EXPECT_FALSE(test::fd_is_open(raw));
    timer_fd stale = timer_fd::adopt(::dup(STDERR_FILENO), clock_id::monotonic);
    int stale_fd = stale.native_handle();
    ::close(stale_fd);
    EXPECT_EQ(error_of([&] { stale.close(); }, EBADF),
              "timer_fd::close: fd=" + std::to_string(stale_fd) + ": Bad file descriptor");
    std::error_code ec;
    stale.close(ec);  // already empty: nothing to do
    EXPECT_FALSE(ec);
}

}  // namespace
}  // namespace tfd
