#include "runner.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "tfd/timer_slack.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd::latency {
namespace {

std::string errno_text(int error) {
    return std::string(strerrordesc_np(error)) + " (" + strerrorname_np(error) + ")";
}

// Tries SCHED_FIFO on the calling thread; returns "" or why it was refused.
std::string set_fifo(int priority) {
    sched_param param{};
    param.sched_priority = priority;
    int error = ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &param);
    return error == 0 ? std::string() : errno_text(error);
}

void set_normal() {
    sched_param param{};
    ::pthread_setschedparam(::pthread_self(), SCHED_OTHER, &param);
}

std::string pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<unsigned>(cpu), &set);
    int error = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
    return error == 0 ? std::string() : errno_text(error);
}

// What one measuring thread found: its own stats per mode.
struct thread_result {
    std::vector<mode_stats> stats;
    std::vector<std::string> failed;
    std::vector<std::string> notes;
    std::chrono::nanoseconds slack{0};
};

void measure_on_thread(unsigned index, const options& opts, std::optional<int> priority,
                       const std::vector<const mode_info*>& modes, thread_result& out) {
    run_config config;
    config.clock = opts.clock;
    config.period = opts.period;
    config.lock_memory = opts.lock_memory;
    config.python = opts.python;
    config.spin_margin = opts.spin_margin;
    if (!opts.cpus.empty()) {
        int cpu = opts.cpus[index % opts.cpus.size()];
        if (std::string error = pin_to(cpu); error.empty()) {
            config.cpu = cpu;
        } else {
            out.notes.push_back("thread " + std::to_string(index) + ": pinning to CPU " +
                                std::to_string(cpu) + " failed: " + error);
        }
    }
    if (priority) {
        if (std::string error = set_fifo(*priority); error.empty()) {
            config.priority = priority;
        } else {
            out.notes.push_back("thread " + std::to_string(index) +
                                ": SCHED_FIFO refused: " + error);
        }
    }
    std::optional<scoped_timer_slack> slack;
    if (opts.slack) {
        slack.emplace(*opts.slack);
    }
    out.slack = timer_slack();

    out.stats.resize(modes.size());
    out.failed.resize(modes.size());
    std::vector<std::unique_ptr<mode>> instances(modes.size());
    for (std::size_t i = 0; i < modes.size(); ++i) {
        try {
            instances[i] = modes[i]->make(config);
        } catch (const std::exception& e) {
            out.failed[i] = e.what();
        }
    }
    // Round r starts with mode (r + thread) % n, so every mode takes every position in turn
    // and no mode always runs right after the same other one.
    for (std::uint64_t round = 0;; ++round) {
        bool any = false;
        for (std::size_t k = 0; k < modes.size(); ++k) {
            std::size_t i = (round + index + k) % modes.size();
            std::uint64_t done = out.stats[i].periods;
            if (!instances[i] || done >= opts.count) {
                continue;
            }
            any = true;
            try {
                instances[i]->run_chunk(std::min(opts.round, opts.count - done), out.stats[i]);
            } catch (const std::exception& e) {
                out.failed[i] = e.what();
                instances[i].reset();
            }
        }
        if (!any) {
            break;
        }
    }
}

}  // namespace

run_outcome run_measurement(const options& opts, const std::vector<const mode_info*>& modes) {
    run_outcome outcome;
    if (opts.lock_memory) {
        // With a small RLIMIT_MEMLOCK, mlockall(MCL_FUTURE) can succeed and then make every
        // later allocation (a thread's stack) fail with EAGAIN; better not to lock at all.
        rlimit limit{};
        ::getrlimit(RLIMIT_MEMLOCK, &limit);
        constexpr rlim_t enough = rlim_t{256} << 20;
        if (::geteuid() != 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < enough) {
            outcome.notes.push_back("--mlockall skipped: RLIMIT_MEMLOCK is " +
                                    std::to_string(limit.rlim_cur >> 10) +
                                    " KiB (raise it with ulimit -l, or run as root)");
        } else if (::mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
            outcome.notes.push_back("mlockall failed: " + errno_text(errno) +
                                    "; running with pageable memory");
        } else {
            outcome.memory_locked = true;
        }
        if (!outcome.notes.empty()) {
            std::fprintf(stderr, "tfd-latency: %s\n", outcome.notes.back().c_str());
        }
    }
    unique_fd pm_qos;
    if (opts.pm_qos) {
        // The request lasts while the descriptor stays open (Documentation/power/pm_qos).
        pm_qos = unique_fd(::open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC));
        std::int32_t zero = 0;
        if (!pm_qos.valid() || ::write(pm_qos.get(), &zero, sizeof zero) != sizeof zero) {
            outcome.notes.push_back("--pm-qos: /dev/cpu_dma_latency: " + errno_text(errno));
            std::fprintf(stderr, "tfd-latency: %s\n", outcome.notes.back().c_str());
        } else {
            outcome.pm_qos_held = true;
        }
    }
    std::optional<int> priority = opts.priority;
    outcome.scheduling = "SCHED_OTHER";
    if (priority) {
        // Ask once up front so a refusal is reported before the run, not per thread.
        if (std::string error = set_fifo(*priority); !error.empty()) {
            outcome.notes.push_back("SCHED_FIFO priority " + std::to_string(*priority) +
                                    " refused: " + error +
                                    " -- it needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO of at "
                                    "least that; measuring at SCHED_OTHER instead");
            std::fprintf(stderr, "tfd-latency: %s\n", outcome.notes.back().c_str());
            priority.reset();
        } else {
            set_normal();
            outcome.scheduling = "SCHED_FIFO " + std::to_string(*priority);
        }
    }

    // CPU hogs: plain busy loops at normal priority, on the measuring threads' CPUs.
    std::atomic<bool> hogging{true};
    std::vector<std::thread> hogs;
    for (unsigned h = 0; h < opts.hogs; ++h) {
        hogs.emplace_back([&hogging, &opts, h] {
            if (!opts.cpus.empty()) {
                pin_to(opts.cpus[h % opts.cpus.size()]);
            }
            while (hogging.load(std::memory_order_relaxed)) {
            }
        });
    }

    std::vector<thread_result> results(opts.threads);
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < opts.threads; ++t) {
        threads.emplace_back(measure_on_thread, t, std::cref(opts), priority, std::cref(modes),
                             std::ref(results[t]));
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    hogging = false;
    for (std::thread& hog : hogs) {
        hog.join();
    }
    outcome.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    outcome.modes.resize(modes.size());
    for (std::size_t i = 0; i < modes.size(); ++i) {
        outcome.modes[i].info = modes[i];
    }
    for (thread_result& result : results) {
        outcome.slack = result.slack;
        outcome.notes.insert(outcome.notes.end(), result.notes.begin(), result.notes.end());
        for (std::size_t i = 0; i < modes.size(); ++i) {
            outcome.modes[i].stats.merge(result.stats[i]);
            if (!result.failed[i].empty() && outcome.modes[i].failed.empty()) {
                outcome.modes[i].failed = result.failed[i];
            }
        }
    }
    return outcome;
}

}  // namespace tfd::latency
