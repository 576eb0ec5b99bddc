// The longest single call into a timer queue while a million timeouts come due: how long a
// loop pass can stall on the queue, with and without the cascade budget the event loops set
// (timer_queue::set_cascade_budget), against the 4-ary heap (libev's design), which has no
// cascades and so no such stall.
//
// Each contender starts N timers with deadlines uniform in [1 s, 100 s] (fixed seed) on its
// own timer_queue, then plays a loop on a simulated clock: ask next_deadline(), move the
// clock to it, pop everything due, again and again until every timer has come out.  Every
// call is timed with the steady clock.  A level-3 wheel slot spans 17.2 s, so one holds about
// a sixth of the timers, and re-filing it without a budget is one long call.  Reported per
// contender: the longest call, the 99.99th percentile call, the number of calls that took
// over 1 ms, and the total time per timer.  Rounds alternate the contenders' order; figures
// are medians over rounds, ratios to the heap's.
//
// Usage: cascade_stall_bench [--rounds R] [--timers N]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tfd/timer_queue.hpp"

namespace {

using std::chrono::nanoseconds;

struct contender {
    const char* name;
    tfd::timer_queue::kind kind;
    std::size_t budget;  // 0: none
};

struct figures {
    double longest_us = 0;
    double p9999_us = 0;
    double over_1ms = 0;
    double ns_per_timer = 0;
};

std::int64_t steady_ns() {
    return std::chrono::duration_cast<nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

figures run_once(const contender& c, const std::vector<std::int64_t>& deadlines) {
    std::vector<tfd::timer_entry> timers(deadlines.size());
    tfd::timer_queue queue(c.kind);
    queue.set_cascade_budget(c.budget);
    for (std::size_t i = 0; i < timers.size(); ++i) {
        queue.start(timers[i], nanoseconds(deadlines[i]));
    }
    std::vector<std::int64_t> calls;
    calls.reserve(deadlines.size() * 2 + 1024);
    std::int64_t now = 0;
    std::size_t fired = 0;
    const std::int64_t begin = steady_ns();
    while (fired < timers.size()) {
        std::int64_t t0 = steady_ns();
        std::optional<nanoseconds> next = queue.next_deadline();
        std::int64_t t1 = steady_ns();
        calls.push_back(t1 - t0);
        if (!next) {
            break;
        }
        now = std::max(now, next->count());
        for (;;) {
            t0 = steady_ns();
            tfd::timer_entry* e = queue.pop_due(nanoseconds(now));
            t1 = steady_ns();
            calls.push_back(t1 - t0);
            if (e == nullptr) {
                break;
            }
            ++fired;
        }
    }
    const std::int64_t total = steady_ns() - begin;
    std::sort(calls.begin(), calls.end());
    figures f;
    f.longest_us = static_cast<double>(calls.back()) / 1e3;
    f.p9999_us = static_cast<double>(calls[calls.size() * 9999 / 10000]) / 1e3;
    f.over_1ms = static_cast<double>(
        calls.end() - std::upper_bound(calls.begin(), calls.end(), std::int64_t{1'000'000}));
    f.ns_per_timer = static_cast<double>(total) / static_cast<double>(timers.size());
    return f;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    unsigned rounds = 5;
    std::size_t n = 1'000'000;
    for (int i = 1; i < argc; ++i) {
        const bool has_value = i + 1 < argc;
        if (std::strcmp(argv[i], "--rounds") == 0 && has_value) {
            rounds = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        } else if (std::strcmp(argv[i], "--timers") == 0 && has_value) {
            n = std::strtoull(argv[++i], nullptr, 10);
        } else {
            std::fprintf(stderr, "usage: %s [--rounds R] [--timers N]\n", argv[0]);
            return 2;
        }
    }
    if (rounds == 0 || n == 0) {
        std::fprintf(stderr, "cascade_stall_bench: --rounds and --timers must be positive\n");
        return 2;
    }
    const std::vector<contender> contenders{
        {"wheel, loop budget", tfd::timer_queue::kind::wheel,
         tfd::timer_queue::loop_cascade_budget},
        {"wheel, no budget", tfd::timer_queue::kind::wheel, 0},
        {"heap (libev's design)", tfd::timer_queue::kind::heap, 0},
    };
    std::mt19937_64 rng(20261201);
    std::uniform_int_distribution<std::int64_t> spread(1'000'000'000, 100'000'000'000);
    std::vector<std::int64_t> deadlines(n);
    for (std::int64_t& d : deadlines) {
        d = spread(rng);
    }

    std::vector<std::vector<figures>> results(contenders.size());
    for (unsigned round = 0; round < rounds; ++round) {
        for (std::size_t k = 0; k < contenders.size(); ++k) {
            const std::size_t which = (k + round) % contenders.size();  // rotate the order
            results[which].push_back(run_once(contenders[which], deadlines));
        }
        std::fprintf(stderr, "round %u/%u done\n", round + 1, rounds);
    }

    const auto med = [&](std::size_t which, double figures::*field) {
        std::vector<double> v;
        for (const figures& f : results[which]) {
            v.push_back(f.*field);
        }
        return median(v);
    };
    const std::size_t heap = contenders.size() - 1;
    std::printf(
        "cascade_stall_bench: %zu timers, deadlines uniform in [1 s, 100 s], %u rounds "
        "(medians), loop budget %zu entries\n\n",
        n, rounds, tfd::timer_queue::loop_cascade_budget);
    std::printf(
        "| queue | longest call (us) | 99.99th pct call (us) | calls over 1 ms | ns per timer "
        "| longest / heap | ns per timer / heap |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (std::size_t i = 0; i < contenders.size(); ++i) {
        std::printf("| %s | %.1f | %.2f | %.0f | %.1f | %.2f | %.2f |\n", contenders[i].name,
                    med(i, &figures::longest_us), med(i, &figures::p9999_us),
                    med(i, &figures::over_1ms), med(i, &figures::ns_per_timer),
                    med(i, &figures::longest_us) / med(heap, &figures::longest_us),
                    med(i, &figures::ns_per_timer) / med(heap, &figures::ns_per_timer));
    }
    return 0;
}
