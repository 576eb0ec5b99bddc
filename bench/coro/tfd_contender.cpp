// bench/coro's measurements with tfd's coroutines.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stop_token>

#include "contender.hpp"
#include "tfd/async_fd.hpp"
#include "tfd/task.hpp"
#include "tfd/with_stop.hpp"
#include "tfd/with_timeout.hpp"

namespace coro_bench {
namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

double ns_since(clock_type::time_point start, std::size_t count) {
    return std::chrono::duration<double, std::nano>(clock_type::now() - start).count() /
           static_cast<double>(count);
}

tfd::task<> sleeper(tfd::event_loop& loop, std::chrono::nanoseconds delay, std::stop_token stop) {
    try {
        co_await tfd::sleep_for(loop, delay, stop);
    } catch (const tfd::operation_cancelled&) {
    }
}

tfd::task<> value_sleeper(tfd::event_loop& loop, std::chrono::nanoseconds delay,
                          std::stop_token stop) {
    bool slept = co_await tfd::with_stop(loop, tfd::sleep_for(loop, delay), std::move(stop));
    if (slept) {
        std::abort();  // nothing sleeps out its 1-100 s here
    }
}

void socket_pair(int fds[2]) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
        std::perror("socketpair");
        std::exit(1);
    }
}

}  // namespace

sleepers_result tfd_sleepers(const std::vector<std::int64_t>& delays_ns, outcome how) {
    sleepers_result result;
    std::size_t n = delays_ns.size();
    tfd::event_loop loop;
    std::size_t heap_before = heap_in_use();
    // The cancel handle of each sleeper, as asio's is its timer: made before the clock starts
    // for both, but counted in the memory.
    auto sources = std::make_unique<std::stop_source[]>(n);
    auto start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) {
        std::chrono::nanoseconds delay(delays_ns[i]);
        loop.spawn(how == outcome::exception ? sleeper(loop, delay, sources[i].get_token())
                                             : value_sleeper(loop, delay, sources[i].get_token()));
    }
    result.start_ns = ns_since(start, n);
    result.bytes = static_cast<double>(heap_in_use() - heap_before) / static_cast<double>(n);
    start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) {
        sources[i].request_stop();  // posts the stop to the loop
    }
    loop.run_until_idle();  // delivers them: each sleeper resumes and ends (as asio's run does)
    result.cancel_ns = ns_since(start, n);
    if (loop.spawned() != 0 || loop.active_watchers() != 0) {
        std::fprintf(stderr, "tfd sleepers: %zu left\n", loop.spawned());
        std::exit(1);
    }
    return result;
}

op_result tfd_ready_read_with_timeout(std::size_t ops) {
    tfd::event_loop loop;
    int fds[2];
    socket_pair(fds);
    op_result result;
    loop.spawn([](tfd::event_loop& l, int reader, int writer, std::size_t count,
                  op_result& out) -> tfd::task<> {
        tfd::async_fd io(l, reader);
        char byte = 'x';
        std::uint64_t allocations = allocation_count();
        auto start = clock_type::now();
        for (std::size_t i = 0; i < count; ++i) {
            if (::write(writer, &byte, 1) != 1) {
                std::abort();
            }
            std::optional<std::size_t> n =
                co_await tfd::with_timeout(l, io.read_some(&byte, 1), 1s);
            if (n != std::optional<std::size_t>(1)) {
                std::abort();
            }
        }
        out.ns = ns_since(start, count);
        out.allocations =
            static_cast<double>(allocation_count() - allocations) / static_cast<double>(count);
    }(loop, fds[0], fds[1], ops, result));
    loop.run();
    ::close(fds[0]);
    ::close(fds[1]);
    return result;
}

namespace {

tfd::task<> bounce(tfd::event_loop& loop, int fd, bool first, std::size_t count, op_result* out) {
    tfd::async_fd io(loop, fd);
    char byte = 'x';
    std::uint64_t allocations = allocation_count();
    auto start = clock_type::now();
    for (std::size_t i = 0; i < count; ++i) {
        if (first) {
            co_await io.write_some(&byte, 1);
        }
        std::optional<std::size_t> n = co_await tfd::with_timeout(loop, io.read_some(&byte, 1), 1s);
        if (n != std::optional<std::size_t>(1)) {
            std::abort();
        }
        if (!first) {
            co_await io.write_some(&byte, 1);
        }
    }
    if (out != nullptr) {
        out->ns = ns_since(start, count);
        out->allocations =
            static_cast<double>(allocation_count() - allocations) / static_cast<double>(count);
    }
}

}  // namespace

op_result tfd_ping_pong(std::size_t round_trips) {
    tfd::event_loop loop;
    int fds[2];
    socket_pair(fds);
    op_result result;
    loop.spawn(bounce(loop, fds[1], false, round_trips, nullptr));
    loop.spawn(bounce(loop, fds[0], true, round_trips, &result));
    loop.run();
    ::close(fds[0]);
    ::close(fds[1]);
    return result;
}

}  // namespace coro_bench
