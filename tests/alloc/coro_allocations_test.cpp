// Counts heap allocations made by the coroutine awaitables once their frame exists: a timed
// wait, a readiness wait and a time limit keep their registration in the awaiter, so a
// steady stream of them allocates nothing.  A suite of its own, since it replaces the global
// operator new for the whole executable.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "counting_new.hpp"
#include "tfd/async_fd.hpp"
#include "tfd/readiness.hpp"
#include "tfd/task.hpp"
#include "tfd/unique_fd.hpp"
#include "tfd/with_timeout.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

// Debug builds (NDEBUG undefined) check the timer queue's invariants after every change and
// build a description of the queue for the message as they go: timed waits allocate there,
// by design, so only optimized builds can show the awaitables' own count.
#ifdef NDEBUG
#define TFD_SKIP_IN_DEBUG_BUILDS()
#else
#define TFD_SKIP_IN_DEBUG_BUILDS() \
    GTEST_SKIP() << "debug builds allocate in the timer queue's invariant checks"
#endif

constexpr int warm_up = 100;
constexpr int measured = 10000;

std::uint64_t now_allocations() {
    return test_alloc::heap_allocations();
}

struct socket_pair {
    unique_fd a, b;
    socket_pair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        a.reset(fds[0]);
        b.reset(fds[1]);
    }
};

// Counts the allocations of iterations warm_up to warm_up + measured of a loop that runs in
// one coroutine frame (the loop's own tables grow during the first ones).
class steady_counter {
  public:
    explicit steady_counter(std::uint64_t& out) : out_(out) {}
    bool next() {
        if (i_ == warm_up) {
            before_ = now_allocations();
        }
        if (i_++ == warm_up + measured) {
            out_ = now_allocations() - before_;
            return false;
        }
        return true;
    }

  private:
    std::uint64_t& out_;
    std::uint64_t before_ = 0;
    int i_ = 0;
};

TEST(CoroAllocations, TheCounterSeesAllocations) {
    std::uint64_t before = now_allocations();
    // Through a volatile pointer, so the compiler cannot drop the new/delete pair.
    static int* volatile escaped = nullptr;
    escaped = new int(3);
    delete escaped;
    EXPECT_EQ(now_allocations() - before, 1u);
}

TEST(CoroAllocations, ARegistrationPerWaitWouldBeSeen) {
    // What the awaitables avoid: a watch made and dropped per wait allocates its node.
    event_loop loop;
    socket_pair pair;
    for (int i = 0; i < warm_up; ++i) {
        fd_watcher w = loop.watch(pair.a.get(), io_events::readable, [](io_events) {});
    }
    std::uint64_t before = now_allocations();
    for (int i = 0; i < 10; ++i) {
        fd_watcher w = loop.watch(pair.a.get(), io_events::readable, [](io_events) {});
    }
    EXPECT_GE(now_allocations() - before, 10u);
}

TEST(CoroAllocations, NoneForASleep) {
    TFD_SKIP_IN_DEBUG_BUILDS();
    for (bool virtual_clock : {true, false}) {
        event_loop loop(backend_kind::epoll, loop_options{.virtual_time = virtual_clock});
        std::uint64_t count = 99;
        loop.spawn([](event_loop& l, std::uint64_t& out) -> task<> {
            for (steady_counter c(out); c.next();) {
                co_await sleep_for(l, 1us);
            }
        }(loop, count));
        loop.run();
        EXPECT_EQ(count, 0u) << (virtual_clock ? "virtual time" : "real time");
    }
}

TEST(CoroAllocations, NoneForAStoppableSleepOrATimeLimit) {
    TFD_SKIP_IN_DEBUG_BUILDS();
    event_loop loop(backend_kind::epoll, loop_options{.virtual_time = true});
    std::stop_source source;
    std::uint64_t count = 99;
    loop.spawn([](event_loop& l, std::stop_token t, std::uint64_t& out) -> task<> {
        for (steady_counter c(out); c.next();) {
            co_await sleep_for(l, 1ms, t);
            bool slept = co_await with_timeout(l, sleep_for(l, 1h), 1ms);
            EXPECT_FALSE(slept);
        }
    }(loop, source.get_token(), count));
    loop.run();
    EXPECT_EQ(count, 0u);
}

enum class wait_kind { readable, readable_with_timeout, async_fd_with_timeout };

// Two coroutines bounce a byte over a socket pair, each waiting before its read.
task<> bounce(event_loop& l, int fd, bool first, wait_kind kind, std::uint64_t* out) {
    async_fd io(l, fd);
    char byte = 'x';
    std::uint64_t ignored = 0;
    for (steady_counter c(out != nullptr ? *out : ignored); c.next();) {
        if (first) {
            EXPECT_EQ(::write(fd, &byte, 1), 1);
        }
        switch (kind) {
            case wait_kind::readable:
                co_await readable(l, fd);
                EXPECT_EQ(::read(fd, &byte, 1), 1);
                break;
            case wait_kind::readable_with_timeout: {
                std::optional<io_events> events = co_await with_timeout(l, readable(l, fd), 10s);
                EXPECT_TRUE(events.has_value());
                EXPECT_EQ(::read(fd, &byte, 1), 1);
                break;
            }
            case wait_kind::async_fd_with_timeout: {
                std::optional<std::size_t> n =
                    co_await with_timeout(l, io.read_some(&byte, 1), 10s);
                EXPECT_EQ(n, std::optional<std::size_t>(1));
                break;
            }
        }
        if (!first) {
            EXPECT_EQ(::write(fd, &byte, 1), 1);
        }
    }
}

std::uint64_t ping_pong(backend_kind backend, wait_kind kind) {
    event_loop loop(backend);
    socket_pair pair;
    std::uint64_t count = 99;
    loop.spawn(bounce(loop, pair.b.get(), false, kind, nullptr));
    loop.spawn(bounce(loop, pair.a.get(), true, kind, &count));
    loop.run();
    return count;
}

class CoroAllocationsOnBackend : public ::testing::TestWithParam<backend_kind> {};

TEST_P(CoroAllocationsOnBackend, NoneForReadable) {
    EXPECT_EQ(ping_pong(GetParam(), wait_kind::readable), 0u);
}

TEST_P(CoroAllocationsOnBackend, NoneForReadableWithTimeout) {
    TFD_SKIP_IN_DEBUG_BUILDS();
    EXPECT_EQ(ping_pong(GetParam(), wait_kind::readable_with_timeout), 0u);
}

TEST_P(CoroAllocationsOnBackend, NoneForAsyncFdReadsWithTimeout) {
    TFD_SKIP_IN_DEBUG_BUILDS();
    EXPECT_EQ(ping_pong(GetParam(), wait_kind::async_fd_with_timeout), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, CoroAllocationsOnBackend,
                         ::testing::Values(backend_kind::epoll, backend_kind::poll,
                                           backend_kind::select));

TEST(CoroAllocations, NoneForWithTimeoutAroundAReadyRead) {
    event_loop loop;
    socket_pair pair;
    std::uint64_t count = 99;
    loop.spawn([](event_loop& l, int reader, int writer, std::uint64_t& out) -> task<> {
        async_fd io(l, reader);
        for (steady_counter c(out); c.next();) {
            char byte = 'x';
            EXPECT_EQ(::write(writer, &byte, 1), 1);
            std::optional<std::size_t> n = co_await with_timeout(l, io.read_some(&byte, 1), 1s);
            EXPECT_EQ(n, std::optional<std::size_t>(1));
        }
    }(loop, pair.a.get(), pair.b.get(), count));
    loop.run();
    EXPECT_EQ(count, 0u);
}

}  // namespace
}  // namespace tfd
