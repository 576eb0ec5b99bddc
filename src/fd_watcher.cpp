// The fd_watcher handle: its verbs, on the loop's fd registry.
#include "tfd/fd_watcher.hpp"

#include <cstdio>
#include <string>

#include "fd_registry.hpp"

namespace tfd {

void detail::check_interest(const char* operation, int fd, io_events interest) {
    constexpr auto known = static_cast<unsigned>(io_events::readable | io_events::writable |
                                                 io_events::error | io_events::hangup);
    const auto bits = static_cast<unsigned>(interest);
    if ((bits & ~known) != 0) {
        char text[64];
        std::snprintf(text, sizeof text, "interest=0x%x for fd=%d has unknown bits 0x%x", bits, fd,
                      bits & ~known);
        usage_error(operation,
                    std::string(text) + " (io_events names readable, writable, error and hangup)");
    }
}

void fd_watcher::stop() noexcept {
    if (node_ != nullptr) {
        node_->owner->stop(node_);
    }
}

void fd_watcher::start() {
    if (node_ == nullptr) {
        detail::usage_error("fd_watcher::start", "empty handle");
    }
    node_->owner->start(node_);
}

void fd_watcher::reset() noexcept {
    if (node_ != nullptr) {
        detail::fd_node* node = std::exchange(node_, nullptr);
        node->owner->release(node);
    }
}

void fd_watcher::set_interest(io_events interest) {
    if (node_ == nullptr) {
        detail::usage_error("fd_watcher::set_interest", "empty handle");
    }
    detail::check_interest("fd_watcher::set_interest", node_->fd, interest);
    node_->owner->set_interest(node_, interest);
}

io_events fd_watcher::interest() const noexcept {
    return node_ != nullptr ? node_->interest : io_events::none;
}

int fd_watcher::fd() const noexcept {
    return node_ != nullptr ? node_->fd : -1;
}

bool fd_watcher::active() const noexcept {
    return node_ != nullptr && node_->registered && !node_->closed;
}

}  // namespace tfd
