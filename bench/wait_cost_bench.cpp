// What a short wait costs the waiting thread: sleeping on a timer_fd (armed TFD_TIMER_ABSTIME,
// waited for with epoll_wait, as the event loop does by default), sleeping in epoll_pwait2's
// own timeout with the thread's timer slack at 1 ns (the loop's timed waits,
// loop_options::timer_slack), and busy-waiting on the clock.
//
// For each wait length d, each way waits `--waits` times for deadlines d apart and reports the
// thread's CPU time per wait (CLOCK_THREAD_CPUTIME_ID) and how late each wait ended.  Rounds
// alternate the order of the ways; figures are medians over `--rounds` rounds, with the
// ratios timed / sleep and spin / sleep.  This is the measurement behind
// loop_options::spin_below's default (a sleep that costs more CPU than the wait itself is
// better spun) and behind timed waits (one system call per wake-up instead of two).  The
// slack of 1 ns is set for the whole run: it changes nothing for a timer_fd or a spin.
//
// Usage: wait_cost_bench [--rounds R] [--waits N]
#include <sys/epoll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tfd/timer_fd.hpp"
#include "tfd/timer_slack.hpp"
#include "tfd/unique_fd.hpp"

namespace {

using std::chrono::nanoseconds;

std::int64_t read_ns(clockid_t clock) {
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

struct figures {
    double cpu_ns = 0;   // thread CPU per wait
    double late_ns = 0;  // mean lateness of the wait's end
};

struct sleeper {
    tfd::timer_fd timer{tfd::clock_id::monotonic, tfd::open_flags::nonblocking};
    tfd::unique_fd epoll{::epoll_create1(EPOLL_CLOEXEC)};
    sleeper() {
        epoll_event event{};
        event.events = EPOLLIN | EPOLLET;
        if (!epoll || ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, timer.native_handle(), &event) != 0) {
            std::perror("wait_cost_bench: epoll");
            std::exit(1);
        }
    }
    void wait_until(std::int64_t deadline) {
        timer.settime(nanoseconds(deadline), nanoseconds(0), tfd::set_flags::absolute);
        epoll_event event{};
        while (::epoll_wait(epoll.get(), &event, 1, -1) != 1) {
        }
    }
};

// The timeout is relative: the kernel adds it to its own reading of the clock, taken after
// ours, so the wait never ends early.  A wait cut short (a signal) is resumed.
struct timed_sleeper {
    tfd::unique_fd epoll{::epoll_create1(EPOLL_CLOEXEC)};
    void wait_until(std::int64_t deadline) {
        epoll_event event{};
        for (;;) {
            const std::int64_t left = deadline - read_ns(CLOCK_MONOTONIC);
            if (left <= 0) {
                return;
            }
            timespec timeout{static_cast<time_t>(left / 1'000'000'000),
                             static_cast<long>(left % 1'000'000'000)};
            if (::epoll_pwait2(epoll.get(), &event, 1, &timeout, nullptr) < 0 && errno == ENOSYS) {
                std::fprintf(stderr, "wait_cost_bench: no epoll_pwait2 here (Linux 5.11+)\n");
                std::exit(1);
            }
        }
    }
};

void spin_until(std::int64_t deadline) {
    while (read_ns(CLOCK_MONOTONIC) < deadline) {
    }
}

template <class Wait>
figures measure(std::int64_t gap_ns, int waits, Wait wait) {
    double late = 0;
    std::int64_t deadline = read_ns(CLOCK_MONOTONIC);
    const std::int64_t cpu0 = read_ns(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < waits; ++i) {
        deadline += gap_ns;
        wait(deadline);
        const std::int64_t now = read_ns(CLOCK_MONOTONIC);
        late += static_cast<double>(now - deadline);
        deadline = std::max(deadline, now);  // a wait that ended late does not shorten the next
    }
    const std::int64_t cpu = read_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    return {static_cast<double>(cpu) / waits, late / waits};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 5;
    int waits = 5000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--rounds") == 0) {
            rounds = std::atoi(argv[i + 1]);
        } else if (std::strcmp(argv[i], "--waits") == 0) {
            waits = std::atoi(argv[i + 1]);
        }
    }
    if (rounds < 1 || waits < 1 || argc % 2 == 0) {
        std::fprintf(stderr, "usage: %s [--rounds R] [--waits N]  (R, N >= 1)\n", argv[0]);
        return 2;
    }
    sleeper sleep;
    timed_sleeper timed;
    tfd::set_timer_slack(nanoseconds(1));
    std::printf("wait_cost_bench: %d rounds alternating, %d waits per round and way\n\n", rounds,
                waits);
    std::printf(
        "| wait | sleep: CPU per wait (ns) | sleep: late (us) | timed: CPU per wait (ns) | "
        "timed: late (us) | spin: CPU per wait (ns) | spin: late (us) | timed / sleep CPU | "
        "spin / sleep CPU |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (std::int64_t gap_us : {1, 2, 3, 5, 10, 20, 50, 100}) {
        std::vector<double> cpu[3], late[3];
        auto run = [&](int way) {
            figures f;
            switch (way) {
                case 0:
                    f = measure(gap_us * 1000, waits,
                                [&](std::int64_t deadline) { sleep.wait_until(deadline); });
                    break;
                case 1:
                    f = measure(gap_us * 1000, waits,
                                [&](std::int64_t deadline) { timed.wait_until(deadline); });
                    break;
                default:
                    f = measure(gap_us * 1000, waits, spin_until);
                    break;
            }
            cpu[way].push_back(f.cpu_ns);
            late[way].push_back(f.late_ns);
        };
        for (int r = 0; r < rounds; ++r) {
            for (int k = 0; k < 3; ++k) {
                run((r + k) % 3);  // each round starts with the next way
            }
        }
        std::printf("| %lld us | %.0f | %.1f | %.0f | %.1f | %.0f | %.2f | %.2f | %.2f |\n",
                    static_cast<long long>(gap_us), median(cpu[0]), median(late[0]) / 1e3,
                    median(cpu[1]), median(late[1]) / 1e3, median(cpu[2]), median(late[2]) / 1e3,
                    median(cpu[1]) / median(cpu[0]), median(cpu[2]) / median(cpu[0]));
    }
    std::printf(
        "\nA ratio below 1: that way costs the thread less CPU than sleeping on the timer_fd "
        "for that wait.\n");
    return 0;
}
