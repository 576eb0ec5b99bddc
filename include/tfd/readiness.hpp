// tfd::readable / tfd::writable: suspend a coroutine until a descriptor is ready.
//
//   io_events events = co_await tfd::readable(loop, fd);          // readable, or error/hangup
//   co_await tfd::writable(loop, fd, stop_token);                  // stop: operation_cancelled
//
// Each wait registers the descriptor with the loop when it suspends and unregisters it when
// it resumes (or when the frame is destroyed), so a descriptor closed between two waits is
// never left registered.  That costs the loop's registration per wait: an fd node allocated
// by event_loop::watch and two backend calls (epoll_ctl ADD and DEL).  A coroutine that
// waits on the same descriptor again and again should use tfd::async_fd (tfd/async_fd.hpp),
// which registers once and allocates nothing per wait.  One watcher per descriptor: waiting
// on a descriptor that already has one (another readable() on it, an async_fd, a watch())
// throws std::system_error (EEXIST) from co_await.
//
// co_await returns the events that occurred: the one asked for, and error or hangup, which
// the kernel always reports.  Each awaiter is cancellable (with_timeout, when_any).
#pragma once

#include <coroutine>
#include <stop_token>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/fd_watcher.hpp"
#include "tfd/io_events.hpp"

namespace tfd {

namespace detail {

template <class Stop>
class readiness_awaiter {
  public:
    readiness_awaiter(event_loop& loop, int fd, io_events interest, Stop stop) noexcept
        : loop_(&loop), fd_(fd), interest_(interest), stop_(std::move(stop)) {}
    readiness_awaiter(readiness_awaiter&&) noexcept = default;

    bool await_ready() const noexcept { return stop_.requested(); }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        watcher_ = loop_->watch(fd_, interest_, [this](io_events events) { on_ready(events); });
        if (!stop_.bind(*loop_, &on_stop, this)) {
            watcher_.stop();
            return false;
        }
        awaiting_ = awaiting;
        return true;
    }
    io_events await_resume() const {
        if (events_ == io_events::none && stop_.requested()) {
            throw operation_cancelled(interest_ == io_events::readable ? "readable" : "writable");
        }
        return events_;
    }
    void cancel() noexcept {
        if (awaiting_) {
            watcher_.stop();
            stop_.unbind();
            std::exchange(awaiting_, nullptr).resume();
        }
    }

  private:
    void on_ready(io_events events) noexcept {
        events_ = events;
        watcher_.stop();  // from its own callback: allowed, and no further event reaches it
        stop_.unbind();
        std::exchange(awaiting_, nullptr).resume();
    }
    static void on_stop(void* self) noexcept { static_cast<readiness_awaiter*>(self)->cancel(); }

    event_loop* loop_;
    int fd_;
    io_events interest_;
    io_events events_ = io_events::none;
    std::coroutine_handle<> awaiting_;
    fd_watcher watcher_;
    [[no_unique_address]] Stop stop_;
};

}  // namespace detail

[[nodiscard]] inline detail::readiness_awaiter<detail::no_stop> readable(event_loop& loop,
                                                                         int fd) noexcept {
    return {loop, fd, io_events::readable, detail::no_stop{}};
}
[[nodiscard]] inline detail::readiness_awaiter<detail::stop_binding> readable(
    event_loop& loop, int fd, std::stop_token token) noexcept {
    return {loop, fd, io_events::readable, detail::stop_binding(std::move(token))};
}
[[nodiscard]] inline detail::readiness_awaiter<detail::no_stop> writable(event_loop& loop,
                                                                         int fd) noexcept {
    return {loop, fd, io_events::writable, detail::no_stop{}};
}
[[nodiscard]] inline detail::readiness_awaiter<detail::stop_binding> writable(
    event_loop& loop, int fd, std::stop_token token) noexcept {
    return {loop, fd, io_events::writable, detail::stop_binding(std::move(token))};
}

}  // namespace tfd
