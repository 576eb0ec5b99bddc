// Scripted failures for the system-call seam (src/sys/sys.hpp).
#pragma once

#include <atomic>
#include <initializer_list>

#include "sys/sys.hpp"
#include "tfd/backend_kind.hpp"

namespace tfd::test {

// While alive, answers the next `times` calls of `which` with `result` (and errno `error`
// when `result` is -1) instead of making them; later calls go to the kernel again.  Only one
// may be alive at a time.
class scoped_fault {
  public:
    scoped_fault(sys::call which, long result, int error, int times = 1) noexcept;
    ~scoped_fault();
    scoped_fault(const scoped_fault&) = delete;
    scoped_fault& operator=(const scoped_fault&) = delete;

    // How many of the scripted answers were given so far.
    [[nodiscard]] int fired() const noexcept;

  private:
    sys::fault_hook previous_;
};

// One rule of a fault_plan: fires on every `every`-th call of `which` that reaches it (the
// first, then 1 + every, ...), at most `times` times.  Firing answers the call with `result`
// (errno `error` when it is -1) instead of making it; or, when `max_bytes` > 0 (read,
// write, recv, send only), lets the call through with its byte count cut to at most
// `max_bytes`, or to a random count from 1 to that when `random_bytes` is set: a real short
// read or write, the kernel moving only those bytes.  With `times` = 0 it only counts.
struct fault_rule {
    sys::call which{};
    long result = -1;
    int error = 0;
    int every = 1;
    int times = 1 << 30;
    long max_bytes = 0;
    bool random_bytes = false;
};

// While alive and enabled, applies up to eight rules at once, from every thread.  A call
// goes through the rules of its kind in order until one fires; a rule that does not (not
// its turn, or used up) passes it on, so an EAGAIN rule every 3rd send followed by a
// shortening rule makes the other sends short.  Counts, per rule, the calls that reached it
// and how many times it fired.  Random counts come from a fixed seed.  Only one fault_plan
// or scoped_fault may be alive at a time.
class fault_plan {
  public:
    static constexpr int max_rules = 8;
    explicit fault_plan(std::initializer_list<fault_rule> rules, bool enabled = true) noexcept;
    ~fault_plan();
    fault_plan(const fault_plan&) = delete;
    fault_plan& operator=(const fault_plan&) = delete;

    // Switches every rule on or off (counts are kept); lets a test fail a call for a while.
    void enable(bool on) noexcept;
    // Calls that reached rule `index` while enabled, and how many times it fired.
    [[nodiscard]] long calls(int index) const noexcept;
    [[nodiscard]] long fired(int index) const noexcept;

  private:
    sys::fault_hook previous_;
};

// The call a backend waits with, as the fault hook names it.
constexpr sys::call wait_call_of(backend_kind backend) noexcept {
    switch (backend) {
        case backend_kind::poll:
            return sys::call::poll;
        case backend_kind::select:
            return sys::call::select;
        case backend_kind::epoll:
            break;
    }
    return sys::call::epoll_wait;
}

}  // namespace tfd::test
