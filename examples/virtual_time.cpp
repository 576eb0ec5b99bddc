// A day of an idle-timeout server on virtual time, in a few milliseconds of real time.
//
// An hourly report, a connection whose 90-minute idle timeout is refreshed by "traffic" every
// 40 minutes for the first 5 hours, and a one-shot at noon.  run_for(24h) steps the loop's
// virtual clock from deadline to deadline; each callback sees now() equal to its deadline.
// At 12h00 noon runs before the twelfth report: equal deadlines run in start order, and the
// hourly timer was re-armed for 12h00 (at 11h00) after noon was started.
#include <tfd/event_loop.hpp>

#include <chrono>
#include <cstdio>
#include <exception>

int main() {
    using namespace std::chrono_literals;
    using std::chrono::duration_cast;
    using std::chrono::minutes;
    try {
        tfd::event_loop loop(tfd::backend_kind::epoll, tfd::loop_options{.virtual_time = true});
        const auto start = loop.now();
        auto clock = [&] {
            auto m = duration_cast<minutes>(loop.now() - start).count();
            return std::to_string(m / 60) + "h" + (m % 60 < 10 ? "0" : "") + std::to_string(m % 60);
        };

        int reports = 0;
        tfd::timer_watcher hourly = loop.every(1h, [&](std::uint64_t) { ++reports; });
        tfd::timer_watcher idle = loop.after(90min, [&](std::uint64_t) {
            std::printf("%s connection idle for 90 min: closed\n", clock().c_str());
        });
        tfd::timer_watcher traffic = loop.every(40min, [&](std::uint64_t) {
            if (loop.now() - start <= 5h) {
                idle.restart_after(90min);  // a request arrived: refresh the idle timeout
            }
        });
        tfd::timer_watcher noon = loop.after(12h, [&](std::uint64_t) {
            std::printf("%s noon, %d hourly reports so far\n", clock().c_str(), reports);
        });

        auto wall = std::chrono::steady_clock::now();
        loop.run_for(24h);
        auto spent = std::chrono::steady_clock::now() - wall;
        std::printf("%s done: %d hourly reports, %llu timer runs, in %.3f ms of real time\n",
                    clock().c_str(), reports,
                    static_cast<unsigned long long>(loop.lateness().count()),
                    std::chrono::duration<double, std::milli>(spent).count());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "virtual_time: %s\n", e.what());
        return 1;
    }
    return 0;
}
