#include "loop_modes.hpp"

#include <stdexcept>

// The event loop is being built alongside this tool; until its header is in the tree these
// modes report themselves unavailable instead of breaking the build.
#if __has_include("tfd/event_loop.hpp")
#define TFD_LATENCY_HAVE_LOOP 1
#include "tfd/event_loop.hpp"
#else
#define TFD_LATENCY_HAVE_LOOP 0
#endif

namespace tfd::latency {

#if TFD_LATENCY_HAVE_LOOP
namespace {

class loop_mode final : public mode {
  public:
    loop_mode(const run_config& config, backend_kind backend, loop_options options = {})
        : config_(config), loop_(backend, options) {}

    void run_chunk(std::uint64_t periods, mode_stats& stats) override {
        cpu_meter meter(stats.cpu);
        // Everything the callback needs, behind one pointer: a timer callback stores 8 bytes
        // of captures in place.
        struct chunk {
            loop_mode* self;
            mode_stats* stats;
            std::uint64_t wanted;
            std::uint64_t done = 0;
            std::chrono::nanoseconds deadline;
            bool warm_up = true;
        };
        const clock_id base = base_clock(config_.clock);
        const std::chrono::nanoseconds period = config_.period;
        chunk state{this, &stats, periods, 0, read_clock(base) + period};
        timer_watcher timer = loop_.every_from(
            state.deadline, period,
            [s = &state](std::uint64_t overruns) {
                std::chrono::nanoseconds lateness =
                    read_clock(base_clock(s->self->config_.clock)) - s->deadline;
                std::uint64_t covered = 1 + overruns;
                if (!std::exchange(s->warm_up, false)) {
                    s->stats->add(lateness, covered);
                    s->done += covered;
                }
                s->deadline += s->self->config_.period * static_cast<std::int64_t>(covered);
                if (s->done >= s->wanted) {
                    s->self->loop_.stop();
                }
            },
            periodic_options{config_.clock, missed_ticks::skip});
        loop_.run();
        if (state.done < periods) {
            throw std::runtime_error("event_loop::run returned before the chunk ended");
        }
    }

  private:
    run_config config_;
    event_loop loop_;
};

}  // namespace

std::string loop_unavailable(const run_config&) {
    return {};
}

std::unique_ptr<mode> make_loop_epoll_mode(const run_config& config) {
    return std::make_unique<loop_mode>(config, backend_kind::epoll);
}
std::unique_ptr<mode> make_loop_poll_mode(const run_config& config) {
    return std::make_unique<loop_mode>(config, backend_kind::poll);
}
std::unique_ptr<mode> make_loop_select_mode(const run_config& config) {
    return std::make_unique<loop_mode>(config, backend_kind::select);
}
std::unique_ptr<mode> make_loop_spin_mode(const run_config& config) {
    return std::make_unique<loop_mode>(config, backend_kind::epoll,
                                       loop_options{.spin_margin = config.spin_margin});
}

#else

std::string loop_unavailable(const run_config&) {
    return "this build of tfd has no event_loop yet";
}

std::unique_ptr<mode> make_loop_epoll_mode(const run_config&) {
    throw std::logic_error("no event_loop in this build");
}
std::unique_ptr<mode> make_loop_poll_mode(const run_config&) {
    throw std::logic_error("no event_loop in this build");
}
std::unique_ptr<mode> make_loop_select_mode(const run_config&) {
    throw std::logic_error("no event_loop in this build");
}
std::unique_ptr<mode> make_loop_spin_mode(const run_config&) {
    throw std::logic_error("no event_loop in this build");
}

#endif

}  // namespace tfd::latency
