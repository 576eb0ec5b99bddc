// libev: ev_timer (a 4-ary heap with cached deadlines), its natural API: ev_timer_set +
// ev_timer_start, ev_timer_again for refreshes (libev's documented idle-timeout idiom),
// ev_timer_stop, ev_run.  Watchers live in one array, as users embed them.
#include <ev.h>

#include <memory>
#include <string>
#include <vector>

#include "contender.hpp"

namespace tfd::bench::timers {
namespace {

lateness* current_lateness = nullptr;
std::vector<std::int64_t>* current_deadlines = nullptr;
ev_timer* current_base = nullptr;

void noop_cb(struct ev_loop*, ev_timer*, int) {}
void fire_cb(struct ev_loop*, ev_timer* w, int) {
    current_lateness->record((*current_deadlines)[static_cast<std::size_t>(w - current_base)],
                             monotonic_ns());
}

double seconds(std::int64_t ns) {
    return static_cast<double>(ns) / 1e9;
}

class libev_contender final : public contender {
  public:
    libev_contender() : loop_(ev_loop_new(EVFLAG_AUTO)) {}
    ~libev_contender() override { ev_loop_destroy(loop_); }
    std::string name() const override { return "libev"; }
    std::string how() const override {
        return "ev_timer (" + std::to_string(sizeof(ev_timer)) +
               " B) array; ev_timer_set+ev_timer_start, ev_timer_again, ev_timer_stop, ev_run";
    }

    churn_result churn(const workload& w) override {
        const std::size_t n = w.churn_timeouts.size();
        std::vector<ev_timer> timers(n);
        for (ev_timer& t : timers) {
            ev_timer_init(&t, noop_cb, 0., 0.);
        }
        ev_now_update(loop_);
        return time_churn(
            w,
            [&](std::size_t i, std::int64_t timeout) {
                ev_timer_set(&timers[i], seconds(timeout), 0.);
                ev_timer_start(loop_, &timers[i]);
            },
            [&](std::size_t i, std::int64_t timeout) {
                timers[i].repeat = seconds(timeout);
                ev_timer_again(loop_, &timers[i]);
            },
            [&](std::size_t i) { ev_timer_stop(loop_, &timers[i]); });
    }

    fire_result fire(const workload& w) override {
        const std::size_t n = w.fire_offsets.size();
        std::vector<ev_timer> timers(n);
        std::vector<std::int64_t> deadlines(n);
        lateness late;
        current_lateness = &late;
        current_deadlines = &deadlines;
        current_base = timers.data();
        // libev schedules at its cached monotonic time plus `after`; take that time with
        // ev_now_update() and read CLOCK_MONOTONIC right after it (ev_now() itself is wall
        // clock time, so it cannot be compared with monotonic deadlines).
        ev_now_update(loop_);
        const std::int64_t now = monotonic_ns();
        const std::int64_t base = now + 1'000'000;
        for (std::size_t i = 0; i < n; ++i) {
            deadlines[i] = base + w.fire_offsets[i];
            ev_timer_init(&timers[i], fire_cb, seconds(deadlines[i] - now), 0.);
            ev_timer_start(loop_, &timers[i]);
        }
        const std::int64_t cpu0 = cpu_ns();
        ev_run(loop_, 0);
        return late.result(cpu_ns() - cpu0);
    }

    double idle(const workload& w) override {
        std::vector<ev_timer> timers(w.idle_n);
        const double timeout = seconds(w.idle_timeout);
        ev_now_update(loop_);
        for (ev_timer& t : timers) {
            ev_timer_init(&t, noop_cb, 0., timeout);
            ev_timer_again(loop_, &t);
        }
        const double ns = time_idle(
            w, [&] { ev_now_update(loop_); },
            [&](std::size_t i) { ev_timer_again(loop_, &timers[i]); });
        for (ev_timer& t : timers) {
            ev_timer_stop(loop_, &t);
        }
        return ns;
    }

    void hold_pending(std::size_t n) override {
        static std::vector<ev_timer> timers;
        timers = std::vector<ev_timer>(n);
        for (std::size_t i = 0; i < n; ++i) {
            ev_timer_init(&timers[i], noop_cb, 1. + static_cast<double>(i) * 97e-9, 0.);
            timers[i].data = &timers[i];
            ev_timer_start(loop_, &timers[i]);
        }
    }

  private:
    struct ev_loop* loop_;
};

}  // namespace

std::unique_ptr<contender> make_libev() {
    return std::make_unique<libev_contender>();
}

}  // namespace tfd::bench::timers
