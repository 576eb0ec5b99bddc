// Stop requests: always delivered through the loop's posted work, never inside request_stop().
#include "tfd/cancellation.hpp"

#include <cstdio>
#include <mutex>

#include "tfd/race_awaiter.hpp"

namespace tfd::detail {
namespace {

// The bindings stopped whose delivery has not reached the loop yet.  Process-wide, since a
// binding only knows its loop, and short: one entry per wait stopped and not yet delivered.
std::mutex pending_mutex;
stop_binding* pending_head = nullptr;  // guarded by pending_mutex

}  // namespace

void throw_cancelled(cancelled_operation operation) {
    // Built on first use, so a program that never stops anything builds none of them.
    static const operation_cancelled errors[] = {
        operation_cancelled("sleep"),
        operation_cancelled("readable"),
        operation_cancelled("writable"),
        operation_cancelled("async_fd::read_some"),
        operation_cancelled("async_fd::write_some"),
        operation_cancelled("ticker::next"),
        operation_cancelled("async_listener::accept"),
        operation_cancelled("async_connection::read_line"),
        operation_cancelled("async_connection::close"),
    };
    throw errors[static_cast<std::size_t>(operation)];
}

void throw_loop_mismatch(const char* wrapper, const event_loop& operation,
                         const event_loop& given) {
    char text[200];
    std::snprintf(text, sizeof text,
                  "%s: the operation waits on event_loop %p, but %s was given event_loop %p "
                  "(pass the operation's own loop)",
                  wrapper, static_cast<const void*>(&operation), wrapper,
                  static_cast<const void*>(&given));
    throw std::system_error(std::make_error_code(std::errc::invalid_argument), text);
}

bool stop_binding::bind(event_loop& loop, void (*cancel)(void*) noexcept, void* target) {
    if (!token_.stop_possible()) {
        return true;
    }
    loop_ = &loop;
    cancel_ = cancel;
    target_ = target;
    thread_ = std::this_thread::get_id();
    stopped_while_binding_ = false;
    binding_ = true;
    callback_.emplace(token_, forward{this});  // runs on_stop() here if already requested
    binding_ = false;
    if (stopped_while_binding_) {
        callback_.reset();
        return false;
    }
    return true;
}

void stop_binding::on_stop() noexcept {
    // thread_ first: binding_ is only ever read on the thread that writes it.
    if (std::this_thread::get_id() == thread_ && binding_) {
        stopped_while_binding_ = true;  // bind() reports it; the awaiter does not suspend
        return;
    }
    // Never resumed here, on whatever thread: the resumed coroutine could destroy the
    // stop_source (or another callback on it) while request_stop() still walks its
    // callbacks.  The delivery runs in the loop's phase 6 instead.
    {
        std::lock_guard<std::mutex> lock(pending_mutex);
        pending_prev_ = nullptr;
        pending_next_ = pending_head;
        if (pending_head != nullptr) {
            pending_head->pending_prev_ = this;
        }
        pending_head = this;
        pending_ = true;
    }
    // post() allocates; if memory ran out here the stop could not be delivered at all, and
    // the noexcept callback ends the program instead of leaving a coroutine waiting forever.
    loop_->post([self = this] { deliver(self); });
}

void stop_binding::forget_pending() noexcept {
    std::lock_guard<std::mutex> lock(pending_mutex);
    if (pending_prev_ != nullptr) {
        pending_prev_->pending_next_ = pending_next_;
    } else {
        pending_head = pending_next_;
    }
    if (pending_next_ != nullptr) {
        pending_next_->pending_prev_ = pending_prev_;
    }
    pending_prev_ = pending_next_ = nullptr;
    pending_ = false;
}

void stop_binding::deliver(stop_binding* self) noexcept {
    {
        // Compares addresses only: a binding that finished removed itself from the list, and
        // nothing in it is dereferenced unless it is still there.
        std::lock_guard<std::mutex> lock(pending_mutex);
        stop_binding* entry = pending_head;
        while (entry != nullptr && entry != self) {
            entry = entry->pending_next_;
        }
        if (entry == nullptr) {
            return;
        }
    }
    self->forget_pending();
    self->cancel_(self->target_);
}

}  // namespace tfd::detail
