// libevent: struct event from event_new (a min-heap), its natural API: event_add with a
// timeout (which also reschedules a pending event), event_del, event_base_dispatch.
// Microsecond resolution.
#include <event2/event.h>

#include <memory>
#include <string>
#include <vector>

#include "contender.hpp"

namespace tfd::bench::timers {
namespace {

lateness* current_lateness = nullptr;

void noop_cb(evutil_socket_t, short, void*) {}
void fire_cb(evutil_socket_t, short, void* arg) {
    current_lateness->record(*static_cast<std::int64_t*>(arg), monotonic_ns());
}

timeval to_timeval(std::int64_t ns) {
    // Rounded up, so that no timer is asked to fire early.
    const std::int64_t us = (ns + 999) / 1000;
    return timeval{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
}

class libevent_contender final : public contender {
  public:
    libevent_contender() {
        event_config* cfg = event_config_new();
        // Use CLOCK_MONOTONIC itself (not the coarse clock) so lateness is comparable.
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        base_ = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    ~libevent_contender() override { event_base_free(base_); }
    std::string name() const override { return "libevent"; }
    std::string how() const override {
        return "event_new(-1, 0, cb, arg) per timer, event_add(ev, &timeout) to start and "
               "reschedule, event_del, event_base_dispatch; us";
    }

    churn_result churn(const workload& w) override {
        const std::size_t n = w.churn_timeouts.size();
        std::vector<event*> timers(n);
        for (event*& e : timers) {
            e = event_new(base_, -1, 0, noop_cb, nullptr);
        }
        auto add = [&](std::size_t i, std::int64_t timeout) {
            const timeval tv = to_timeval(timeout);
            event_add(timers[i], &tv);
        };
        const churn_result r =
            time_churn(w, add, add, [&](std::size_t i) { event_del(timers[i]); });
        for (event* e : timers) {
            event_free(e);
        }
        return r;
    }

    fire_result fire(const workload& w) override {
        const std::size_t n = w.fire_offsets.size();
        std::vector<event*> timers(n);
        std::vector<std::int64_t> deadlines(n);
        lateness late;
        current_lateness = &late;
        const std::int64_t now = monotonic_ns();
        const std::int64_t base = now + 1'000'000;
        for (std::size_t i = 0; i < n; ++i) {
            deadlines[i] = base + w.fire_offsets[i];
            timers[i] = event_new(base_, -1, 0, fire_cb, &deadlines[i]);
            const timeval tv = to_timeval(deadlines[i] - now);
            event_add(timers[i], &tv);
        }
        const std::int64_t cpu0 = cpu_ns();
        event_base_dispatch(base_);
        const fire_result r = late.result(cpu_ns() - cpu0);
        for (event* e : timers) {
            event_free(e);
        }
        return r;
    }

    double idle(const workload& w) override {
        std::vector<event*> timers(w.idle_n);
        const timeval tv = to_timeval(w.idle_timeout);
        for (event*& e : timers) {
            e = event_new(base_, -1, 0, noop_cb, nullptr);
            event_add(e, &tv);
        }
        // No pass step: libevent reads its clock in event_add.
        const double ns =
            time_idle(w, no_step{}, [&](std::size_t i) { event_add(timers[i], &tv); });
        for (event* e : timers) {
            event_free(e);
        }
        return ns;
    }

    void hold_pending(std::size_t n) override {
        static std::vector<event*> timers;
        timers.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            event* e = event_new(base_, -1, 0, noop_cb, &timers);
            const timeval tv{1 + static_cast<time_t>(i % 100), 0};
            event_add(e, &tv);
            timers.push_back(e);
        }
    }

  private:
    event_base* base_;
};

}  // namespace

std::unique_ptr<contender> make_libevent() {
    return std::make_unique<libevent_contender>();
}

}  // namespace tfd::bench::timers
