#include "signal_set.hpp"

#include <memory>
#include <string>
#include <system_error>

#include "fd_registry.hpp"
#include "tfd/handle.hpp"

namespace tfd::detail {

signal_set::signal_set(fd_registry& fds) : fds_(fds) {
    sigemptyset(&mask_);
}

signal_node* signal_set::watch(int signo, signal_callback callback) {
    if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "event_loop::on_signal: signo=" + std::to_string(signo));
    }
    if (!callback) {
        usage_error("event_loop::on_signal", "empty callback");
    }
    auto node = std::make_unique<signal_node>();
    node->signo = signo;
    node->callback = std::move(callback);
    node->owner = this;
    add(node.get());
    ++nodes_;
    return node.release();
}

void signal_set::add(signal_node* node) {
    const int signo = node->signo;
    if (by_signal_[signo] != nullptr) {
        throw std::system_error(
            std::make_error_code(std::errc::file_exists),
            "event_loop::on_signal: signo=" + std::to_string(signo) + " already has a watcher");
    }
    sigset_t mask = mask_;
    sigaddset(&mask, signo);
    if (!signals_.is_open()) {
        signal_fd created(mask);
        if (int fd = fds_.unwatched_number(created.native_handle());
            fd != created.native_handle()) {
            created = signal_fd::adopt(fd);
        }
        fds_.add_internal(created.native_handle(), io_events::readable,
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
    mask_ = mask;
    node->was_blocked = sigismember(&previous, signo) == 1;
    node->registered = true;
    by_signal_[signo] = node;
    ++registered_;
}

void signal_set::start(signal_node* node) {
    if (!node->registered) {
        add(node);
    }
}

void signal_set::stop(signal_node* node) noexcept {
    if (!node->registered) {
        return;
    }
    by_signal_[node->signo] = nullptr;
    node->registered = false;
    --registered_;
    sigdelset(&mask_, node->signo);
    try {
        signals_.set_mask(mask_);
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
}

void signal_set::release(signal_node* node) noexcept {
    stop(node);
    if (current_ == node) {
        node->released = true;
    } else {
        free_node(node);
    }
}

void signal_set::free_node(signal_node* node) noexcept {
    --nodes_;
    delete node;
}

void signal_set::read_signals() {
    // One signal at a time, so an exception from a callback leaves the others queued in the
    // kernel for the next pass.
    while (std::optional<signal_info> info = signals_.read()) {
        signal_node* node = by_signal_[info->signo];
        if (node == nullptr) {
            continue;  // its watcher stopped after the signal was queued
        }
        struct scope {
            signal_set& set;
            signal_node* node;
            signal_node* previous;
            ~scope() {
                set.current_ = previous;
                if (node->released) {
                    set.free_node(node);
                }
            }
        } guard{*this, node, std::exchange(current_, node)};
        node->callback(*info);
    }
}

}  // namespace tfd::detail
