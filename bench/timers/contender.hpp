// The timer workloads of bench/timers and the interface every contender (tfd and each peer
// library) implements with its own natural API.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace tfd::bench::timers {

constexpr std::int64_t ns_per_s = 1'000'000'000;

// Inputs shared by every contender, generated once from a fixed seed.
struct workload {
    // churn: start all, refresh all in random order, cancel all in random order.
    std::vector<std::int64_t> churn_timeouts;  // ns, uniform in [1 s, 100 s]
    // The k-th refresh moves timer refresh_order[k] to churn_refresh_timeouts[k]: stored in
    // refresh order so that reading it is sequential and the harness adds no cache miss.
    std::vector<std::int64_t> churn_refresh_timeouts;
    std::vector<std::uint32_t> refresh_order;
    std::vector<std::uint32_t> cancel_order;
    // fire: timers at uniform random offsets in [0, 1 s) after a common start, run to the end.
    std::vector<std::int64_t> fire_offsets;
    // idle timeouts: idle_n timers of idle_timeout, each refreshed idle_passes times in
    // connection order (the loop's clock is re-read every idle_batch refreshes, as a loop
    // does once per pass).
    std::size_t idle_n = 0;
    unsigned idle_passes = 0;
    std::int64_t idle_timeout = 30 * ns_per_s;
    static constexpr std::size_t idle_batch = 256;
};

struct churn_result {
    double start_ns = 0;  // per operation
    double refresh_ns = 0;
    double cancel_ns = 0;
};

struct fire_result {
    double cpu_ns_per_timer = 0;  // process CPU time (user + system) from run to last fire
    double mean_late_us = 0;      // how late the callbacks ran, on average
    double max_late_us = 0;
    std::size_t early = 0;  // callbacks that ran before their deadline (must be 0)
};

class contender {
  public:
    virtual ~contender() = default;
    [[nodiscard]] virtual std::string name() const = 0;
    // What was measured (API, allocation), for the report.
    [[nodiscard]] virtual std::string how() const = 0;
    virtual churn_result churn(const workload& w) = 0;
    virtual fire_result fire(const workload& w) = 0;
    // ns per refresh.
    virtual double idle(const workload& w) = 0;
    // Creates n pending timers, each with a small callback capturing one pointer, and keeps
    // them until the process exits (the memory probe runs this in a fresh process).
    virtual void hold_pending(std::size_t n) = 0;
};

// Every contender compiled in, tfd's first.
std::vector<std::unique_ptr<contender>> make_contenders();

// Helpers shared by the adapters.
inline std::int64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * ns_per_s + ts.tv_nsec;
}
inline std::int64_t cpu_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * ns_per_s + ts.tv_nsec;
}

// Does nothing: the default for the optional steps of time_churn and time_idle.
struct no_step {
    void operator()() const noexcept {}
};

// The churn workload's three timed phases around a contender's own calls: start(i, timeout)
// for every timer in index order, refresh(i, timeout) in w.refresh_order, cancel(i) in
// w.cancel_order (timeouts in ns).  end_refresh() and end_cancel() run last inside their
// phase (a loop pass that completes the aborted waits, for asio).  Templates, so the calls
// inline as if written in the loops.  ns per operation.
template <class Start, class Refresh, class Cancel, class EndRefresh = no_step,
          class EndCancel = no_step>
churn_result time_churn(const workload& w, Start start, Refresh refresh, Cancel cancel,
                        EndRefresh end_refresh = {}, EndCancel end_cancel = {}) {
    const std::size_t n = w.churn_timeouts.size();
    const std::int64_t t0 = monotonic_ns();
    for (std::size_t i = 0; i < n; ++i) {
        start(i, w.churn_timeouts[i]);
    }
    const std::int64_t t1 = monotonic_ns();
    for (std::size_t k = 0; k < w.refresh_order.size(); ++k) {
        refresh(w.refresh_order[k], w.churn_refresh_timeouts[k]);
    }
    end_refresh();
    const std::int64_t t2 = monotonic_ns();
    for (std::uint32_t i : w.cancel_order) {
        cancel(i);
    }
    end_cancel();
    const std::int64_t t3 = monotonic_ns();
    const auto dn = static_cast<double>(n);
    return {static_cast<double>(t1 - t0) / dn, static_cast<double>(t2 - t1) / dn,
            static_cast<double>(t3 - t2) / dn};
}

// The memory floor of the churn workload: the same three phases over an array of 48-byte
// records (the size of a libev ev_timer and of a tfd::embedded_timer), each operation one
// load of the record's state and one store, and no timer queue at all.  Every timer
// library has to read the timer it is handed, so none can beat this; it is a reference
// line, not a peer.
inline churn_result churn_floor(const workload& w) {
    struct record {
        std::int64_t deadline = 0;
        std::uint64_t state = 0;
        unsigned char rest[32] = {};
    };
    static_assert(sizeof(record) == 48);
    std::vector<record> records(w.churn_timeouts.size());  // allocated and touched untimed
    const std::int64_t now = monotonic_ns();
    return time_churn(
        w,
        [&](std::size_t i, std::int64_t timeout) {
            record& r = records[i];
            r.state = r.state == 0 ? 1 : r.state;
            r.deadline = now + timeout;
        },
        [&](std::size_t i, std::int64_t timeout) {
            record& r = records[i];
            if (r.state != 0) {
                r.deadline = now + timeout;
            }
        },
        [&](std::size_t i) {
            record& r = records[i];
            if (r.state != 0) {
                r.state = 0;
            }
        });
}

// The idle workload's timed part: every timer refreshed w.idle_passes times in index order,
// with pass_begins() before every workload::idle_batch-th refresh (what a loop does once
// per pass: re-read its clock, complete aborted waits) and end() after the last.  ns per
// refresh.
template <class PassBegins, class Refresh, class End = no_step>
double time_idle(const workload& w, PassBegins pass_begins, Refresh refresh, End end = {}) {
    const std::int64_t t0 = monotonic_ns();
    for (unsigned pass = 0; pass < w.idle_passes; ++pass) {
        for (std::size_t i = 0; i < w.idle_n; ++i) {
            if (i % workload::idle_batch == 0) {
                pass_begins();
            }
            refresh(i);
        }
    }
    end();
    const std::int64_t t1 = monotonic_ns();
    return static_cast<double>(t1 - t0) / static_cast<double>(w.idle_n * w.idle_passes);
}

// Records callback lateness for the fire workload.
struct lateness {
    std::size_t fired = 0;
    std::size_t early = 0;
    double sum_late_ns = 0;
    double max_late_ns = 0;
    void record(std::int64_t deadline_ns, std::int64_t now_ns) {
        ++fired;
        const std::int64_t late = now_ns - deadline_ns;
        if (late < 0) {
            ++early;
        }
        sum_late_ns += static_cast<double>(late);
        max_late_ns = std::max(max_late_ns, static_cast<double>(late));
    }
    fire_result result(std::int64_t cpu_spent_ns) const {
        fire_result r;
        r.cpu_ns_per_timer = static_cast<double>(cpu_spent_ns) / static_cast<double>(fired);
        r.mean_late_us = sum_late_ns / static_cast<double>(fired) / 1e3;
        r.max_late_us = max_late_ns / 1e3;
        r.early = early;
        return r;
    }
};

}  // namespace tfd::bench::timers
