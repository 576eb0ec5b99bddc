#include "tfd/with_stop.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <stop_token>
#include <thread>

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

}  // namespace
}  // namespace tfd
