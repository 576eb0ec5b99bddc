#include "tfd/cancellation.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stop_token>
#include <thread>

#include "tfd/async_connection.hpp"
#include "tfd/async_fd.hpp"
#include "tfd/async_listener.hpp"
#include "tfd/readiness.hpp"
#include "tfd/task.hpp"
#include "tfd/ticker.hpp"
#include "tfd/with_timeout.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

struct counter {
    int calls = 0;
    static void cancel(void* self) noexcept { ++static_cast<counter*>(self)->calls; }
};

TEST(CoroCancellation, AStopOnTheBindingThreadCancelsInline) {
    event_loop loop;
    std::stop_source source;
    detail::stop_binding binding(source.get_token());
    counter c;
    ASSERT_TRUE(binding.bind(loop, &counter::cancel, &c));
    source.request_stop();
    EXPECT_EQ(c.calls, 1);
}

TEST(CoroCancellation, AStopBeforeBindIsReportedByBind) {
    event_loop loop;
    std::stop_source source;
    source.request_stop();
    detail::stop_binding binding(source.get_token());
    counter c;
    EXPECT_TRUE(binding.requested());
    EXPECT_FALSE(binding.bind(loop, &counter::cancel, &c));
    EXPECT_EQ(c.calls, 0);  // the awaiter does not suspend instead
}

TEST(CoroCancellation, ARemoteStopIsDeliveredByTheLoop) {
    event_loop loop;
    std::stop_source source;
    detail::stop_binding binding(source.get_token());
    counter c;
    ASSERT_TRUE(binding.bind(loop, &counter::cancel, &c));
    std::thread([&] { source.request_stop(); }).join();
    EXPECT_EQ(c.calls, 0);  // not on the other thread
    loop.run_until_idle();  // phase 6 delivers it
    EXPECT_EQ(c.calls, 1);
}

TEST(CoroCancellation, ARemoteStopForAFinishedWaitIsDropped) {
    event_loop loop;
    std::stop_source source;
    counter c;
    {
        detail::stop_binding binding(source.get_token());
        ASSERT_TRUE(binding.bind(loop, &counter::cancel, &c));
        std::thread([&] { source.request_stop(); }).join();
        binding.unbind();  // the wait ended first
    }
    loop.run_until_idle();
    EXPECT_EQ(c.calls, 0);
}

TEST(CoroCancellation, NoTokenMeansNothingToListenTo) {
    event_loop loop;
    detail::stop_binding binding{std::stop_token()};
    counter c;
    EXPECT_FALSE(binding.requested());
    EXPECT_TRUE(binding.bind(loop, &counter::cancel, &c));
    static_assert(sizeof(detail::no_stop) == 1 && std::is_empty_v<detail::no_stop>);
}

// The loop runs on its own thread; another thread stops sleepers while they sleep, finish,
// or are being destroyed with their task.  Every task ends once, nothing is left (TSan).
TEST(CoroCancellation, StopsFromAnotherThreadWhileTheLoopRuns) {
    event_loop loop;
    constexpr int count = 500;
    std::vector<std::stop_source> sources(count);
    std::atomic<int> ended{0};
    std::atomic<bool> started{false};
    std::thread runner([&] {
        for (int i = 0; i < count; ++i) {
            loop.spawn([](event_loop& l, std::stop_token t, int i, std::atomic<int>& e) -> task<> {
                try {
                    co_await sleep_for(l, std::chrono::microseconds(i % 50 * 20), t);
                    co_await sleep_for(l, 1h, t);
                } catch (const operation_cancelled&) {
                }
                e.fetch_add(1);
            }(loop, sources[i].get_token(), i, ended));
        }
        started.store(true);
        loop.run();
    });
    while (!started.load()) {
        std::this_thread::yield();
    }
    for (auto& s : sources) {
        s.request_stop();
    }
    runner.join();
    EXPECT_EQ(ended.load(), count);
    EXPECT_EQ(loop.spawned(), 0u);
    EXPECT_EQ(loop.active_watchers(), 0u);
}

// Starts `t` by hand, so the test keeps the frame, and destroys it while it is suspended.
void destroy_while_suspended(event_loop& loop, task<> t, std::size_t watchers) {
    auto frame = t.release();
    frame.resume();
    ASSERT_FALSE(frame.done());
    EXPECT_EQ(loop.active_watchers(), watchers);
    frame.destroy();
}

TEST(CoroCancellation, DestroyingAFrameSuspendedInAnyWaitUnregistersIt) {
    event_loop loop;
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    unique_fd a(fds[0]), b(fds[1]);
    std::stop_source source;
    std::stop_token token = source.get_token();
    std::size_t base = loop.active_watchers();

    destroy_while_suspended(
        loop,
        [](event_loop& l, std::stop_token t) -> task<> { co_await sleep_for(l, 1h, t); }(loop,
                                                                                         token),
        base + 1);
    destroy_while_suspended(
        loop,
        [](event_loop& l, std::stop_token t) -> task<> {
            ticker tick(l, 1h);
            co_await tick.next(t);
        }(loop, token),
        base + 1);
    destroy_while_suspended(
        loop,
        [](event_loop& l, int fd, std::stop_token t) -> task<> { co_await readable(l, fd, t); }(
                                                         loop, a.get(), token),
        base + 1);
    destroy_while_suspended(
        loop,
        [](event_loop& l, int fd, std::stop_token t) -> task<> {
            async_fd io(l, fd);
            char byte;
            (void)co_await with_timeout(l, io.read_some(&byte, 1, t), 1h);
        }(loop, a.get(), token),
        base + 2);
    async_listener listener(loop, "127.0.0.1", 0);
    base = loop.active_watchers();
    destroy_while_suspended(
        loop,
        [](async_listener& l, std::stop_token t) -> task<> { co_await l.accept(t); }(listener,
                                                                                     token),
        base);
    {
        async_connection connection(loop, std::move(b));
        base = loop.active_watchers();
        destroy_while_suspended(
            loop,
            [](async_connection& c, std::stop_token t) -> task<> { co_await c.read_line(t); }(
                                                           connection, token),
            base);
    }
    listener.close();
    EXPECT_EQ(loop.active_watchers(), 0u);
    // Nothing still refers to a destroyed frame: a stop and a few passes touch nothing (ASan).
    source.request_stop();
    (void)::send(a.get(), "x", 1, MSG_NOSIGNAL);  // the peer is closed: EPIPE, ignored
    loop.run_for(5ms);
}

}  // namespace
}  // namespace tfd
