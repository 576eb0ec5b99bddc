// What every handle of an event_loop shares (fd_watcher, timer_watcher, signal_watcher).
//
// One meaning of the verbs on every handle:
//   stop()    the handle delivers nothing more until started again; it keeps its loop,
//             callback and settings.  A no-op when it is not active.  Safe from any
//             callback, its own included.
//   start() / restart_after() / restart_at()   makes a stopped handle active again.
//   reset()   stops and lets go of everything: the handle becomes empty, as if
//             default-constructed (what the destructor does).
//   active()  true while the handle will deliver: a watcher registered (not one whose
//             descriptor a wait reported closed while watched), a timer pending.
//   explicit operator bool   the handle is not empty (it may be stopped).
// A handle is move-only; moving leaves the source empty; assigning to a handle resets it
// first.  Using an empty handle (other than stop, reset, active and the getters, which
// answer as for an idle handle) is a precondition error: std::system_error with
// std::errc::invalid_argument, "<type>::<operation>: <why>".  A handle must not outlive its
// loop, stopped or not: every build stops the program with a message naming what was left
// when a loop is destroyed while one still refers to it.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <string_view>
#include <utility>

namespace tfd::detail {

// Throws the precondition error described above.
[[noreturn]] void usage_error(std::string_view operation, std::string_view why);

// The move logic every handle shares: one owning pointer to its node; Derived::reset()
// lets go of it.
template <class Derived, class Node>
class basic_handle {
  public:
    basic_handle() noexcept = default;
    basic_handle(basic_handle&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
    basic_handle& operator=(basic_handle&& other) noexcept {
        if (this != &other) {
            static_cast<Derived*>(this)->reset();
            node_ = std::exchange(other.node_, nullptr);
        }
        return *this;
    }
    basic_handle(const basic_handle&) = delete;
    basic_handle& operator=(const basic_handle&) = delete;
    ~basic_handle() = default;  // Derived's destructor calls reset()

    explicit operator bool() const noexcept { return node_ != nullptr; }

  protected:
    explicit basic_handle(Node* node) noexcept : node_(node) {}
    Node* node_ = nullptr;
};

}  // namespace tfd::detail
