// The signal_watcher handle: its verbs, on the loop's signal set.
#include "tfd/signal_watcher.hpp"

#include "signal_set.hpp"

namespace tfd {

void signal_watcher::stop() noexcept {
    if (node_ != nullptr) {
        node_->owner->stop(node_);
    }
}

void signal_watcher::start() {
    if (node_ == nullptr) {
        detail::usage_error("signal_watcher::start", "empty handle");
    }
    node_->owner->start(node_);
}

void signal_watcher::reset() noexcept {
    if (node_ != nullptr) {
        detail::signal_node* node = std::exchange(node_, nullptr);
        node->owner->release(node);
    }
}

int signal_watcher::signo() const noexcept {
    return node_ != nullptr ? node_->signo : 0;
}

bool signal_watcher::active() const noexcept {
    return node_ != nullptr && node_->registered;
}

}  // namespace tfd
