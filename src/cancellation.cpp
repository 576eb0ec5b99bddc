// Stop requests: always delivered through the loop's posted work, never inside request_stop().
#include "tfd/cancellation.hpp"

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "tfd/race_awaiter.hpp"

namespace tfd::detail {
namespace {

// The bindings stopped whose delivery has not reached the loop yet, each with the ticket of
// its delivery.  Process-wide, since a binding only knows its loop; one entry per wait
// stopped and not yet delivered.  A delivery looks its binding up by address and ticket, so
// it never dereferences a binding that finished meanwhile, and a new binding at the same
// address (a later wait) is not taken for it.  A hash table: a million stops requested at
// once are a million deliveries, each O(1).  Never destroyed, so that a stop requested
// during exit still finds it.
std::mutex pending_mutex;
std::unordered_map<const stop_binding*, std::uint64_t>& pending_stops() {
    static auto* table = new std::unordered_map<const stop_binding*, std::uint64_t>;
    return *table;
}
std::uint64_t last_ticket = 0;  // guarded by pending_mutex

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
    std::uint64_t ticket = 0;
    {
        std::lock_guard<std::mutex> lock(pending_mutex);
        ticket = ++last_ticket;
        pending_stops()[this] = ticket;
        pending_ = true;
    }
    // post() allocates; if memory ran out here the stop could not be delivered at all, and
    // the noexcept callback ends the program instead of leaving a coroutine waiting forever.
    loop_->post([self = this, ticket] { deliver(self, ticket); });
}

void stop_binding::forget_pending() noexcept {
    std::lock_guard<std::mutex> lock(pending_mutex);
    pending_stops().erase(this);
    pending_ = false;
}

void stop_binding::deliver(stop_binding* self, std::uint64_t ticket) noexcept {
    {
        std::lock_guard<std::mutex> lock(pending_mutex);
        auto& table = pending_stops();
        auto entry = table.find(self);
        if (entry == table.end() || entry->second != ticket) {
            return;  // the wait finished first (and *self may be gone)
        }
        table.erase(entry);
        self->pending_ = false;
    }
    self->cancel_(self->target_);
}

}  // namespace tfd::detail
