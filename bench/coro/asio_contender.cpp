// bench/coro's measurements with asio 1.22's awaitables (use_awaitable), the way asio's own
// examples write them: a steady_timer per sleeper, and a time limit as the || of the
// operation and a timer (experimental::awaitable_operators, a parallel group that cancels
// the loser).
#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <variant>

#include "contender.hpp"

namespace coro_bench {
namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using stream = asio::local::stream_protocol::socket;

double ns_since(clock_type::time_point start, std::size_t count) {
    return std::chrono::duration<double, std::nano>(clock_type::now() - start).count() /
           static_cast<double>(count);
}

// Coroutines that reached their wait, and that ended.
std::size_t started = 0;
std::size_t ended = 0;

asio::awaitable<void> sleeper(asio::steady_timer*& handle, std::chrono::nanoseconds delay) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    handle = &timer;
    ++started;
    timer.expires_after(delay);
    try {
        co_await timer.async_wait(asio::use_awaitable);
    } catch (const std::system_error&) {
    }
    handle = nullptr;
    ++ended;
}

asio::awaitable<void> value_sleeper(asio::steady_timer*& handle, std::chrono::nanoseconds delay) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    handle = &timer;
    ++started;
    timer.expires_after(delay);
    auto [error] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (error != asio::error::operation_aborted) {
        std::abort();
    }
    handle = nullptr;
    ++ended;
}

// Runs ready handlers until `counter` reaches `target`.
void run_until(asio::io_context& context, const std::size_t& counter, std::size_t target) {
    while (counter < target) {
        if (context.poll() == 0) {
            if (context.stopped()) {
                context.restart();
            }
            context.run_one_for(std::chrono::milliseconds(1));
        }
    }
}

}  // namespace

sleepers_result asio_sleepers(const std::vector<std::int64_t>& delays_ns, outcome how) {
    sleepers_result result;
    std::size_t n = delays_ns.size();
    asio::io_context context(1);
    std::size_t heap_before = heap_in_use();
    auto handles = std::make_unique<asio::steady_timer*[]>(n);
    auto start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) {
        std::chrono::nanoseconds delay(delays_ns[i]);
        asio::co_spawn(context,
                       how == outcome::exception ? sleeper(handles[i], delay)
                                                 : value_sleeper(handles[i], delay),
                       asio::detached);
    }
    started = 0;
    ended = 0;
    run_until(context, started, n);  // each coroutine up to its wait (several handlers each)
    result.start_ns = ns_since(start, n);
    result.bytes = static_cast<double>(heap_in_use() - heap_before) / static_cast<double>(n);
    start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) {
        if (handles[i] == nullptr) {
            std::fprintf(stderr, "asio sleepers: %zu not started (stopped=%d)\n", i,
                         static_cast<int>(context.stopped()));
            std::exit(1);
        }
        handles[i]->cancel();
    }
    run_until(context, ended, n);  // the cancelled waits' completions: each coroutine ends
    result.cancel_ns = ns_since(start, n);
    for (std::size_t i = 0; i < n; ++i) {
        if (handles[i] != nullptr) {
            std::fprintf(stderr, "asio sleepers: %zu not ended\n", i);
            std::exit(1);
        }
    }
    return result;
}

op_result asio_ready_read_with_timeout(std::size_t ops) {
    asio::io_context context(1);
    stream a(context), b(context);
    asio::local::connect_pair(a, b);
    op_result result;
    asio::co_spawn(
        context,
        [&]() -> asio::awaitable<void> {
            asio::steady_timer timer(context);
            char byte = 'x';
            std::uint64_t allocations = allocation_count();
            auto start = clock_type::now();
            for (std::size_t i = 0; i < ops; ++i) {
                if (::write(b.native_handle(), &byte, 1) != 1) {
                    std::abort();
                }
                timer.expires_after(1s);
                auto won =
                    co_await (a.async_read_some(asio::buffer(&byte, 1), asio::use_awaitable) ||
                              timer.async_wait(asio::use_awaitable));
                if (won.index() != 0 || std::get<0>(won) != 1) {
                    std::abort();
                }
            }
            result.ns = ns_since(start, ops);
            result.allocations =
                static_cast<double>(allocation_count() - allocations) / static_cast<double>(ops);
        },
        asio::detached);
    context.run();
    return result;
}

namespace {

asio::awaitable<void> bounce(stream& socket, bool first, std::size_t count, op_result* out) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    char byte = 'x';
    std::uint64_t allocations = allocation_count();
    auto start = clock_type::now();
    for (std::size_t i = 0; i < count; ++i) {
        if (first) {
            co_await socket.async_write_some(asio::buffer(&byte, 1), asio::use_awaitable);
        }
        timer.expires_after(1s);
        auto won = co_await (socket.async_read_some(asio::buffer(&byte, 1), asio::use_awaitable) ||
                             timer.async_wait(asio::use_awaitable));
        if (won.index() != 0) {
            std::abort();
        }
        if (!first) {
            co_await socket.async_write_some(asio::buffer(&byte, 1), asio::use_awaitable);
        }
    }
    if (out != nullptr) {
        out->ns = ns_since(start, count);
        out->allocations =
            static_cast<double>(allocation_count() - allocations) / static_cast<double>(count);
    }
}

}  // namespace

op_result asio_ping_pong(std::size_t round_trips) {
    asio::io_context context(1);
    stream a(context), b(context);
    asio::local::connect_pair(a, b);
    op_result result;
    asio::co_spawn(context, bounce(b, false, round_trips, nullptr), asio::detached);
    asio::co_spawn(context, bounce(a, true, round_trips, &result), asio::detached);
    context.run();
    return result;
}

}  // namespace coro_bench
