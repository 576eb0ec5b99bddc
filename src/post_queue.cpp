#include "post_queue.hpp"

#include "fd_registry.hpp"
#include "tfd/handle.hpp"

namespace tfd::detail {

post_queue::post_queue(fd_registry& fds) {
    fds.add_internal(wake_.native_handle(), io_events::readable,
                     [this](io_events) { (void)wake_.drain(); });
}

void post_queue::post(posted_work work) {
    if (!work) {
        usage_error("event_loop::post", "empty work");
    }
    bool was_empty = false;
    {
        std::lock_guard lock(mutex_);
        was_empty = posted_.empty();
        posted_.push_back(std::move(work));
        has_posted_.store(true, std::memory_order_release);
    }
    if (was_empty) {
        wake_.notify();
    }
}

void post_queue::run() {
    if (!has_posted_.load(std::memory_order_acquire)) {
        return;
    }
    std::deque<posted_work> batch;
    {
        std::lock_guard lock(mutex_);
        batch.swap(posted_);
        has_posted_.store(false, std::memory_order_release);
    }
    while (!batch.empty()) {
        posted_work work = std::move(batch.front());
        batch.pop_front();
        try {
            work();
        } catch (...) {
            std::lock_guard lock(mutex_);
            for (auto& rest : posted_) {
                batch.push_back(std::move(rest));
            }
            posted_.swap(batch);
            has_posted_.store(!posted_.empty(), std::memory_order_release);
            throw;
        }
    }
}

}  // namespace tfd::detail
