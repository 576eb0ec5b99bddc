// timer_fd against the raw system calls: the wrapper should cost nothing measurable.
//
// Each operation is timed through tfd::timer_fd and through the libc call it wraps, in the
// same binary, rounds interleaved; the table at the end gives medians and ratios.
#include <benchmark/benchmark.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>

#include "support/side_by_side.hpp"
#include "tfd/timer_fd.hpp"

namespace {

using namespace std::chrono_literals;

void settime_tfd(benchmark::State& state) {
    tfd::timer_fd timer(tfd::clock_id::monotonic, tfd::open_flags::nonblocking);
    for (auto _ : state) {
        benchmark::DoNotOptimize(timer.set(1h, 1s));
    }
}

void settime_raw(benchmark::State& state) {
    int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    itimerspec next{{1, 0}, {3600, 0}};
    itimerspec previous{};
    for (auto _ : state) {
        if (::timerfd_settime(fd, 0, &next, &previous) != 0) {
            state.SkipWithError("timerfd_settime failed");
        }
        benchmark::DoNotOptimize(previous);
    }
    ::close(fd);
}

void gettime_tfd(benchmark::State& state) {
    tfd::timer_fd timer(tfd::clock_id::monotonic, tfd::open_flags::nonblocking);
    timer.set(1h, 1s);
    for (auto _ : state) {
        benchmark::DoNotOptimize(timer.get());
    }
}

void gettime_raw(benchmark::State& state) {
    int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    itimerspec next{{1, 0}, {3600, 0}};
    ::timerfd_settime(fd, 0, &next, nullptr);
    itimerspec current{};
    for (auto _ : state) {
        if (::timerfd_gettime(fd, &current) != 0) {
            state.SkipWithError("timerfd_gettime failed");
        }
        benchmark::DoNotOptimize(current);
    }
    ::close(fd);
}

// A non-blocking read with nothing pending: the same kernel path for both contenders, and
// one that needs no re-arming between iterations.
void read_tfd(benchmark::State& state) {
    tfd::timer_fd timer(tfd::clock_id::monotonic, tfd::open_flags::nonblocking);
    for (auto _ : state) {
        benchmark::DoNotOptimize(timer.read());
    }
}

void read_raw(benchmark::State& state) {
    int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    std::uint64_t count = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(::read(fd, &count, sizeof count));
    }
    ::close(fd);
}

void create_close_tfd(benchmark::State& state) {
    for (auto _ : state) {
        tfd::timer_fd timer(tfd::clock_id::monotonic, tfd::open_flags::nonblocking);
        benchmark::DoNotOptimize(timer.native_handle());
    }
}

void create_close_raw(benchmark::State& state) {
    for (auto _ : state) {
        int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        benchmark::DoNotOptimize(fd);
        ::close(fd);
    }
}

BENCHMARK(settime_tfd)->Name("settime/tfd");
BENCHMARK(settime_raw)->Name("settime/raw");
BENCHMARK(gettime_tfd)->Name("gettime/tfd");
BENCHMARK(gettime_raw)->Name("gettime/raw");
BENCHMARK(read_tfd)->Name("read_empty/tfd");
BENCHMARK(read_raw)->Name("read_empty/raw");
BENCHMARK(create_close_tfd)->Name("create_close/tfd");
BENCHMARK(create_close_raw)->Name("create_close/raw");

}  // namespace

int main(int argc, char** argv) {
    return tfd::bench::run_side_by_side(argc, argv);
}
