// ticker: the periodic timer's callback and the bookkeeping of ticks nobody waited for.
#include "tfd/ticker.hpp"

#include <string>
#include <system_error>
#include <utility>

#include "tfd/time_convert.hpp"

namespace tfd {

ticker::ticker(event_loop& loop, std::chrono::nanoseconds period, periodic_options options, int)
    : loop_(&loop) {
    // Checked here so that the message names the ticker, not the loop's every() under it.
    if (period <= std::chrono::nanoseconds::zero()) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "ticker: period=" + format_duration(period) + " must be positive");
    }
    timer_ = loop.every(
        period, [this](std::uint64_t overruns) { on_tick(overruns); }, options);
}

void ticker::on_tick(std::uint64_t overruns) noexcept {
    // Every period since the previous next() returned, less the one this tick reports; a
    // waiting next() takes it at once (it resumes inside complete()), a later one when it
    // comes.
    missed_ += (ticked_ ? 1 : 0) + overruns;
    ticked_ = true;
    waiting_.complete();
}

std::uint64_t ticker::take_tick() {
    if (!ticked_) {
        detail::throw_cancelled(detail::cancelled_operation::tick);  // stopped
    }
    ticked_ = false;
    return std::exchange(missed_, 0);
}

void ticker::stop() noexcept {
    timer_.reset();
    waiting_.complete();  // a waiter finds no tick: operation_cancelled
}

}  // namespace tfd
