// The loop's descriptor registry: which node watches which descriptor, the backend that
// waits on them, and phase 4 (dispatch ready descriptors).
//
// Nodes are made by fd_watcher handles (user nodes) and by the loop itself (internal nodes:
// its timer_fds, signalfd and wake eventfd).  A user node outlives registration: a stopped
// watcher keeps its node (descriptor, interest, callback) so that start() can register it
// again; the handle's reset() or destruction frees it.
//
// Dispatch hygiene, which these invariants serve:
//  * by_fd_[fd] is the registered node of fd, or nullptr; a node is in by_fd_ exactly when
//    `registered`, and then the backend holds fd with the node's interest;
//  * an event for an fd whose slot is empty, or whose node was registered in the current pass
//    (registered_pass == pass_), is dropped: events of a watcher stopped during dispatch, or
//    of a new watcher that reused its descriptor number, are never delivered;
//  * current_ is the node whose callback runs (nullptr otherwise); a node freed while current
//    is only marked `released`, and freed when its callback returns or throws;
//  * the loop's own descriptors never take a number a user node has in by_fd_
//    (unwatched_number());
//  * a registered node whose descriptor a wait reported closed stays registered (so that a
//    change says why it cannot be made) but is `closed`: no longer active, and not counted;
//  * user_registered_ counts registered user nodes that are not closed, user_nodes_ live user
//    nodes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.hpp"
#include "tfd/fd_watcher.hpp"
#include "tfd/io_events.hpp"

namespace tfd::detail {

class fd_registry;

struct fd_node {
    int fd = -1;
    io_events interest = io_events::none;
    bool internal = false;
    bool registered = false;
    bool closed = false;  // a wait found its descriptor closed while registered
    bool released = false;
    std::uint64_t registered_pass = 0;
    fd_callback callback;
    fd_registry* owner = nullptr;
};

class fd_registry {
  public:
    explicit fd_registry(backend_kind kind);
    ~fd_registry();
    fd_registry(const fd_registry&) = delete;
    fd_registry& operator=(const fd_registry&) = delete;

    // A user watcher, registered; EBADF for a negative fd, EEXIST when fd has one.
    fd_node* watch(int fd, io_events interest, fd_callback callback);
    // One of the loop's own descriptors; freed with the registry.
    fd_node* add_internal(int fd, io_events interest, fd_callback callback);
    // Registers a stopped node again (EEXIST when another watcher took its descriptor).
    void start(fd_node* node);
    // Unregisters a registered node; it keeps its descriptor, interest and callback.
    void stop(fd_node* node) noexcept;
    // Stops and frees a user node (after its callback, if it runs).
    void release(fd_node* node) noexcept;
    void set_interest(fd_node* node, io_events interest);

    // `fd`, or a close-on-exec duplicate above every watched number when a user node holds
    // fd's number (see the invariants); the caller then adopts the duplicate in place of fd.
    [[nodiscard]] int unwatched_number(int fd);

    // Phase 3 and 4.
    void wait(std::chrono::nanoseconds timeout);
    [[nodiscard]] bool any_ready() const noexcept { return !ready_.empty(); }
    void dispatch();
    // Events collected by a pass that an exception cut short are stale by the next pass;
    // level triggering reports the ones still pending again.
    void drop_ready() noexcept { ready_.clear(); }

    [[nodiscard]] backend_kind kind() const noexcept { return backend_->kind(); }
    // Whether the backend's timeouts are nanosecond ones (see backend::precise_timeouts).
    [[nodiscard]] bool precise_timeouts() const noexcept { return backend_->precise_timeouts(); }
    [[nodiscard]] std::size_t active() const noexcept { return user_registered_; }
    [[nodiscard]] std::size_t handles() const noexcept { return user_nodes_; }

  private:
    void add(fd_node* node);
    void free_node(fd_node* node) noexcept;

    std::unique_ptr<backend> backend_;
    std::vector<fd_node*> by_fd_;
    std::vector<fd_node*> internal_;
    std::vector<ready_event> ready_;
    std::uint64_t pass_ = 0;
    fd_node* current_ = nullptr;
    std::size_t user_registered_ = 0;
    std::size_t user_nodes_ = 0;
};

}  // namespace tfd::detail
