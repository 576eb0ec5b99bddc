// asio (standalone, header-only): asio::steady_timer, its natural API: expires_after +
// async_wait(lambda) to start, expires_after again to reschedule (which completes the
// pending wait with operation_aborted, so a new async_wait follows), cancel, and
// io_context::run.  Aborted handlers are drained with poll() inside the timed phase, as a
// loop pass would.  Timers live in one vector; asio allocates each wait's operation.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "contender.hpp"

namespace tfd::bench::timers {
namespace {

using std::chrono::nanoseconds;

class asio_contender final : public contender {
  public:
    std::string name() const override { return "asio"; }
    std::string how() const override {
        return "asio::steady_timer (" + std::to_string(sizeof(asio::steady_timer)) +
               " B) vector; expires_after + async_wait(lambda), cancel, io_context::run";
    }

    churn_result churn(const workload& w) override {
        const std::size_t n = w.churn_timeouts.size();
        asio::io_context io;
        std::vector<asio::steady_timer> timers;
        timers.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            timers.emplace_back(io);
        }
        int sink = 0;
        auto handler = [p = &sink](const std::error_code&) { ++*p; };
        auto arm = [&](std::size_t i, std::int64_t timeout) {
            timers[i].expires_after(nanoseconds(timeout));
            timers[i].async_wait(handler);
        };
        auto poll = [&] { io.poll(); };  // the aborted waits complete
        return time_churn(
            w, arm, arm, [&](std::size_t i) { timers[i].cancel(); }, poll, poll);
    }

    fire_result fire(const workload& w) override {
        const std::size_t n = w.fire_offsets.size();
        asio::io_context io;
        std::vector<asio::steady_timer> timers;
        timers.reserve(n);
        std::vector<std::int64_t> deadlines(n);
        lateness late;
        const std::int64_t base = monotonic_ns() + 1'000'000;
        for (std::size_t i = 0; i < n; ++i) {
            deadlines[i] = base + w.fire_offsets[i];
            timers.emplace_back(io);
            // steady_clock is CLOCK_MONOTONIC in libstdc++.
            timers[i].expires_at(asio::steady_timer::time_point(nanoseconds(deadlines[i])));
            timers[i].async_wait([&late, d = deadlines[i]](const std::error_code&) {
                late.record(d, monotonic_ns());
            });
        }
        const std::int64_t cpu0 = cpu_ns();
        io.run();
        return late.result(cpu_ns() - cpu0);
    }

    double idle(const workload& w) override {
        asio::io_context io;
        std::vector<asio::steady_timer> timers;
        timers.reserve(w.idle_n);
        int sink = 0;
        auto handler = [p = &sink](const std::error_code&) { ++*p; };
        for (std::size_t i = 0; i < w.idle_n; ++i) {
            timers.emplace_back(io);
            timers[i].expires_after(nanoseconds(w.idle_timeout));
            timers[i].async_wait(handler);
        }
        auto poll = [&] { io.poll(); };  // one loop pass: the aborted waits complete
        const double ns = time_idle(
            w, poll,
            [&](std::size_t i) {
                timers[i].expires_after(nanoseconds(w.idle_timeout));
                timers[i].async_wait(handler);
            },
            poll);
        for (asio::steady_timer& t : timers) {
            t.cancel();
        }
        io.poll();
        return ns;
    }

    void hold_pending(std::size_t n) override {
        static asio::io_context io;
        static std::vector<asio::steady_timer> timers;
        static int sink = 0;
        timers.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            timers.emplace_back(io);
            timers[i].expires_after(std::chrono::seconds(1) + nanoseconds(i * 97));
            timers[i].async_wait([p = &sink](const std::error_code&) { ++*p; });
        }
    }
};

}  // namespace

std::unique_ptr<contender> make_asio() {
    return std::make_unique<asio_contender>();
}

}  // namespace tfd::bench::timers
