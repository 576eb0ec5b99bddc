// The three measurements of bench/coro, each implemented by tfd's coroutines and by asio's
// awaitables (asio 1.22, use_awaitable), with the same workload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace coro_bench {

// Heap allocations made so far by this process (operator new, counted in coro_bench.cpp).
std::uint64_t allocation_count() noexcept;
// Heap bytes in use now (malloc's arena plus its mmap'ed blocks).
std::size_t heap_in_use() noexcept;

// N coroutines each sleeping its delay (uniform 1-100 s, the same list for both), each
// then cancelled through its own handle.  Per sleeper: ns to start (spawn up to the first
// suspension), ns to cancel (until the coroutine has ended), heap bytes while asleep.
// The cancellation reaches the coroutine as an exception it catches (tfd: the stop token
// given to sleep_for, operation_cancelled; asio: use_awaitable, operation_aborted) or as a
// value (tfd: with_stop; asio: as_tuple(use_awaitable)).
struct sleepers_result {
    double start_ns = 0;
    double cancel_ns = 0;
    double bytes = 0;
};
enum class outcome { exception, value };
sleepers_result tfd_sleepers(const std::vector<std::int64_t>& delays_ns, outcome how);
sleepers_result asio_sleepers(const std::vector<std::int64_t>& delays_ns, outcome how);

// ns and heap allocations per operation.
struct op_result {
    double ns = 0;
    double allocations = 0;
};
// A one-byte read with a 1 s time limit on a socket whose byte was written just before: the
// read wins, and the limit must be cancelled.
op_result tfd_ready_read_with_timeout(std::size_t ops);
op_result asio_ready_read_with_timeout(std::size_t ops);
// Two coroutines bounce a byte over a socket pair; every read has a 1 s time limit.  Per
// round trip.
op_result tfd_ping_pong(std::size_t round_trips);
op_result asio_ping_pong(std::size_t round_trips);

}  // namespace coro_bench
