#include "tfd/with_stop.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/loop_mismatch.hpp"
#include "tfd/async_fd.hpp"
#include "tfd/readiness.hpp"
#include "tfd/task.hpp"
#include "tfd/with_timeout.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

TEST(CoroWithStop, AStopCancelsTheOperationAsAValue) {
    event_loop loop;
    std::stop_source source;
    std::optional<bool> slept;
    loop.spawn([](event_loop& l, std::stop_token t, std::optional<bool>& out) -> task<> {
        out = co_await with_stop(l, sleep_for(l, 1h), t);
    }(loop, source.get_token(), slept));
    EXPECT_EQ(loop.active_watchers(), 1u);
    source.request_stop();
    EXPECT_FALSE(slept.has_value());  // never resumed inside request_stop()
    loop.run_until_idle();            // phase 6 delivers the stop
    EXPECT_EQ(slept, std::optional<bool>(false));
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(CoroWithStop, TheOperationCompletesWhenNoStopComes) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    std::stop_source source;
    std::optional<bool> slept;
    loop.spawn([](event_loop& l, std::stop_token t, std::optional<bool>& out) -> task<> {
        out = co_await with_stop(l, sleep_for(l, 1s), t);
    }(loop, source.get_token(), slept));
    loop.run();
    EXPECT_EQ(slept, std::optional<bool>(true));
    source.request_stop();  // after the end: nothing to cancel
}

TEST(CoroWithStop, AlreadyStoppedNeverStartsTheOperation) {
    event_loop loop;
    std::stop_source source;
    source.request_stop();
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    unique_fd a(fds[0]), b(fds[1]);
    ASSERT_EQ(::write(b.get(), "x", 1), 1);
    async_fd io(loop, a.get());
    char byte = 0;
    auto op = with_stop(loop, io.read_some(&byte, 1), source.get_token());
    EXPECT_TRUE(op.await_ready());
    EXPECT_EQ(op.await_resume(), std::nullopt);
    EXPECT_EQ(::read(a.get(), &byte, 1), 1);  // the byte was not consumed
}

TEST(CoroWithStop, FromAnotherThreadThroughTheLoopAndNestedInATimeLimit) {
    event_loop loop;
    std::stop_source source;
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    unique_fd a(fds[0]), b(fds[1]);
    bool stopped = false;
    loop.spawn([](event_loop& l, int fd, std::stop_token t, bool& out) -> task<> {
        std::optional<std::optional<io_events>> r =
            co_await with_timeout(l, with_stop(l, readable(l, fd), t), 1h);
        out = r.has_value() && !r->has_value();  // the limit did not win; the stop did
    }(loop, a.get(), source.get_token(), stopped));
    std::thread other([&] {
        std::this_thread::sleep_for(10ms);
        source.request_stop();
    });
    loop.run();
    other.join();
    EXPECT_TRUE(stopped);
    EXPECT_EQ(loop.active_watchers(), 0u);
}

// The stop delivery is armed on the loop with_stop is given, the operation waits on its own: with
// two different loops the stop delivery would never reach the operation, so co_await refuses the
// pair with EINVAL naming both loops instead of waiting without it.
using test::loop_mismatch_message;

TEST(CoroWithStopArguments, AnOperationOnAnotherLoopIsRefusedAtCoAwait) {
    event_loop a;
    event_loop b(backend_kind::epoll, loop_options{.virtual_time = true});
    std::stop_source source;
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    unique_fd x(fds[0]), y(fds[1]);
    std::vector<std::string> outcomes;
    b.spawn([](event_loop& a, event_loop& b, int fd, std::stop_source& source,
               std::vector<std::string>& out) -> task<> {
        try {
            (void)co_await with_stop(a, sleep_for(b, 1s), source.get_token());
            out.push_back("completed");
        } catch (const std::system_error& e) {
            out.push_back(e.code() == std::errc::invalid_argument ? e.what() : "other");
        }
        try {
            (void)co_await with_stop(a, readable(b, fd), source.get_token());
            out.push_back("completed");
        } catch (const std::system_error& e) {
            out.push_back(e.code() == std::errc::invalid_argument ? e.what() : "other");
        }
        // The same loop is accepted: the operation runs (and ends on b's virtual time).
        (void)co_await with_stop(b, sleep_for(b, 1s), source.get_token());
        out.push_back("completed");
    }(a, b, x.get(), source, outcomes));
    b.run();
    const std::string refused = loop_mismatch_message("with_stop", b, a);
    EXPECT_EQ(outcomes, (std::vector<std::string>{refused, refused, "completed"}));
    EXPECT_EQ(a.active_watchers(), 0u);
    EXPECT_EQ(b.active_watchers(), 0u);
}

}  // namespace
}  // namespace tfd
