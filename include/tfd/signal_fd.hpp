// tfd::signal_fd: an owner of a Linux signalfd(2), which turns signals into readable data.
//
// A signalfd only receives signals that are blocked: an unblocked signal is delivered the
// ordinary way (handler or default action) before the descriptor could see it.  Blocking is
// the caller's job (see block_signals() below and event_loop::on_signal, which does it).
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <system_error>

#include "tfd/unique_fd.hpp"

namespace tfd {

// The fields of struct signalfd_siginfo most programs need.
struct signal_info {
    int signo = 0;
    int code = 0;             // si_code: SI_USER for kill(2), SI_TKILL for tgkill(2), ...
    pid_t pid = 0;            // Sender's process id (for kill, sigqueue, SIGCHLD).
    uid_t uid = 0;            // Sender's real user id.
    std::int32_t status = 0;  // SIGCHLD: exit status or signal.
};

// Owns a non-blocking, close-on-exec signalfd.  Move-only.
class signal_fd {
  public:
    signal_fd() noexcept = default;
    // Creates a signalfd receiving the signals in `mask`; throws std::system_error.
    explicit signal_fd(const sigset_t& mask);
    // Takes ownership of an existing non-blocking signalfd.
    [[nodiscard]] static signal_fd adopt(int fd) noexcept {
        signal_fd adopted;
        adopted.fd_ = unique_fd(fd);
        return adopted;
    }

    // Replaces the set of signals the descriptor receives.
    void set_mask(const sigset_t& mask);

    // Reads one pending signal; nullopt when none is pending.  Throws on real errors.
    std::optional<signal_info> read();

    [[nodiscard]] int native_handle() const noexcept { return fd_.get(); }
    [[nodiscard]] bool is_open() const noexcept { return fd_.valid(); }
    void close() { fd_.close(); }

  private:
    unique_fd fd_;
};

// Blocks (how = SIG_BLOCK) or unblocks (SIG_UNBLOCK) `signals` for the calling thread and
// returns the previous mask; throws std::system_error on failure.  The mask is per thread:
// block a signal before creating threads, or another thread may take it.
sigset_t change_signal_mask(int how, const sigset_t& signals);

}  // namespace tfd
