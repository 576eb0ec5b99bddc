// tfd contenders: the timer queue itself (wheel and heap kinds) driven by a minimal loop on
// one timer_fd, and the public event_loop timer API (which runs on the wheel).
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "contender.hpp"
#include "tfd/embedded_timer.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/timer_fd.hpp"
#include "tfd/timer_queue.hpp"
#include "tfd/timer_watcher.hpp"

namespace tfd::bench::timers {
namespace {

using std::chrono::nanoseconds;

lateness* current_lateness = nullptr;  // the fire workload's recorder

// A timer the way the loop stores one: the queue hook plus the loop's callback type (one
// pointer of captures in place).  48 bytes.
struct node : timer_entry {
    timer_callback callback;
};

class queue_contender final : public contender {
  public:
    queue_contender(timer_queue::kind k, std::int64_t slack_ns) : kind_(k), slack_ns_(slack_ns) {}
    std::string name() const override {
        return std::string(kind_ == timer_queue::kind::wheel ? "tfd-wheel" : "tfd-heap") +
               (slack_ns_ > 0 ? "+slack" + std::to_string(slack_ns_ / 1000) + "us" : "");
    }
    std::string how() const override {
        return std::string("timer_queue(kind::") +
               (kind_ == timer_queue::kind::wheel ? "wheel" : "heap") +
               ") start/refresh/cancel on nodes of timer_entry + timer_callback (" +
               std::to_string(sizeof(node)) +
               " B) in one array; fire: one timer_fd armed ABSTIME at next_deadline()" +
               (slack_ns_ > 0 ? " + " + std::to_string(slack_ns_) +
                                    " ns of slack (wake-ups coalesced, never early)"
                              : "");
    }

    churn_result churn(const workload& w) override {
        const std::size_t n = w.churn_timeouts.size();
        std::vector<node> nodes(n);
        timer_queue q(kind_);
        const std::int64_t now = monotonic_ns();  // a loop's cached time
        return time_churn(
            w,
            [&](std::size_t i, std::int64_t timeout) {
                q.start(nodes[i], nanoseconds(now + timeout));
            },
            [&](std::size_t i, std::int64_t timeout) {
                q.refresh(nodes[i], nanoseconds(now + timeout));
            },
            [&](std::size_t i) { q.cancel(nodes[i]); });
    }

    fire_result fire(const workload& w) override {
        const std::size_t n = w.fire_offsets.size();
        std::vector<node> nodes(n);
        timer_queue q(kind_);
        lateness late;
        current_lateness = &late;
        const std::int64_t base = monotonic_ns() + 1'000'000;
        for (std::size_t i = 0; i < n; ++i) {
            node* self = &nodes[i];
            nodes[i].callback = [self](std::uint64_t) {
                current_lateness->record(self->deadline().count(), monotonic_ns());
            };
            q.start(nodes[i], nanoseconds(base + w.fire_offsets[i]));
        }
        timer_fd fd(clock_id::monotonic);
        const std::int64_t cpu0 = cpu_ns();
        std::int64_t armed = std::numeric_limits<std::int64_t>::min();
        while (std::optional<nanoseconds> next = q.next_deadline()) {
            std::int64_t now = monotonic_ns();
            if (next->count() > now) {
                // With slack, sleep a little past the earliest deadline so that the timers
                // due in between fire in the same wake-up (late by up to the slack, never
                // early).
                const std::int64_t wake = next->count() + slack_ns_;
                if (wake != armed) {  // skip unchanged re-arms
                    fd.settime(nanoseconds(wake), nanoseconds(0), set_flags::absolute);
                    armed = wake;
                }
                (void)fd.read();  // blocks until the deadline
                armed = std::numeric_limits<std::int64_t>::min();
                now = monotonic_ns();
            }
            while (timer_entry* e = q.pop_due(nanoseconds(now))) {
                static_cast<node*>(e)->callback(0);
            }
        }
        return late.result(cpu_ns() - cpu0);
    }

    double idle(const workload& w) override {
        std::vector<node> nodes(w.idle_n);
        timer_queue q(kind_);
        std::int64_t now = monotonic_ns();
        for (node& x : nodes) {
            q.start(x, nanoseconds(now + w.idle_timeout));
        }
        const double ns = time_idle(
            w, [&] { now = monotonic_ns(); },
            [&](std::size_t i) { q.refresh(nodes[i], nanoseconds(now + w.idle_timeout)); });
        for (node& x : nodes) {
            q.cancel(x);
        }
        return ns;
    }

    void hold_pending(std::size_t n) override {
        static std::vector<node> nodes;  // kept until exit
        static timer_queue q(kind_);
        nodes = std::vector<node>(n);
        const std::int64_t now = monotonic_ns();
        for (std::size_t i = 0; i < n; ++i) {
            node* self = &nodes[i];
            nodes[i].callback = [self](std::uint64_t) { self->callback = nullptr; };
            q.start(nodes[i], nanoseconds(now + ns_per_s + static_cast<std::int64_t>(i) * 97));
        }
    }

  private:
    timer_queue::kind kind_;
    std::int64_t slack_ns_;
};

// Through the public API: event_loop::at() / timer_watcher::restart_at / stop, and run().
class loop_contender final : public contender {
  public:
    explicit loop_contender(std::int64_t coalescing_ns) : coalescing_ns_(coalescing_ns) {}
    std::string name() const override {
        return "tfd-loop" + (coalescing_ns_ > 0
                                 ? "+coalesce" + std::to_string(coalescing_ns_ / 1000) + "us"
                                 : "");
    }
    std::string how() const override {
        return "event_loop::at(deadline, lambda) -> timer_watcher (node from the "
               "loop's pool, reserve_timers(n) first), restart_at, stop; idle: "
               "restart_at(cached now + timeout), now re-read every " +
               std::to_string(workload::idle_batch) +
               " refreshes; fire: event_loop::run() (default spin_below: waits under 3 us "
               "spin), the callback keeping its deadline (8 bytes, as asio's handler)" +
               (coalescing_ns_ > 0
                    ? " with loop_options::timer_coalescing = " + std::to_string(coalescing_ns_) +
                          " ns (wake-ups coalesced, never early)"
                    : std::string());
    }

    churn_result churn(const workload& w) override {
        const std::size_t n = w.churn_timeouts.size();
        event_loop loop;
        // The peers' timers live in arrays the harness allocates before timing; the loop's
        // nodes live in its pool, allocated (and faulted in) here likewise.
        loop.reserve_timers(n);
        std::vector<timer_watcher> timers(n);
        const std::int64_t now = monotonic_ns();
        int sink = 0;
        int* p = &sink;
        const churn_result r = time_churn(
            w,
            [&](std::size_t i, std::int64_t timeout) {
                timers[i] = loop.at(
                    nanoseconds(now + timeout), [p](std::uint64_t) { ++*p; }, clock_id::monotonic);
            },
            [&](std::size_t i, std::int64_t timeout) {
                timers[i].restart_at(nanoseconds(now + timeout));
            },
            [&](std::size_t i) { timers[i].stop(); });
        timers.clear();
        return r;
    }

    fire_result fire(const workload& w) override {
        const std::size_t n = w.fire_offsets.size();
        event_loop loop(backend_kind::epoll,
                        loop_options{.timer_coalescing = nanoseconds(coalescing_ns_)});
        std::vector<timer_watcher> timers(n);
        lateness late;
        current_lateness = &late;
        const std::int64_t base = monotonic_ns() + 1'000'000;
        for (std::size_t i = 0; i < n; ++i) {
            // A handle's callback is not handed its timer: it keeps its deadline itself, as
            // asio's handler does (8 bytes, stored in place).
            const std::int64_t deadline = base + w.fire_offsets[i];
            timers[i] = loop.at(
                nanoseconds(deadline),
                [deadline](std::uint64_t) { current_lateness->record(deadline, monotonic_ns()); },
                clock_id::monotonic);
        }
        const std::int64_t cpu0 = cpu_ns();
        loop.run();
        const fire_result r = late.result(cpu_ns() - cpu0);
        timers.clear();
        return r;
    }

    double idle(const workload& w) override {
        event_loop loop;
        std::vector<timer_watcher> timers(w.idle_n);
        int sink = 0;
        int* p = &sink;
        std::int64_t now = monotonic_ns();
        for (timer_watcher& t : timers) {
            t = loop.at(
                nanoseconds(now + w.idle_timeout), [p](std::uint64_t) { ++*p; },
                clock_id::monotonic);
        }
        // As the embedded contender and libev's ev_timer_again do: a cached now, re-read
        // once per pass (restart_after would read the clock on every call).
        const double ns = time_idle(
            w, [&] { now = monotonic_ns(); },
            [&](std::size_t i) { timers[i].restart_at(nanoseconds(now + w.idle_timeout)); });
        timers.clear();
        return ns;
    }

    void hold_pending(std::size_t n) override {
        static event_loop loop;
        static std::vector<timer_watcher> timers;
        timers.reserve(n);
        const std::int64_t now = monotonic_ns();
        for (std::size_t i = 0; i < n; ++i) {
            int* p = &sink_;
            timers.push_back(loop.at(
                nanoseconds(now + ns_per_s + static_cast<std::int64_t>(i) * 97),
                [p](std::uint64_t) { ++*p; }, clock_id::monotonic));
        }
    }

  private:
    std::int64_t coalescing_ns_;
    int sink_ = 0;
};

// Through the public API, timers embedded in the user's objects: embedded_timer::start_at
// (which refreshes an active timer) and stop, and run().
class embedded_contender final : public contender {
  public:
    embedded_contender(std::int64_t coalescing_ns, bool spin, bool timed)
        : coalescing_ns_(coalescing_ns), spin_(spin), timed_(timed) {}
    std::string name() const override {
        return "tfd-embedded" +
               (coalescing_ns_ > 0 ? "+coalesce" + std::to_string(coalescing_ns_ / 1000) + "us"
                                   : "") +
               (spin_ ? "" : "+nospin") + (timed_ ? "+timed" : "");
    }
    std::string how() const override {
        return "tfd::embedded_timer (" + std::to_string(sizeof(embedded_timer)) +
               " B) array, callback set untimed (as ev_timer_init); start_at(loop, deadline) to "
               "start and refresh, stop(); idle: start_at(loop, cached now + timeout), now "
               "re-read every " +
               std::to_string(workload::idle_batch) + " refreshes; fire: event_loop::run()" +
               (spin_ ? std::string(" (default spin_below: waits under 3 us spin)")
                      : std::string(" with loop_options::spin_below = 0 (every wait sleeps)")) +
               (coalescing_ns_ > 0 ? " with loop_options::timer_coalescing = " +
                                         std::to_string(coalescing_ns_) + " ns"
                                   : std::string()) +
               (timed_ ? std::string(" and loop_options::timer_slack = 1 ns (timed waits: a "
                                     "deadline up to 100 us ahead is waited for with "
                                     "epoll_pwait2's timeout, one system call per wake-up)")
                       : std::string());
    }

    churn_result churn(const workload& w) override {
        const std::size_t n = w.churn_timeouts.size();
        event_loop loop;
        std::vector<embedded_timer> timers(n);
        int sink = 0;
        int* p = &sink;
        for (embedded_timer& t : timers) {
            t.set_callback([p] { ++*p; });
        }
        const std::int64_t now = monotonic_ns();
        auto start = [&](std::size_t i, std::int64_t timeout) {
            timers[i].start_at(loop, nanoseconds(now + timeout));  // refreshes an active one
        };
        return time_churn(w, start, start, [&](std::size_t i) { timers[i].stop(); });
    }

    fire_result fire(const workload& w) override {
        const std::size_t n = w.fire_offsets.size();
        loop_options options{.timer_coalescing = nanoseconds(coalescing_ns_)};
        if (!spin_) {
            options.spin_below = nanoseconds(0);
        }
        if (timed_) {
            options.timer_slack = nanoseconds(1);
        }
        event_loop loop(backend_kind::epoll, options);
        std::vector<embedded_timer> timers(n);
        lateness late;
        current_lateness = &late;
        const std::int64_t base = monotonic_ns() + 1'000'000;
        for (std::size_t i = 0; i < n; ++i) {
            embedded_timer* self = &timers[i];
            timers[i].set_callback(
                [self] { current_lateness->record(self->deadline().count(), monotonic_ns()); });
            timers[i].start_at(loop, nanoseconds(base + w.fire_offsets[i]));
        }
        const std::int64_t cpu0 = cpu_ns();
        loop.run();
        return late.result(cpu_ns() - cpu0);
    }

    double idle(const workload& w) override {
        event_loop loop;
        std::vector<embedded_timer> timers(w.idle_n);
        int sink = 0;
        int* p = &sink;
        std::int64_t now = monotonic_ns();
        for (embedded_timer& t : timers) {
            t.set_callback([p] { ++*p; });
            t.start_at(loop, nanoseconds(now + w.idle_timeout));
        }
        const double ns = time_idle(
            w, [&] { now = monotonic_ns(); },
            [&](std::size_t i) { timers[i].start_at(loop, nanoseconds(now + w.idle_timeout)); });
        for (embedded_timer& t : timers) {
            t.stop();
        }
        return ns;
    }

    void hold_pending(std::size_t n) override {
        static event_loop loop;
        static std::vector<embedded_timer> timers;
        timers = std::vector<embedded_timer>(n);
        const std::int64_t now = monotonic_ns();
        for (std::size_t i = 0; i < n; ++i) {
            embedded_timer* self = &timers[i];
            timers[i].set_callback([self] { self->stop(); });
            timers[i].start_at(loop,
                               nanoseconds(now + ns_per_s + static_cast<std::int64_t>(i) * 97));
        }
    }

  private:
    std::int64_t coalescing_ns_;
    bool spin_;
    bool timed_;
};

}  // namespace

std::unique_ptr<contender> make_tfd_embedded(std::int64_t coalescing_ns, bool spin, bool timed) {
    return std::make_unique<embedded_contender>(coalescing_ns, spin, timed);
}

std::unique_ptr<contender> make_tfd_wheel() {
    return std::make_unique<queue_contender>(timer_queue::kind::wheel, 0);
}
std::unique_ptr<contender> make_tfd_wheel_slack(std::int64_t slack_ns) {
    return std::make_unique<queue_contender>(timer_queue::kind::wheel, slack_ns);
}
std::unique_ptr<contender> make_tfd_heap() {
    return std::make_unique<queue_contender>(timer_queue::kind::heap, 0);
}
std::unique_ptr<contender> make_tfd_loop(std::int64_t coalescing_ns) {
    return std::make_unique<loop_contender>(coalescing_ns);
}

}  // namespace tfd::bench::timers
