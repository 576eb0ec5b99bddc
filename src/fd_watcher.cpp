// The fd_watcher handle: its verbs, on the loop's fd registry.
#include "tfd/fd_watcher.hpp"

#include "fd_registry.hpp"

namespace tfd {

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
