// Modes that wait inside this process: the raw system calls (the kernel's floor) and tfd.
#pragma once

#include <memory>

#include "mode.hpp"

namespace tfd::latency {

// Runs a chunk the same way for every in-process mode: start() once, then wait() for each
// wake-up, timing it against the deadline it serves.
class wakeup_mode : public mode {
  public:
    explicit wakeup_mode(const run_config& config) : config_(config) {}
    void run_chunk(std::uint64_t periods, mode_stats& stats) final;

  protected:
    // Prepares to wake at `first` and every period after it.
    virtual void start(std::chrono::nanoseconds first) = 0;
    // Blocks until the wake-up for `deadline`.  Returns how many periods the mechanism says
    // have elapsed (a timerfd's expiration count), or 0 if it does not count them.
    virtual std::uint64_t wait(std::chrono::nanoseconds deadline) = 0;
    virtual void stop() {}

    const run_config& config() const noexcept { return config_; }

  private:
    run_config config_;
};

std::unique_ptr<mode> make_nanosleep_mode(const run_config& config);
std::unique_ptr<mode> make_timerfd_mode(const run_config& config);
std::unique_ptr<mode> make_timerfd_epoll_mode(const run_config& config);
std::unique_ptr<mode> make_timerfd_epoll_noread_mode(const run_config& config);
std::unique_ptr<mode> make_epoll_timeout_mode(const run_config& config);
std::unique_ptr<mode> make_timerfd_oneshot_mode(const run_config& config);
std::unique_ptr<mode> make_timerfd_spin_mode(const run_config& config);
std::unique_ptr<mode> make_timer_fd_mode(const run_config& config);

}  // namespace tfd::latency
