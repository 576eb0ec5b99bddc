#include "signal_set.hpp"

#include <string.h>  // sigabbrev_np

#include <array>
#include <memory>
#include <string>
#include <system_error>

#include "fd_registry.hpp"
#include "tfd/handle.hpp"

namespace tfd::detail {
namespace {

// Which loop's signal set watches each signal on this thread.  The signal mask a watcher
// blocks belongs to the thread, not to the loop: a second loop watching the same signal on
// the same thread would have the first one's stop() unblock it under its feet (and the
// signalfd that reads a pending instance first would take it from the other).
thread_local std::array<const signal_set*, NSIG> thread_watchers{};

// "10 (SIGUSR1)", or "40" for a signal without an abbreviation (real-time ones).
std::string describe_signal(int signo) {
    std::string text = std::to_string(signo);
    if (const char* name = signo > 0 && signo < NSIG ? sigabbrev_np(signo) : nullptr) {
        text += std::string(" (SIG") + name + ")";
    }
    return text;
}

[[noreturn]] void refuse_signal(int signo, const std::string& why) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "event_loop::on_signal: signo=" + describe_signal(signo) + " " + why);
}

}  // namespace

signal_set::signal_set(fd_registry& fds) : fds_(fds) {
    sigemptyset(&mask_);
}

signal_set::~signal_set() {
    for (const signal_set*& owner : thread_watchers) {
        if (owner == this) {
            owner = nullptr;  // a set destroyed with watchers left (the loop's death check)
        }
    }
}

signal_node* signal_set::watch(int signo, signal_callback callback) {
    if (signo <= 0 || signo >= NSIG) {
        refuse_signal(signo, "is not a signal number (1 to " + std::to_string(NSIG - 1) + ")");
    }
    if (signo == SIGKILL || signo == SIGSTOP) {
        refuse_signal(signo, "can be neither caught nor blocked");
    }
    if (signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL) {
        // The kernel delivers a fault's signal to the faulting thread at once, blocked or
        // not: a signalfd would only ever see the ones sent with kill().
        refuse_signal(signo, "reports a fault, which no signalfd receives");
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
            "event_loop::on_signal: signo=" + describe_signal(signo) + " already has a watcher");
    }
    if (thread_watchers[signo] != nullptr && thread_watchers[signo] != this) {
        throw std::system_error(std::make_error_code(std::errc::file_exists),
                                "event_loop::on_signal: signo=" + describe_signal(signo) +
                                    " is watched by another event_loop on this thread (the "
                                    "signal mask is the thread's: one loop per signal)");
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
    thread_watchers[signo] = this;
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
    if (thread_watchers[node->signo] == this) {
        thread_watchers[node->signo] = nullptr;
    }
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
