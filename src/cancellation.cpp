// Stop requests: inline on the loop's thread, posted from any other.
#include "tfd/cancellation.hpp"

#include <mutex>

namespace tfd::detail {
namespace {

// The bindings stopped from another thread whose delivery has not reached the loop yet.
// Process-wide, since a binding only knows its loop, and short: one entry per wait stopped
// from afar and not yet delivered.
std::mutex remote_mutex;
stop_binding* remote_head = nullptr;  // guarded by remote_mutex

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
    if (std::this_thread::get_id() == thread_) {
        if (binding_) {
            stopped_while_binding_ = true;  // bind() reports it; the awaiter does not suspend
            return;
        }
        cancel_(target_);  // resumes the coroutine: *this may be gone afterwards
        return;
    }
    {
        std::lock_guard<std::mutex> lock(remote_mutex);
        remote_prev_ = nullptr;
        remote_next_ = remote_head;
        if (remote_head != nullptr) {
            remote_head->remote_prev_ = this;
        }
        remote_head = this;
        remote_pending_ = true;
    }
    // post() allocates; if memory ran out here the stop could not be delivered at all, and
    // the noexcept callback ends the program instead of leaving a coroutine waiting forever.
    loop_->post([self = this] { deliver_remote(self); });
}

void stop_binding::forget_remote() noexcept {
    std::lock_guard<std::mutex> lock(remote_mutex);
    if (remote_prev_ != nullptr) {
        remote_prev_->remote_next_ = remote_next_;
    } else {
        remote_head = remote_next_;
    }
    if (remote_next_ != nullptr) {
        remote_next_->remote_prev_ = remote_prev_;
    }
    remote_prev_ = remote_next_ = nullptr;
    remote_pending_ = false;
}

void stop_binding::deliver_remote(stop_binding* self) noexcept {
    {
        // Compares addresses only: a binding that finished removed itself from the list, and
        // nothing in it is dereferenced unless it is still there.
        std::lock_guard<std::mutex> lock(remote_mutex);
        stop_binding* entry = remote_head;
        while (entry != nullptr && entry != self) {
            entry = entry->remote_next_;
        }
        if (entry == nullptr) {
            return;
        }
    }
    self->forget_remote();
    self->cancel_(self->target_);
}

}  // namespace tfd::detail
