// The loop's post queue: work posted from any thread, run in phase 6 in the order it was
// posted, and the eventfd that wakes the loop for it (and for stop() and work guards).
//
// Invariants:
//  * posted_ is guarded by mutex_; has_posted_ mirrors !posted_.empty() (stored under the
//    mutex, read without it by the loop thread to skip the lock when nothing is posted);
//  * only the post that finds posted_ empty wakes the loop: the loop takes the whole batch;
//  * work posted while a batch runs waits for the next pass, so posting from posted work
//    cannot starve the other phases;
//  * guards_ counts live work_guards; releasing one wakes the loop so it re-evaluates.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>

#include "tfd/event_loop.hpp"
#include "tfd/wake_fd.hpp"

namespace tfd::detail {

class fd_registry;

class post_queue {
  public:
    explicit post_queue(fd_registry& fds);

    // Any thread.
    void post(posted_work work);
    void wake() noexcept { wake_.notify(); }
    void hold() noexcept { guards_.fetch_add(1, std::memory_order_acq_rel); }
    void release() noexcept {
        guards_.fetch_sub(1, std::memory_order_acq_rel);
        wake_.notify();
    }

    // Loop thread.
    [[nodiscard]] bool waiting() const noexcept {
        return has_posted_.load(std::memory_order_acquire);
    }
    [[nodiscard]] std::size_t guards() const noexcept {
        return guards_.load(std::memory_order_acquire);
    }
    // Phase 6: runs the batch posted so far.  Work that throws leaves the rest of the batch
    // ahead of anything posted meanwhile.
    void run();

  private:
    wake_fd wake_;
    std::mutex mutex_;
    std::deque<posted_work> posted_;  // guarded by mutex_
    std::atomic<bool> has_posted_{false};
    std::atomic<std::size_t> guards_{0};
};

}  // namespace tfd::detail
