#include "tfd/with_timeout.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <stop_token>
#include <string>
#include <system_error>
#include <vector>

#include "support/loop_mismatch.hpp"
#include "tfd/async_fd.hpp"
#include "tfd/readiness.hpp"
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

loop_options virtual_time() {
    return loop_options{.virtual_time = true};
}

TEST(CoroWithTimeout, TheTimeoutCancelsTheInnerRead) {
    event_loop loop(backend_kind::epoll, virtual_time());
    socket_pair pair;
    std::optional<std::optional<std::size_t>> result;
    std::chrono::nanoseconds start = loop.now();
    std::chrono::nanoseconds ended{};
    loop.spawn([](event_loop& l, int fd, auto& out, auto& at) -> task<> {
        async_fd io(l, fd);
        char buffer[8];
        out = co_await with_timeout(l, io.read_some(buffer, sizeof buffer), 5s);
        at = l.now();
    }(loop, pair.a.get(), result, ended));
    loop.run();
    ASSERT_TRUE(result.has_value());
    EXPECT_FALSE(result->has_value());  // timed out
    EXPECT_EQ(ended - start, 5s);       // exactly, on virtual time
    EXPECT_EQ(loop.active_watchers(), 0u);
    // The cancelled read left nothing behind: data sent now stays unread in the socket.
    ASSERT_EQ(::write(pair.b.get(), "late", 4), 4);
    loop.run_for(1ms);
    char buffer[8];
    EXPECT_EQ(::read(pair.a.get(), buffer, sizeof buffer), 4);
}

TEST(CoroWithTimeout, AnOperationThatWinsStopsTheTimer) {
    event_loop loop(backend_kind::epoll, virtual_time());
    socket_pair pair;
    std::optional<std::size_t> result;
    loop.spawn([](event_loop& l, int fd, std::optional<std::size_t>& out) -> task<> {
        async_fd io(l, fd);
        char buffer[8];
        out = co_await with_timeout(l, io.read_some(buffer, sizeof buffer), 1h);
    }(loop, pair.a.get(), result));
    EXPECT_EQ(loop.active_watchers(), 2u);  // the read and its timer
    ASSERT_EQ(::write(pair.b.get(), "abc", 3), 3);
    loop.run();
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, 3u);
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(CoroWithTimeout, AReadyOperationNeverStartsTheTimer) {
    event_loop loop;
    socket_pair pair;
    ASSERT_EQ(::write(pair.b.get(), "x", 1), 1);
    async_fd io(loop, pair.a.get());
    char buffer[4];
    auto op = with_timeout(loop, io.read_some(buffer, sizeof buffer), 1s);
    EXPECT_TRUE(op.await_ready());
    EXPECT_EQ(loop.active_watchers(), 0u);
    std::optional<std::size_t> n = op.await_resume();
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(*n, 1u);
}

TEST(CoroWithTimeout, AroundASleepGivesBoolAndTheEarlierWins) {
    event_loop loop(backend_kind::epoll, virtual_time());
    std::string log;
    loop.spawn([](event_loop& l, std::string& out) -> task<> {
        bool slept = co_await with_timeout(l, sleep_for(l, 1h), 1s);
        out += slept ? "slept " : "timed-out ";
        slept = co_await with_timeout(l, sleep_for(l, 1s), 1h);
        out += slept ? "slept" : "timed-out";
    }(loop, log));
    loop.run();
    EXPECT_EQ(log, "timed-out slept");
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(CoroWithTimeout, TimeoutsNest) {
    event_loop loop(backend_kind::epoll, virtual_time());
    socket_pair pair;
    bool completed = true;
    std::chrono::nanoseconds start = loop.now();
    std::chrono::nanoseconds ended{};
    loop.spawn([](event_loop& l, int fd, bool& out, auto& at) -> task<> {
        std::optional<std::optional<io_events>> result =
            co_await with_timeout(l, with_timeout(l, readable(l, fd), 3s), 2s);
        out = result.has_value();
        at = l.now();
    }(loop, pair.a.get(), completed, ended));
    loop.run();
    EXPECT_FALSE(completed);  // the outer 2 s limit won
    EXPECT_EQ(ended - start, 2s);
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(CoroWithTimeout, AStopStillEndsTheInnerOperation) {
    event_loop loop;
    socket_pair pair;
    std::stop_source source;
    std::string outcome;
    loop.spawn([](event_loop& l, int fd, std::stop_token t, std::string& out) -> task<> {
        try {
            (void)co_await with_timeout(l, readable(l, fd, t), 1h);
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

TEST(CoroWithTimeout, DestroyingTheFrameStopsBoth) {
    event_loop loop;
    socket_pair pair;
    task<> t = [](event_loop& l, int fd) -> task<> {
        (void)co_await with_timeout(l, readable(l, fd), 1h);
    }(loop, pair.a.get());
    auto frame = t.release();
    frame.resume();
    EXPECT_EQ(loop.active_watchers(), 2u);
    frame.destroy();
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(CoroWithTimeout, NanLimitIsRefused) {
    event_loop loop;
    EXPECT_THROW(
        (void)with_timeout(loop, sleep_for(loop, 1s), std::chrono::duration<double>(std::nan(""))),
        std::system_error);
}

// The time limit is armed on the loop with_timeout is given, the operation waits on its own: with
// two different loops the time limit would never reach the operation, so co_await refuses the pair
// with EINVAL naming both loops instead of waiting without it.
using test::loop_mismatch_message;

TEST(CoroWithTimeoutArguments, AnOperationOnAnotherLoopIsRefusedAtCoAwait) {
    event_loop a;
    event_loop b(backend_kind::epoll, loop_options{.virtual_time = true});
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    unique_fd x(fds[0]), y(fds[1]);
    std::vector<std::string> outcomes;
    b.spawn([](event_loop& a, event_loop& b, int fd, std::vector<std::string>& out) -> task<> {
        try {
            (void)co_await with_timeout(a, sleep_for(b, 1s), 10ms);
            out.push_back("completed");
        } catch (const std::system_error& e) {
            out.push_back(e.code() == std::errc::invalid_argument ? e.what() : "other");
        }
        try {
            (void)co_await with_timeout(a, with_timeout(b, readable(b, fd), 1s), 10ms);
            out.push_back("completed");
        } catch (const std::system_error& e) {
            out.push_back(e.code() == std::errc::invalid_argument ? e.what() : "other");
        }
        // The same loop is accepted: the operation runs (and ends on b's virtual time).
        (void)co_await with_timeout(b, sleep_for(b, 1s), 10ms);
        out.push_back("completed");
    }(a, b, x.get(), outcomes));
    b.run();
    const std::string refused = loop_mismatch_message("with_timeout", b, a);
    EXPECT_EQ(outcomes, (std::vector<std::string>{refused, refused, "completed"}));
    EXPECT_EQ(a.active_watchers(), 0u);
    EXPECT_EQ(b.active_watchers(), 0u);
}

}  // namespace
}  // namespace tfd
