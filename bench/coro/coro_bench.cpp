// tfd's coroutines against asio 1.22's awaitables, side by side in one run: rounds alternate
// between the two, medians are printed with tfd's ratio to asio's.
//
//   coro_bench [--sleepers N] [--ops N] [--rounds R]
//
//  1. N concurrent sleeping coroutines (uniform 1-100 s): ns to start and to cancel each
//     (cancellation seen as a caught exception, and as a value), heap bytes per sleeper
//     while they sleep;
//  2. a one-byte read with a 1 s time limit on a socket that is already readable: ns and
//     heap allocations per operation;
//  3. socketpair ping-pong with a 1 s limit on every read: ns per round trip.
//
// Allocations are counted by replacing operator new in this program; heap bytes come from
// mallinfo2 (arena plus mmap'ed blocks).  Both contenders run on one thread, one event loop
// (tfd::event_loop on epoll, asio::io_context with concurrency hint 1).
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "contender.hpp"

namespace {
std::atomic<std::uint64_t> allocations{0};
}

void* operator new(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    return ::operator new(size);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}

namespace coro_bench {

std::uint64_t allocation_count() noexcept {
    return allocations.load(std::memory_order_relaxed);
}

std::size_t heap_in_use() noexcept {
    struct mallinfo2 info = ::mallinfo2();
    return info.uordblks + info.hblkhd;
}

}  // namespace coro_bench

namespace {

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void row(const char* what, const char* unit, const std::vector<double>& tfd,
         const std::vector<double>& asio) {
    double t = median(tfd);
    double a = median(asio);
    std::printf("| %-56s | %10.1f | %10.1f | %7.2fx |\n",
                (std::string(what) + " (" + unit + ")").c_str(), t, a, a != 0 ? t / a : 0.0);
}

std::size_t parse_count(const char* text, const char* option) {
    char* end = nullptr;
    unsigned long long value = std::strtoull(text, &end, 10);
    if (*text == '\0' || *end != '\0' || value == 0 || value > 100000000ULL) {
        std::fprintf(stderr, "coro_bench: %s takes a count from 1 to 100000000, not '%s'\n", option,
                     text);
        std::exit(2);
    }
    return static_cast<std::size_t>(value);
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t sleepers = 1000000;
    std::size_t ops = 200000;
    std::size_t rounds = 5;
    for (int i = 1; i < argc; ++i) {
        std::string option = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "usage: coro_bench [--sleepers N] [--ops N] [--rounds R]\n");
            return 2;
        }
        if (option == "--sleepers") {
            sleepers = parse_count(argv[++i], "--sleepers");
        } else if (option == "--ops") {
            ops = parse_count(argv[++i], "--ops");
        } else if (option == "--rounds") {
            rounds = parse_count(argv[++i], "--rounds");
        } else {
            std::fprintf(stderr, "coro_bench: unknown option %s\n", option.c_str());
            return 2;
        }
    }

    std::mt19937_64 random(20261201);
    std::uniform_int_distribution<std::int64_t> delay(1'000'000'000, 100'000'000'000);
    std::vector<std::int64_t> delays(sleepers);
    for (auto& d : delays) {
        d = delay(random);
    }

    struct series {
        std::vector<double> start, cancel, cancel_value, bytes, ready_ns, ready_allocs, pong_ns,
            pong_allocs;
    } tfd, asio;
    for (std::size_t r = 0; r < rounds; ++r) {
        // Alternate which contender goes first in each round.
        for (int turn = 0; turn < 2; ++turn) {
            bool tfd_turn = (turn == 0) == (r % 2 == 0);
            series& s = tfd_turn ? tfd : asio;
            using coro_bench::outcome;
            coro_bench::sleepers_result sl =
                tfd_turn ? coro_bench::tfd_sleepers(delays, outcome::exception)
                         : coro_bench::asio_sleepers(delays, outcome::exception);
            s.start.push_back(sl.start_ns);
            s.cancel.push_back(sl.cancel_ns);
            s.bytes.push_back(sl.bytes);
            coro_bench::sleepers_result sv =
                tfd_turn ? coro_bench::tfd_sleepers(delays, outcome::value)
                         : coro_bench::asio_sleepers(delays, outcome::value);
            s.cancel_value.push_back(sv.cancel_ns);
            coro_bench::op_result rd = tfd_turn ? coro_bench::tfd_ready_read_with_timeout(ops)
                                                : coro_bench::asio_ready_read_with_timeout(ops);
            s.ready_ns.push_back(rd.ns);
            s.ready_allocs.push_back(rd.allocations);
            coro_bench::op_result pp =
                tfd_turn ? coro_bench::tfd_ping_pong(ops / 4) : coro_bench::asio_ping_pong(ops / 4);
            s.pong_ns.push_back(pp.ns);
            s.pong_allocs.push_back(pp.allocations);
        }
        std::fprintf(stderr, "round %zu/%zu done\n", r + 1, rounds);
    }

    std::printf(
        "coro_bench: %zu sleepers, %zu timed reads, %zu round trips, %zu rounds "
        "(alternating), medians\n\n",
        sleepers, ops, ops / 4, rounds);
    std::printf("| %-56s | %10s | %10s | %8s |\n", "measurement", "tfd", "asio 1.22", "tfd/asio");
    std::printf("|%s|%s|%s|%s|\n", std::string(58, '-').c_str(), std::string(12, '-').c_str(),
                std::string(12, '-').c_str(), std::string(10, '-').c_str());
    row("sleeper: start", "ns", tfd.start, asio.start);
    row("sleeper: cancel, caught exception", "ns", tfd.cancel, asio.cancel);
    row("sleeper: cancel, value outcome", "ns", tfd.cancel_value, asio.cancel_value);
    row("sleeper: memory", "bytes", tfd.bytes, asio.bytes);
    row("ready read with time limit", "ns/op", tfd.ready_ns, asio.ready_ns);
    row("ready read with time limit", "allocations/op", tfd.ready_allocs, asio.ready_allocs);
    row("ping-pong, limit on every read", "ns/round trip", tfd.pong_ns, asio.pong_ns);
    row("ping-pong, limit on every read", "allocations/round trip", tfd.pong_allocs,
        asio.pong_allocs);
    return 0;
}
