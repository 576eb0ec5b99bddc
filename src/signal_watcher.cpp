// Signal watchers: one signalfd per loop receiving every watched signal, and the signal mask
// of the loop's thread.
#include "tfd/signal_watcher.hpp"

#include <cerrno>
#include <string>
#include <system_error>

#include "loop_impl.hpp"

namespace tfd {
namespace detail {

signal_watcher loop_impl::on_signal(int signo, signal_callback callback) {
    if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "event_loop::on_signal: signo=" + std::to_string(signo));
    }
    if (by_signal_[signo] != nullptr) {
        throw std::system_error(
            std::make_error_code(std::errc::file_exists),
            "event_loop::on_signal: signo=" + std::to_string(signo) + " already has a watcher");
    }
    if (!callback) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "event_loop::on_signal: empty callback");
    }
    sigset_t mask = signal_mask_;
    sigaddset(&mask, signo);
    if (!signals_.is_open()) {
        signal_fd created(mask);
        if (int fd = unwatched_number(created.native_handle()); fd != created.native_handle()) {
            created = signal_fd::adopt(fd);
        }
        register_fd(created.native_handle(), io_events::readable, true,
                    [this](io_events) { read_signals(); });
        signals_ = std::move(created);
    } else {
        signals_.set_mask(mask);
    }
    // Blocked only once the signalfd listens, so no instance can be lost in between (an
    // instance arriving before is handled by its old disposition).
    sigset_t only{};
    sigemptyset(&only);
    sigaddset(&only, signo);
    sigset_t previous = change_signal_mask(SIG_BLOCK, only);
    signal_mask_ = mask;
    auto* node =
        new signal_node{signo, sigismember(&previous, signo) == 1, false, std::move(callback)};
    by_signal_[signo] = node;
    ++signal_watchers_;
    return signal_watcher(this, node);
}

void loop_impl::release(signal_node* node) noexcept {
    by_signal_[node->signo] = nullptr;
    --signal_watchers_;
    sigdelset(&signal_mask_, node->signo);
    try {
        signals_.set_mask(signal_mask_);
        if (!node->was_blocked) {
            sigset_t only{};
            sigemptyset(&only);
            sigaddset(&only, node->signo);
            (void)change_signal_mask(SIG_UNBLOCK, only);
        }
    } catch (const std::system_error&) {
        // Only EINVAL/EBADF are possible here, both impossible for a valid signalfd and
        // signal number; a stop must not throw.
    }
    if (current_ == node) {
        node->released = true;
    } else {
        free_node(node);
    }
}

void loop_impl::read_signals() {
    // One signal at a time, so an exception from a callback leaves the others queued in the
    // kernel for the next pass.
    while (std::optional<signal_info> info = signals_.read()) {
        signal_node* node = by_signal_[info->signo];
        if (node == nullptr) {
            continue;  // its watcher stopped after the signal was queued
        }
        callback_scope<signal_node> scope(*this, node);
        node->callback(*info);
    }
}

}  // namespace detail

void signal_watcher::stop() noexcept {
    if (node_ != nullptr) {
        loop_->release(std::exchange(node_, nullptr));
        loop_ = nullptr;
    }
}

int signal_watcher::signo() const noexcept {
    return node_ != nullptr ? node_->signo : 0;
}

}  // namespace tfd
