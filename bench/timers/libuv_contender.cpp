// libuv: uv_timer_t (a binary heap), its natural API: uv_timer_start (which also restarts a
// running timer), uv_timer_stop, uv_run.  Millisecond resolution, relative to the loop's
// cached uv_now().  Handles live in one array.
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "contender.hpp"

namespace tfd::bench::timers {
namespace {

lateness* current_lateness = nullptr;
std::vector<std::int64_t>* current_deadlines = nullptr;
uv_timer_t* current_base = nullptr;

void noop_cb(uv_timer_t*) {}
void fire_cb(uv_timer_t* h) {
    current_lateness->record((*current_deadlines)[static_cast<std::size_t>(h - current_base)],
                             monotonic_ns());
}

std::uint64_t ms_ceil(std::int64_t ns) {
    return ns <= 0 ? 0 : static_cast<std::uint64_t>((ns + 999'999) / 1'000'000);
}

class libuv_contender final : public contender {
  public:
    libuv_contender() { uv_loop_init(&loop_); }
    ~libuv_contender() override { uv_loop_close(&loop_); }
    std::string name() const override { return "libuv"; }
    std::string how() const override {
        return "uv_timer_t (" + std::to_string(sizeof(uv_timer_t)) +
               " B) array; uv_timer_start (start and restart), uv_timer_stop, uv_run; ms";
    }

    churn_result churn(const workload& w) override {
        const std::size_t n = w.churn_timeouts.size();
        std::vector<uv_timer_t> timers(n);
        for (uv_timer_t& t : timers) {
            uv_timer_init(&loop_, &t);
        }
        uv_update_time(&loop_);
        auto start = [&](std::size_t i, std::int64_t timeout) {
            uv_timer_start(&timers[i], noop_cb, ms_ceil(timeout), 0);
        };
        const churn_result r =
            time_churn(w, start, start, [&](std::size_t i) { uv_timer_stop(&timers[i]); });
        close_all(timers);
        return r;
    }

    fire_result fire(const workload& w) override {
        const std::size_t n = w.fire_offsets.size();
        std::vector<uv_timer_t> timers(n);
        std::vector<std::int64_t> deadlines(n);
        lateness late;
        current_lateness = &late;
        current_deadlines = &deadlines;
        current_base = timers.data();
        uv_update_time(&loop_);
        const std::int64_t now = monotonic_ns();
        const std::int64_t base = now + 1'000'000;
        for (std::size_t i = 0; i < n; ++i) {
            deadlines[i] = base + w.fire_offsets[i];
            uv_timer_init(&loop_, &timers[i]);
            uv_timer_start(&timers[i], fire_cb, ms_ceil(deadlines[i] - now), 0);
        }
        const std::int64_t cpu0 = cpu_ns();
        uv_run(&loop_, UV_RUN_DEFAULT);
        const fire_result r = late.result(cpu_ns() - cpu0);
        close_all(timers);
        return r;
    }

    double idle(const workload& w) override {
        std::vector<uv_timer_t> timers(w.idle_n);
        const std::uint64_t timeout = ms_ceil(w.idle_timeout);
        uv_update_time(&loop_);
        for (uv_timer_t& t : timers) {
            uv_timer_init(&loop_, &t);
            uv_timer_start(&t, noop_cb, timeout, 0);
        }
        const double ns = time_idle(
            w, [&] { uv_update_time(&loop_); },
            [&](std::size_t i) { uv_timer_start(&timers[i], noop_cb, timeout, 0); });
        close_all(timers);
        return ns;
    }

    void hold_pending(std::size_t n) override {
        static std::vector<uv_timer_t> timers;
        timers = std::vector<uv_timer_t>(n);
        for (std::size_t i = 0; i < n; ++i) {
            uv_timer_init(&loop_, &timers[i]);
            timers[i].data = &timers[i];
            uv_timer_start(&timers[i], noop_cb, 1000 + i % 1000, 0);
        }
    }

  private:
    // Handles must be closed (and the close callbacks run) before their memory goes.
    void close_all(std::vector<uv_timer_t>& timers) {
        for (uv_timer_t& t : timers) {
            uv_close(reinterpret_cast<uv_handle_t*>(&t), nullptr);
        }
        uv_run(&loop_, UV_RUN_NOWAIT);
    }

    uv_loop_t loop_{};
};

}  // namespace

std::unique_ptr<contender> make_libuv() {
    return std::make_unique<libuv_contender>();
}

}  // namespace tfd::bench::timers
