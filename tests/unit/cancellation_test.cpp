#include "tfd/cancellation.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "tfd/async_connection.hpp"
#include "tfd/async_fd.hpp"
#include "tfd/async_listener.hpp"
#include "tfd/readiness.hpp"
#include "tfd/sleep.hpp"
#include "tfd/task.hpp"
#include "tfd/ticker.hpp"
#include "tfd/with_stop.hpp"
#include "tfd/with_timeout.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

struct counter {
    int calls = 0;
    static void cancel(void* self) noexcept { ++static_cast<counter*>(self)->calls; }
};

// Never inside request_stop(), even on the binding's own thread: the code it would resume
// could destroy the stop state that request_stop() still walks.  Phase 6 delivers it.
TEST(CoroCancellation, AStopOnTheBindingThreadIsDeliveredByTheLoop) {
    event_loop loop;
    std::stop_source source;
    detail::stop_binding binding(source.get_token());
    counter c;
    ASSERT_TRUE(binding.bind(loop, &counter::cancel, &c));
    source.request_stop();
    EXPECT_EQ(c.calls, 0);  // not inside request_stop()
    loop.run_until_idle();  // phase 6 delivers it
    EXPECT_EQ(c.calls, 1);
    loop.run_until_idle();
    EXPECT_EQ(c.calls, 1);  // once
}

// A wait that ends otherwise after the stop and before the delivery (its binding unbound)
// is not cancelled as well.
TEST(CoroCancellation, ALocalStopForAFinishedWaitIsDropped) {
    event_loop loop;
    std::stop_source source;
    counter c;
    {
        detail::stop_binding binding(source.get_token());
        ASSERT_TRUE(binding.bind(loop, &counter::cancel, &c));
        source.request_stop();
        binding.unbind();  // the wait ended first
    }
    loop.run_until_idle();
    EXPECT_EQ(c.calls, 0);
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

// A stop requested from a callback of the loop (a timer's, in phase 5): the coroutine does
// not resume inside request_stop(), whose caller goes on with everything intact, but still
// in the same pass (phase 6), so cancellation stays prompt.
TEST(CoroCancellation, TheCoroutineNeverResumesInsideRequestStop) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    std::stop_source source;
    std::string outcome;
    loop.spawn([](event_loop& l, std::stop_token t, std::string& out) -> task<> {
        try {
            co_await sleep_for(l, 1h, t);
            out = "slept";
        } catch (const operation_cancelled& e) {
            out = e.what();
        }
    }(loop, source.get_token(), outcome));
    std::string seen_after_request;
    timer_watcher stopper = loop.after(1ms, [&] {
        source.request_stop();
        seen_after_request = outcome.empty() ? "not resumed" : "resumed: " + outcome;
    });
    loop.advance(1ms);  // runs the passes of that millisecond, and no further
    EXPECT_EQ(seen_after_request, "not resumed");
    EXPECT_EQ(outcome, "sleep: Operation canceled");
    EXPECT_EQ(loop.spawned(), 0u);
    EXPECT_EQ(loop.active_watchers(), 0u);
}

// The same within one pass, counted with run_once(): requested in phase 5, delivered in
// that pass's phase 6.
TEST(CoroCancellation, AStopFromATimerCallbackIsDeliveredInTheSamePass) {
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    std::stop_source source;
    std::string outcome;
    loop.spawn([](event_loop& l, std::stop_token t, std::string& out) -> task<> {
        try {
            co_await sleep_for(l, 1h, t);
        } catch (const operation_cancelled& e) {
            out = e.what();
        }
    }(loop, source.get_token(), outcome));
    bool requested = false;
    timer_watcher stopper = loop.after(0ns, [&] {
        source.request_stop();
        requested = true;
    });
    (void)loop.run_once();
    EXPECT_TRUE(requested);
    EXPECT_EQ(outcome, "sleep: Operation canceled") << "delivered in the pass of the request";
}

// A session object owns its stop_source and is owned by the coroutine that serves it; the
// stop, requested from a timer callback, cancels two listeners on the token (the operation's
// and with_stop's).  Resumed inside request_stop(), the coroutine would end and free the
// stop state while request_stop() still walks its callbacks (ASan: heap-use-after-free).
// Delivered by the loop, it ends after request_stop() has returned.
TEST(CoroCancellation, ACoroutineMayDestroyTheStopSourceItIsCancelledThrough) {
    struct session {
        std::stop_source stop;
    };
    event_loop loop;
    session* current = nullptr;
    bool ended = false;
    std::optional<bool> slept;
    loop.spawn([](event_loop& l, std::unique_ptr<session> s, session*& out, bool& end,
                  std::optional<bool>& result) -> task<> {
        out = s.get();
        std::stop_token token = s->stop.get_token();
        try {
            result = co_await with_stop(l, sleep_for(l, 1h, token), token);
        } catch (const operation_cancelled&) {
            result = false;
        }
        end = true;
    }(loop, std::make_unique<session>(), current, ended, slept));  // the frame owns the session
    ASSERT_NE(current, nullptr);
    bool ended_inside_request = true;
    timer_watcher stopper = loop.after(1ms, [&] {
        current->stop.request_stop();
        ended_inside_request = ended;  // the session must still exist here
    });
    loop.run();
    EXPECT_FALSE(ended_inside_request);
    EXPECT_TRUE(ended);
    EXPECT_EQ(slept, std::optional<bool>(false));
    EXPECT_EQ(loop.spawned(), 0u);
}

// A stop and a completion in one pass: the stop requested first (here, before the pass), the
// wait completed by the loop before phase 6 delivers the stop (its descriptor in phase 4, its
// timer in phase 5).  The wait completes normally, once; the delivery finds nothing.
TEST(CoroCancellation, AWaitThatCompletesBeforeTheDeliveryCompletesOnce) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    unique_fd a(fds[0]), b(fds[1]);
    {
        event_loop loop;
        std::stop_source source;
        int resumptions = 0;
        std::string outcome;
        loop.spawn(
            [](event_loop& l, int fd, std::stop_token t, int& count, std::string& out) -> task<> {
                try {
                    io_events events = co_await readable(l, fd, t);
                    out = any(events, io_events::readable) ? "readable" : "other";
                } catch (const operation_cancelled& e) {
                    out = e.what();
                }
                ++count;
            }(loop, a.get(), source.get_token(), resumptions, outcome));
        source.request_stop();
        ASSERT_EQ(::write(b.get(), "x", 1), 1);
        (void)loop.run_once();  // phase 4 completes the wait, phase 6 finds nothing to stop
        loop.run_until_idle();
        EXPECT_EQ(outcome, "readable");
        EXPECT_EQ(resumptions, 1);
        EXPECT_EQ(loop.spawned(), 0u);
        char byte = 0;
        EXPECT_EQ(::read(a.get(), &byte, 1), 1);
    }
    {
        // On virtual time: a timer started before the sleep, due at the same instant,
        // requests the stop in phase 5; the sleep's own timer runs next in that phase.
        event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
        std::stop_source source;
        timer_watcher stopper = loop.after(10ms, [&] { source.request_stop(); });
        int resumptions = 0;
        std::string outcome;
        loop.spawn([](event_loop& l, std::stop_token t, int& count, std::string& out) -> task<> {
            try {
                co_await sleep_for(l, 10ms, t);
                out = "slept";
            } catch (const operation_cancelled& e) {
                out = e.what();
            }
            ++count;
        }(loop, source.get_token(), resumptions, outcome));
        loop.run();
        EXPECT_EQ(outcome, "slept");
        EXPECT_EQ(resumptions, 1);
    }
    {
        // Raced by with_stop against the same token: the operation's completion wins, and
        // neither listener cancels anything afterwards.
        event_loop loop;
        std::stop_source source;
        int resumptions = 0;
        std::optional<std::optional<io_events>> result;
        loop.spawn([](event_loop& l, int fd, std::stop_token t, int& count,
                      std::optional<std::optional<io_events>>& out) -> task<> {
            out = co_await with_stop(l, readable(l, fd, t), t);
            ++count;
        }(loop, a.get(), source.get_token(), resumptions, result));
        source.request_stop();
        ASSERT_EQ(::write(b.get(), "x", 1), 1);
        (void)loop.run_once();
        loop.run_until_idle();
        EXPECT_EQ(resumptions, 1);
        ASSERT_TRUE(result.has_value());
        ASSERT_TRUE(result->has_value());
        EXPECT_TRUE(any(**result, io_events::readable));
    }
}

}  // namespace
}  // namespace tfd
