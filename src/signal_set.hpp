// The loop's signal set: one signalfd receiving every watched signal, and the signal mask of
// the loop's thread.
//
// Invariants:
//  * by_signal_[s] is the registered node of signal s, or nullptr; a node is there exactly
//    when `registered`, and then s is in mask_, in the signalfd's mask and blocked in the loop
//    thread;
//  * a stopped node keeps its signal number and callback, so start() can watch it again; the
//    handle's reset() frees it (after its callback, if it runs: current_ / released);
//  * was_blocked records whether the signal was blocked before the node blocked it, so that
//    stopping restores exactly the previous state;
//  * a signal is watched by at most one signal set per thread (the mask is the thread's):
//    a thread-local table in signal_set.cpp records which.
#pragma once

#include <signal.h>

#include <array>
#include <cstddef>

#include "tfd/signal_fd.hpp"
#include "tfd/signal_watcher.hpp"

namespace tfd::detail {

class fd_registry;
class signal_set;

struct signal_node {
    int signo = 0;
    bool was_blocked = false;
    bool registered = false;
    bool released = false;
    signal_callback callback;
    signal_set* owner = nullptr;
};

class signal_set {
  public:
    explicit signal_set(fd_registry& fds);
    ~signal_set();
    signal_set(const signal_set&) = delete;
    signal_set& operator=(const signal_set&) = delete;

    signal_node* watch(int signo, signal_callback callback);
    void start(signal_node* node);
    void stop(signal_node* node) noexcept;
    void release(signal_node* node) noexcept;

    [[nodiscard]] std::size_t active() const noexcept { return registered_; }
    [[nodiscard]] std::size_t handles() const noexcept { return nodes_; }

  private:
    void add(signal_node* node);
    void read_signals();
    void free_node(signal_node* node) noexcept;

    fd_registry& fds_;
    signal_fd signals_;
    sigset_t mask_{};
    std::array<signal_node*, NSIG> by_signal_{};
    signal_node* current_ = nullptr;
    std::size_t registered_ = 0;
    std::size_t nodes_ = 0;
};

}  // namespace tfd::detail
