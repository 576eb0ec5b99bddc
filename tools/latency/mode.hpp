// A measurement mode: one way of waiting for periodic deadlines (clock_nanosleep, a timerfd,
// tfd's event loop, Python, cyclictest...).
//
// Accounting, the same for every mode (it is cyclictest's): each wake-up serves the earliest
// deadline not yet served; its lateness is wake time - that deadline.  If further deadlines
// had already passed by then, they are overruns: periods with no wake-up of their own.  So
// for every mode, samples + overruns == periods, and nothing is skipped silently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tfd/clock.hpp"
#include "tfd/latency_histogram.hpp"

namespace tfd::latency {

// What every mode of one measuring thread shares.
struct run_config {
    clock_id clock = clock_id::monotonic;
    std::chrono::nanoseconds period{std::chrono::milliseconds(1)};
    std::optional<int> priority;  // SCHED_FIFO priority in force, if any
    std::optional<int> cpu;       // the CPU the thread is pinned to, if any
    bool lock_memory = false;
    std::string python;  // interpreter for the python mode
    // How early the spin mode wakes before each deadline, to busy-wait the rest.
    std::chrono::nanoseconds spin_margin{std::chrono::microseconds(200)};
};

struct mode_stats {
    latency_histogram lateness;  // one value per wake-up
    std::uint64_t periods = 0;   // deadlines that passed while the mode was measured
    std::uint64_t overruns = 0;  // deadlines that had no wake-up of their own
    // CPU time the measuring thread used while measuring; only for in-process modes (a
    // child process's time is not seen).
    std::optional<std::chrono::nanoseconds> cpu;

    [[nodiscard]] std::uint64_t samples() const noexcept { return lateness.count(); }
    void merge(const mode_stats& other) {
        lateness.merge(other.lateness);
        periods += other.periods;
        overruns += other.overruns;
        if (other.cpu) {
            cpu = cpu.value_or(std::chrono::nanoseconds(0)) + *other.cpu;
        }
    }
    // Accounts one wake-up that served `covered` (>= 1) consecutive deadlines.
    void add(std::chrono::nanoseconds lateness_of_first, std::uint64_t covered) {
        lateness.record(lateness_of_first);
        periods += covered;
        overruns += covered - 1;
    }
};

class mode {
  public:
    virtual ~mode() = default;
    // Measures at least `periods` consecutive periods, adding them to `stats`.  The first
    // deadline is one period after the call.
    virtual void run_chunk(std::uint64_t periods, mode_stats& stats) = 0;
};

// The catalogue: every mode the tool knows, whether it can run here, and how to make one.
// What a mode stands for in the comparison.
enum class mode_role {
    reference,  // an outside yardstick (cyclictest)
    baseline,   // a raw system call: the kernel's floor
    tfd,        // the library's own path, held to the goal against the best baseline
    technique,  // a different trade-off (spin-finish burns CPU for precision)
};

struct mode_info {
    std::string name;
    mode_role role;
    std::string description;
    // For a tfd mode: the raw baseline doing the same system calls, so the ratio to it is
    // what tfd itself adds.
    std::string twin;
    // Empty when the mode can run; otherwise why not.
    std::function<std::string(const run_config&)> unavailable;
    std::function<std::unique_ptr<mode>(const run_config&)> make;
};

// In the order they appear in the table.
const std::vector<mode_info>& all_modes();

// The number of deadlines in (deadline, wake] plus the one being served: how many periods
// a wake-up at `wake` covers when the mechanism itself does not count them.  A deadline
// exactly at `wake` is not missed: a wait for it returns at once.
[[nodiscard]] constexpr std::uint64_t periods_covered(std::chrono::nanoseconds lateness,
                                                      std::chrono::nanoseconds period) noexcept {
    if (lateness.count() <= 0) {
        return 1;
    }
    return 1 + static_cast<std::uint64_t>((lateness.count() - 1) / period.count());
}

// Reads `clock` with clock_gettime(2) directly: the same, cheapest, reading in every mode.
std::chrono::nanoseconds read_clock(clock_id clock) noexcept;

// Adds the calling thread's CPU time between construction and destruction to `total`.
class cpu_meter {
  public:
    explicit cpu_meter(std::optional<std::chrono::nanoseconds>& total) noexcept;
    ~cpu_meter();
    cpu_meter(const cpu_meter&) = delete;
    cpu_meter& operator=(const cpu_meter&) = delete;

  private:
    std::optional<std::chrono::nanoseconds>& total_;
    std::chrono::nanoseconds start_;
};

}  // namespace tfd::latency
