#include "tfd/readiness.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <limits>
#include <memory>
#include <stop_token>
#include <string>

#include "tfd/task.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

struct socket_pair {
    unique_fd a, b;
    socket_pair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        a.reset(fds[0]);
        b.reset(fds[1]);
    }
};

class CoroReadiness : public ::testing::TestWithParam<backend_kind> {};

TEST_P(CoroReadiness, ReadableResumesWhenDataArrivesAndUnregisters) {
    event_loop loop(GetParam());
    socket_pair pair;
    io_events seen = io_events::none;
    loop.spawn([](event_loop& l, int fd, io_events& out) -> task<> {
        out = co_await readable(l, fd);
    }(loop, pair.a.get(), seen));
    EXPECT_EQ(loop.active_watchers(), 1u);
    loop.run_for(1ms);
    EXPECT_EQ(seen, io_events::none);  // nothing yet
    ASSERT_EQ(::write(pair.b.get(), "x", 1), 1);
    loop.run();
    EXPECT_TRUE(any(seen, io_events::readable));
    EXPECT_EQ(loop.active_watchers(), 0u);
    // Registered per wait: the descriptor is free for another watcher now.
    fd_watcher again = loop.watch(pair.a.get(), io_events::readable, [](io_events) {});
}

TEST_P(CoroReadiness, WaitsAfterTheRegistrationWasDroppedStillSeeEvents) {
    event_loop loop(GetParam());
    socket_pair pair;
    int rounds = 0;
    loop.spawn([](event_loop& l, int fd, int& out) -> task<> {
        for (int i = 0; i < 3; ++i) {
            co_await readable(l, fd);
            char byte;
            EXPECT_EQ(::read(fd, &byte, 1), 1);
            ++out;
            co_await sleep_for(l, 1ms);  // back to the loop: the registration is dropped
            EXPECT_EQ(l.active_watchers(), 0u);
        }
    }(loop, pair.a.get(), rounds));
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(::write(pair.b.get(), "x", 1), 1);
        loop.run_for(20ms);
    }
    loop.run();
    EXPECT_EQ(rounds, 3);
}

TEST_P(CoroReadiness, WritableIsReadyOnAnEmptySocket) {
    event_loop loop(GetParam());
    socket_pair pair;
    io_events seen = io_events::none;
    loop.spawn([](event_loop& l, int fd, io_events& out) -> task<> {
        out = co_await writable(l, fd);
    }(loop, pair.a.get(), seen));
    loop.run();
    EXPECT_TRUE(any(seen, io_events::writable));
}

TEST_P(CoroReadiness, HangupIsReportedToAReader) {
    event_loop loop(GetParam());
    socket_pair pair;
    io_events seen = io_events::none;
    loop.spawn([](event_loop& l, int fd, io_events& out) -> task<> {
        out = co_await readable(l, fd);
    }(loop, pair.a.get(), seen));
    pair.b.reset();
    loop.run();
    EXPECT_NE(seen, io_events::none);
}

TEST_P(CoroReadiness, StopEndsTheWaitAndFreesTheDescriptor) {
    event_loop loop(GetParam());
    socket_pair pair;
    std::stop_source source;
    std::string outcome;
    loop.spawn([](event_loop& l, int fd, std::stop_token t, std::string& out) -> task<> {
        try {
            co_await readable(l, fd, t);
        } catch (const operation_cancelled& e) {
            out = e.what();
        }
    }(loop, pair.a.get(), source.get_token(), outcome));
    source.request_stop();
    EXPECT_EQ(outcome, "");  // never resumed inside request_stop()
    loop.run_until_idle();   // phase 6 delivers the stop
    EXPECT_EQ(outcome, "readable: Operation canceled");
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST_P(CoroReadiness, AReaderAndAWriterShareOneDescriptor) {
    event_loop loop(GetParam());
    socket_pair pair;
    io_events read_events = io_events::none;
    io_events write_events = io_events::none;
    loop.spawn([](event_loop& l, int fd, io_events& out) -> task<> {
        out = co_await readable(l, fd);
    }(loop, pair.a.get(), read_events));
    loop.spawn([](event_loop& l, int fd, io_events& out) -> task<> {
        out = co_await writable(l, fd);
    }(loop, pair.a.get(), write_events));
    EXPECT_EQ(loop.active_watchers(), 1u);  // one registration for both
    loop.run_for(1ms);
    EXPECT_TRUE(any(write_events, io_events::writable));
    EXPECT_EQ(read_events, io_events::none);
    ASSERT_EQ(::write(pair.b.get(), "x", 1), 1);
    loop.run();
    EXPECT_TRUE(any(read_events, io_events::readable));
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST_P(CoroReadiness, ASecondReaderGetsEbusy) {
    event_loop loop(GetParam());
    socket_pair pair;
    std::string what;
    loop.spawn(
        [](event_loop& l, int fd) -> task<> { co_await readable(l, fd); }(loop, pair.a.get()));
    loop.spawn([](event_loop& l, int fd, std::string& w) -> task<> {
        try {
            co_await readable(l, fd);
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::errc::device_or_resource_busy);
            w = e.what();
        }
    }(loop, pair.a.get(), what));
    EXPECT_NE(what.find("tfd::readable: fd=" + std::to_string(pair.a.get()) +
                        " already has a pending read wait"),
              std::string::npos)
        << what;
    ASSERT_EQ(::write(pair.b.get(), "x", 1), 1);
    loop.run();
}

TEST_P(CoroReadiness, ADescriptorWithAnotherWatcherGetsEexist) {
    event_loop loop(GetParam());
    socket_pair pair;
    fd_watcher other = loop.watch(pair.a.get(), io_events::readable, [](io_events) {});
    int code = 0;
    std::string what;
    loop.spawn([](event_loop& l, int fd, int& c, std::string& w) -> task<> {
        try {
            co_await readable(l, fd);
        } catch (const std::system_error& e) {
            c = e.code().value();
            w = e.what();
        }
    }(loop, pair.a.get(), code, what));
    EXPECT_EQ(code, EEXIST);
    EXPECT_EQ(what, "tfd::readable: fd=" + std::to_string(pair.a.get()) +
                        " has an fd_watcher of its own (a descriptor is awaited or watched, not "
                        "both): File exists");
}

TEST(CoroReadinessArguments, NegativeDescriptorIsRefused) {
    event_loop loop;
    try {
        (void)readable(loop, -1);
        ADD_FAILURE() << "fd=-1 accepted";
    } catch (const std::system_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "tfd::readable: fd=-1 is not a descriptor: Bad file descriptor");
    }
    try {
        (void)writable(loop, -1);
        ADD_FAILURE() << "fd=-1 accepted";
    } catch (const std::system_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "tfd::writable: fd=-1 is not a descriptor: Bad file descriptor");
    }
    EXPECT_THROW(release_waits(loop, -1), std::system_error);
}

// A number no descriptor has is refused before the loop's tables grow to hold it: a stray
// 1 << 30 would otherwise cost gigabytes (or std::bad_alloc) before any later check.
TEST(CoroReadinessArguments, ANumberThatIsNotOpenIsRefusedBeforeAnyTableGrows) {
    event_loop loop;
    for (int fd : {1 << 30, 100'000'000, std::numeric_limits<int>::max()}) {
        for (bool read : {true, false}) {
            const char* operation = read ? "tfd::readable" : "tfd::writable";
            try {
                if (read) {
                    (void)readable(loop, fd);
                } else {
                    (void)writable(loop, fd);
                }
                ADD_FAILURE() << operation << " accepted fd=" << fd;
            } catch (const std::system_error& e) {
                EXPECT_EQ(e.code().value(), EBADF);
                EXPECT_EQ(std::string(e.what()), std::string(operation) +
                                                     ": fd=" + std::to_string(fd) +
                                                     " is not an open descriptor: Bad file "
                                                     "descriptor");
            }
        }
        EXPECT_NO_THROW(release_waits(loop, fd));  // never waited on: nothing to release
    }
    // The loop is intact: an open descriptor is still awaited.
    socket_pair pair;
    ASSERT_EQ(::write(pair.b.get(), "x", 1), 1);
    io_events got = io_events::none;
    loop.spawn([](event_loop& l, int fd, io_events& out) -> task<> {
        out = co_await readable(l, fd);
    }(loop, pair.a.get(), got));
    loop.run_for(1s);
    EXPECT_TRUE(any(got, io_events::readable));
}

TEST_P(CoroReadiness, DestroyingTheWaitingTaskUnregisters) {
    event_loop loop(GetParam());
    socket_pair pair;
    {
        task<> t = [](event_loop& l, int fd) -> task<> { co_await readable(l, fd); }(loop,
                                                                                     pair.a.get());
        auto frame = t.release();
        frame.resume();
        EXPECT_EQ(loop.active_watchers(), 1u);
        frame.destroy();
    }
    EXPECT_EQ(loop.active_watchers(), 0u);
    ASSERT_EQ(::write(pair.b.get(), "x", 1), 1);
    loop.run_for(1ms);  // nothing may reach the destroyed frame (ASan)
}

// A task the user owns (not spawned) suspended in a descriptor wait when the loop goes
// (lifetime rule 2 broken): destroying the task afterwards would write into the loop's freed
// slot.  Every build stops at the loop's destruction instead, naming what was left, as for a
// handle that outlives its loop.
TEST(CoroReadinessDeathTest, EveryBuildStopsWhenTheLoopGoesBeforeATaskWaitingOnADescriptor) {
    EXPECT_DEATH(
        {
            socket_pair pair;
            auto loop = std::make_unique<event_loop>();
            task<> t = [](event_loop& l, int fd) -> task<> { co_await readable(l, fd); }(
                                                     *loop, pair.a.get());
            // Driven by a spawned task that awaits it: the spawned one goes with the loop,
            // the owned one stays suspended.
            loop->spawn([](task<>& owned) -> task<> { co_await std::move(owned); }(t));
            loop.reset();
            t = {};
        },
        "destroyed while still in use: 1 descriptor\\(s\\) \\(the first fd=[0-9]+\\) still "
        "awaited by a coroutine that is not spawned");
}

INSTANTIATE_TEST_SUITE_P(Backends, CoroReadiness,
                         ::testing::Values(backend_kind::epoll, backend_kind::poll,
                                           backend_kind::select));

}  // namespace
}  // namespace tfd
