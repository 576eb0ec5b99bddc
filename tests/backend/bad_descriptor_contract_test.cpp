// Contract: bad descriptors are refused or reported the same way on every backend, once
// (the rules are written in src/backend/backend.hpp).
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <system_error>

#include "backend/contract.hpp"
#include "support/watchdog.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;

class BadDescriptorContract : public loop_contract {
  protected:
    // The message of the std::system_error `call` throws, after checking its error code.
    template <class F>
    static std::string error_of(F&& call, int expected) {
        try {
            call();
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code().value(), expected) << e.what();
            return e.what();
        }
        ADD_FAILURE() << "no exception";
        return {};
    }

    [[nodiscard]] std::string name() const { return std::string(to_string(GetParam())); }
};
TFD_ALL_BACKENDS(BadDescriptorContract);

// A descriptor number that is certainly not open: the one just given back.
int unused_number() {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    ::close(fd);
    return fd;
}

TEST_P(BadDescriptorContract, WatchingANeverOpenedDescriptorFailsWithEbadf) {
    int number = unused_number();
    std::string what = error_of(
        [&] { fd_watcher w = loop.watch(number, io_events::readable, [](io_events) {}); }, EBADF);
    EXPECT_NE(
        what.find(name() + "::add: fd=" + std::to_string(number) + " is not an open descriptor"),
        std::string::npos)
        << what;
    // Nothing was left behind: the same number, once open, can be watched.
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    int calls = 0;
    fd_watcher w = loop.watch(a.get(), io_events::writable, [&](io_events) { ++calls; });
    loop.run_once();
    EXPECT_EQ(calls, 1);
}

TEST_P(BadDescriptorContract, WatchingARegularFileFailsWithEpermSayingWhy) {
    char path[] = "/tmp/tfd_bad_descriptor_XXXXXX";
    unique_fd file(::mkstemp(path));
    ASSERT_TRUE(file.valid());
    ::unlink(path);
    std::string what = error_of(
        [&] { fd_watcher w = loop.watch(file.get(), io_events::readable, [](io_events) {}); },
        EPERM);
    EXPECT_NE(what.find(name() + "::add: fd=" + std::to_string(file.get()) +
                        " is a regular file, which epoll cannot watch"),
              std::string::npos)
        << what;
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST_P(BadDescriptorContract, WatchingADirectoryFailsWithEperm) {
    unique_fd dir(::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir.valid());
    std::string what = error_of(
        [&] { fd_watcher w = loop.watch(dir.get(), io_events::readable, [](io_events) {}); },
        EPERM);
    EXPECT_NE(what.find("is a directory"), std::string::npos) << what;
}

// poll and select would report /dev/null ready at every wait; epoll refuses it, so all do.
TEST_P(BadDescriptorContract, WatchingDevNullFailsWithEperm) {
    unique_fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(null.valid());
    std::string what = error_of(
        [&] { fd_watcher w = loop.watch(null.get(), io_events::readable, [](io_events) {}); },
        EPERM);
    EXPECT_NE(what.find("is a character device without readiness to report"), std::string::npos)
        << what;
}

// The few regular files that support polling (here a procfs one, which reports mount table
// changes) are accepted by every backend, as epoll accepts them.
TEST_P(BadDescriptorContract, APollableRegularFileIsAcceptedByEveryBackend) {
    unique_fd mounts(::open("/proc/self/mounts", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(mounts.valid());
    fd_watcher w = loop.watch(mounts.get(), io_events::readable, [](io_events) {});
    EXPECT_TRUE(w.active());
}

// The poll backend used to report POLLNVAL at every wait (a busy loop) and select failed
// every wait naming fd=-1.  Now: one exception naming the descriptor, then quiet.
TEST_P(BadDescriptorContract, ClosedWatchedDescriptorIsReportedOnceNamingIt) {
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    int calls = 0;
    fd_watcher w = loop.watch(a.get(), io_events::readable, [&](io_events) { ++calls; });
    int ticks = 0;
    // Made before the close, so the loop's timer_fd cannot take the closed number.
    timer_watcher tick = loop.every(20ms, [&](std::uint64_t) { ++ticks; });
    int number = a.get();
    a.reset();  // closed without stopping its watcher

    int reports = 0;
    std::string what;
    auto give_up = std::chrono::steady_clock::now() + 10s;
    std::chrono::steady_clock::time_point first_report{};
    while (std::chrono::steady_clock::now() < give_up) {
        try {
            loop.run_for(50ms);
        } catch (const std::system_error& e) {
            ++reports;
            what = e.what();
            EXPECT_EQ(e.code().value(), EBADF) << what;
            first_report = std::chrono::steady_clock::now();
        }
        if (reports > 0 && std::chrono::steady_clock::now() - first_report > 300ms) {
            break;
        }
    }
    EXPECT_EQ(reports, 1);
    EXPECT_NE(
        what.find(name() + "::wait: fd=" + std::to_string(number) + " was closed while watched"),
        std::string::npos)
        << what;
    EXPECT_EQ(calls, 0) << "the watcher of the closed descriptor was called";
    EXPECT_GT(ticks, 5) << "the loop must keep running its other watchers";

    // The watcher no longer counts as active (it will never deliver again), but changing or
    // starting it says why it cannot be; stopping works.
    EXPECT_FALSE(w.active());
    EXPECT_EQ(loop.active_watchers(), 1u);  // the tick
    std::string started = error_of([&] { w.start(); }, EBADF);
    EXPECT_NE(started.find("fd_watcher::start: fd=" + std::to_string(number) +
                           " was closed while watched"),
              std::string::npos)
        << started;
    std::string changed = error_of([&] { w.set_interest(io_events::writable); }, EBADF);
    EXPECT_NE(changed.find(name() + "::modify: fd=" + std::to_string(number) +
                           " was closed while watched"),
              std::string::npos)
        << changed;
    w.stop();
    EXPECT_EQ(loop.active_watchers(), 1u);  // the tick
    loop.run_for(50ms);                     // and no further report
}

// A closed descriptor whose file lives on in a duplicate: epoll keeps reporting that file
// under the old number until the backend notices; every backend reports it once and then
// lets the loop sleep.
// Once reported, a closed descriptor's watcher no longer keeps the loop alive: run() ends
// when the rest is done instead of waiting forever for it.  (epoll checks its registrations
// when it wakes, at most once a second: the timer wakes it after the check is due.)
TEST_P(BadDescriptorContract, ReportedClosedWatcherNoLongerKeepsTheLoopRunning) {
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    fd_watcher w = loop.watch(a.get(), io_events::readable, [](io_events) {});
    int fired = 0;
    timer_watcher wake = loop.after(1500ms, [&] { ++fired; });
    a.reset();
    test::watchdog guard(std::chrono::seconds(30));
    EXPECT_THROW(loop.run(), std::system_error);  // the report
    EXPECT_FALSE(w.active());
    EXPECT_LE(loop.active_watchers(), 1u);  // the timer, if it has not run yet
    loop.run();                             // returns once the timer has run
    EXPECT_EQ(fired, 1);
    EXPECT_EQ(loop.active_watchers(), 0u);
    w.stop();
}

TEST_P(BadDescriptorContract, ClosedDescriptorWhoseFileLivesOnIsReportedOnce) {
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    unique_fd& b = a_b.second;
    fd_watcher w = loop.watch(a.get(), io_events::readable, [](io_events) {});
    timer_watcher tick = loop.every(20ms, [](std::uint64_t) {});
    unique_fd keep(::fcntl(a.get(), F_DUPFD_CLOEXEC, 100));
    ASSERT_TRUE(keep.valid());
    a.reset();
    send_byte(b);  // the file is readable from now on, and stays so

    int reports = 0;
    auto give_up = std::chrono::steady_clock::now() + 10s;
    while (reports == 0 && std::chrono::steady_clock::now() < give_up) {
        try {
            loop.run_for(50ms);
        } catch (const std::system_error& e) {
            ++reports;
            EXPECT_EQ(e.code().value(), EBADF) << e.what();
        }
    }
    ASSERT_EQ(reports, 1);
    w.stop();
    // Quiet from now on: a stale registration would make every wait return at once.
    int passes = 0;
    auto end = std::chrono::steady_clock::now() + 200ms;
    while (std::chrono::steady_clock::now() < end) {
        loop.run_once();
        ++passes;
    }
    EXPECT_LT(passes, 50) << "the loop spins on the closed descriptor's file";
}

}  // namespace
}  // namespace tfd::test
