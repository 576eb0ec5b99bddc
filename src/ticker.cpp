// ticker: the periodic timer's callback and the bookkeeping of ticks nobody waited for.
#include "tfd/ticker.hpp"

#include <string>
#include <system_error>

namespace tfd {

ticker::ticker(event_loop& loop, std::chrono::nanoseconds period, periodic_options options, int)
    : loop_(&loop) {
    timer_ = loop.every(
        period, [this](std::uint64_t overruns) { on_tick(overruns); }, options);
}

void ticker::on_tick(std::uint64_t overruns) noexcept {
    if (waiting_ != nullptr) {
        waiter* w = std::exchange(waiting_, nullptr);
        w->complete(*w, overruns, false);
        return;
    }
    // Nobody waits: the next next() reports this tick at once, with every period missed
    // since the previous next() returned.
    missed_ += (ticked_ ? 1 : 0) + overruns;
    ticked_ = true;
}

void ticker::wait(waiter& w) {
    if (waiting_ != nullptr) {
        throw std::system_error(std::make_error_code(std::errc::device_or_resource_busy),
                                "ticker::next: another coroutine already waits for the tick");
    }
    waiting_ = &w;
}

void ticker::stop() noexcept {
    timer_.reset();
    if (waiting_ != nullptr) {
        waiter* w = std::exchange(waiting_, nullptr);
        w->complete(*w, 0, true);
    }
}

}  // namespace tfd
