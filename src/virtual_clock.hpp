// The loop's virtual time (loop_options::virtual_time): every clock the loop reads is its own
// and moves only when the loop moves it.
//
// Invariants: start_[i] is the real reading of base clock clocks[i] when the loop was made
// (for realtime, monotonic and boottime; the alarm clocks read their base); elapsed_ never
// decreases and saturates at INT64_MAX; a clock reads start + elapsed, saturating, so every
// clock moves by the same amount and none ever goes back.
#pragma once

#include <array>
#include <cstdint>

#include "saturating.hpp"
#include "tfd/clock.hpp"

namespace tfd::detail {

class virtual_clock {
  public:
    // Reads every real clock once (for a loop on virtual time).
    void start() {
        for (const clock_info& info : clocks) {
            if (info.base == info.id) {
                start_[clock_index(info.id)] = clock_now(info.id).count();
            }
        }
    }
    [[nodiscard]] std::int64_t read(clock_id clock) const noexcept {
        return saturating_add(start_[clock_index(base_clock(clock))], elapsed_);
    }
    // The elapsed() at which `clock` reads `reading`.
    [[nodiscard]] std::int64_t elapsed_at(clock_id clock, std::int64_t reading) const noexcept {
        return saturating_sub(reading, start_[clock_index(base_clock(clock))]);
    }
    [[nodiscard]] std::int64_t elapsed() const noexcept { return elapsed_; }
    void advance(std::int64_t delta) noexcept { elapsed_ = saturating_add(elapsed_, delta); }
    // Moves to `elapsed` unless that is in the past.
    void move_to(std::int64_t elapsed) noexcept {
        if (elapsed > elapsed_) {
            elapsed_ = elapsed;
        }
    }

  private:
    std::array<std::int64_t, clocks.size()> start_{};
    std::int64_t elapsed_ = 0;
};

}  // namespace tfd::detail
