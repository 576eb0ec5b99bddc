// sd-event (libsystemd): time event sources, its natural API: sd_event_add_time to start
// (allocates the source), sd_event_source_set_time to reschedule,
// sd_event_source_set_enabled(OFF) to cancel, sd_event_loop.  Accuracy 1 us (sd-event's
// default, 0, means 250 ms of allowed coalescing, which would not be comparable).
#include <systemd/sd-event.h>

#include <memory>
#include <string>
#include <vector>

#include "contender.hpp"

namespace tfd::bench::timers {
namespace {

constexpr std::uint64_t accuracy_us = 1;

struct fire_state {
    lateness late;
    std::size_t remaining = 0;
    sd_event* event = nullptr;
};

int noop_cb(sd_event_source*, std::uint64_t, void*) {
    return 0;
}

std::uint64_t us_ceil(std::int64_t ns) {
    return static_cast<std::uint64_t>((ns + 999) / 1000);
}

class sdevent_contender final : public contender {
  public:
    std::string name() const override { return "sd-event"; }
    std::string how() const override {
        return "sd_event_add_time(CLOCK_MONOTONIC, accuracy 1 us) per timer, "
               "sd_event_source_set_time, set_enabled(OFF), sd_event_loop; us";
    }

    churn_result churn(const workload& w) override {
        const std::size_t n = w.churn_timeouts.size();
        sd_event* e = nullptr;
        sd_event_new(&e);
        std::vector<sd_event_source*> sources(n);
        const std::int64_t now = monotonic_ns();
        const churn_result r = time_churn(
            w,
            [&](std::size_t i, std::int64_t timeout) {
                sd_event_add_time(e, &sources[i], CLOCK_MONOTONIC, us_ceil(now + timeout),
                                  accuracy_us, noop_cb, nullptr);
            },
            [&](std::size_t i, std::int64_t timeout) {
                sd_event_source_set_time(sources[i], us_ceil(now + timeout));
            },
            [&](std::size_t i) { sd_event_source_set_enabled(sources[i], SD_EVENT_OFF); });
        for (sd_event_source* s : sources) {
            sd_event_source_unref(s);
        }
        sd_event_unref(e);
        return r;
    }

    fire_result fire(const workload& w) override {
        const std::size_t n = w.fire_offsets.size();
        sd_event* e = nullptr;
        sd_event_new(&e);
        std::vector<sd_event_source*> sources(n);
        std::vector<std::int64_t> deadlines(n);
        fire_state state;
        state.remaining = n;
        state.event = e;
        current_ = &state;
        const std::int64_t base = monotonic_ns() + 1'000'000;
        for (std::size_t i = 0; i < n; ++i) {
            deadlines[i] = base + w.fire_offsets[i];
            sd_event_add_time(e, &sources[i], CLOCK_MONOTONIC, us_ceil(deadlines[i]), accuracy_us,
                              fire_cb, &deadlines[i]);
        }
        const std::int64_t cpu0 = cpu_ns();
        sd_event_loop(e);
        const fire_result r = state.late.result(cpu_ns() - cpu0);
        for (sd_event_source* s : sources) {
            sd_event_source_unref(s);
        }
        sd_event_unref(e);
        return r;
    }

    double idle(const workload& w) override {
        sd_event* e = nullptr;
        sd_event_new(&e);
        std::vector<sd_event_source*> sources(w.idle_n);
        std::int64_t now = monotonic_ns();
        for (sd_event_source*& s : sources) {
            sd_event_add_time(e, &s, CLOCK_MONOTONIC, us_ceil(now + w.idle_timeout), accuracy_us,
                              noop_cb, nullptr);
        }
        const double ns = time_idle(
            w, [&] { now = monotonic_ns(); },
            [&](std::size_t i) {
                sd_event_source_set_time(sources[i], us_ceil(now + w.idle_timeout));
            });
        for (sd_event_source* s : sources) {
            sd_event_source_unref(s);
        }
        sd_event_unref(e);
        return ns;
    }

    void hold_pending(std::size_t n) override {
        static sd_event* e = nullptr;
        static std::vector<sd_event_source*> sources;
        sd_event_new(&e);
        sources.resize(n);
        const std::int64_t now = monotonic_ns();
        for (std::size_t i = 0; i < n; ++i) {
            sd_event_add_time(e, &sources[i], CLOCK_MONOTONIC,
                              us_ceil(now + ns_per_s + static_cast<std::int64_t>(i) * 97),
                              accuracy_us, noop_cb, &sources);
        }
    }

  private:
    static int fire_cb(sd_event_source*, std::uint64_t, void* userdata) {
        current_->late.record(*static_cast<std::int64_t*>(userdata), monotonic_ns());
        if (--current_->remaining == 0) {
            sd_event_exit(current_->event, 0);
        }
        return 0;
    }
    static inline fire_state* current_ = nullptr;
};

}  // namespace

std::unique_ptr<contender> make_sdevent() {
    return std::make_unique<sdevent_contender>();
}

}  // namespace tfd::bench::timers
