// tfd::work_guard: keeps an event_loop waiting for work handed to another thread.
//
// A loop returns from run() when nothing is left to wait for, and on virtual time it jumps
// its clock to the next deadline as soon as nothing is ready.  Work that another thread is
// still doing for the loop is invisible to both: the loop would return, or let time leap
// ahead, before that thread post()s its result.  A work guard makes that work visible: while
// one exists, run() keeps running, and a loop on virtual time waits for real (for posted work,
// descriptors, or the last guard's release) instead of jumping its clock.  advance() still
// jumps: it is an explicit request.
//
//     tfd::work_guard guard(loop);                         // on the loop's thread
//     std::thread worker([&loop, g = std::move(guard)]() mutable {
//         auto result = compute();
//         loop.post([result] { use(result); });
//         g.reset();                                       // any thread; wakes the loop
//     });
//
// Create a guard on the loop's thread (or before the loop runs), so that it exists before the
// work leaves that thread; reset or destroy it on any thread.  Move-only.  A guard must not
// outlive its loop (every build stops the program with a message when one does).
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <utility>

namespace tfd {

class event_loop;
namespace detail {
class loop_impl;
}  // namespace detail

class work_guard {
  public:
    work_guard() noexcept = default;
    explicit work_guard(event_loop& loop);
    work_guard(work_guard&& other) noexcept : loop_(std::exchange(other.loop_, nullptr)) {}
    work_guard& operator=(work_guard&& other) noexcept {
        if (this != &other) {
            reset();
            loop_ = std::exchange(other.loop_, nullptr);
        }
        return *this;
    }
    work_guard(const work_guard&) = delete;
    work_guard& operator=(const work_guard&) = delete;
    ~work_guard() { reset(); }

    // Releases the guard (wakes the loop so that it notices); a no-op on an empty guard.
    void reset() noexcept;
    [[nodiscard]] bool active() const noexcept { return loop_ != nullptr; }
    explicit operator bool() const noexcept { return active(); }

  private:
    detail::loop_impl* loop_ = nullptr;
};

}  // namespace tfd
