#include "tfd/signal_fd.hpp"

#include <sys/signalfd.h>

#include <cerrno>
#include <string>

#include "sys/sys.hpp"

namespace tfd {

signal_fd::signal_fd(const sigset_t& mask)
    : fd_(sys::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) {
    if (!fd_) {
        throw std::system_error(errno, std::system_category(), "signal_fd::create: signalfd");
    }
}

void signal_fd::set_mask(const sigset_t& mask) {
    if (sys::signalfd(fd_.get(), &mask, 0) < 0) {
        throw std::system_error(errno, std::system_category(),
                                "signal_fd::set_mask: fd=" + std::to_string(fd_.get()));
    }
}

std::optional<signal_info> signal_fd::read() {
    signalfd_siginfo raw{};
    for (;;) {
        ssize_t n = sys::read(fd_.get(), &raw, sizeof raw);
        if (n == static_cast<ssize_t>(sizeof raw)) {
            return signal_info{static_cast<int>(raw.ssi_signo), raw.ssi_code,
                               static_cast<pid_t>(raw.ssi_pid), static_cast<uid_t>(raw.ssi_uid),
                               raw.ssi_status};
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            return std::nullopt;
        }
        int error = n < 0 ? errno : EIO;
        throw std::system_error(error, std::system_category(),
                                "signal_fd::read: fd=" + std::to_string(fd_.get()));
    }
}

sigset_t change_signal_mask(int how, const sigset_t& signals) {
    sigset_t previous;
    sigemptyset(&previous);
    if (sys::thread_sigmask(how, &signals, &previous) != 0) {
        throw std::system_error(
            errno, std::system_category(),
            std::string("change_signal_mask: ") + (how == SIG_BLOCK ? "SIG_BLOCK" : "SIG_UNBLOCK"));
    }
    return previous;
}

}  // namespace tfd
