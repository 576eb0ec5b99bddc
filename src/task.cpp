// Detached tasks: event_loop::spawn and the list that owns their frames.
#include "tfd/task.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <system_error>
#include <utility>

#include "coroutine_state.hpp"
#include "fd_number.hpp"

namespace tfd {
namespace detail {

spawned_tasks::~spawned_tasks() {
    // Destroying a frame runs its awaiters' destructors, which unregister from the loop; a
    // destructor never spawns, so the list only shrinks here.
    while (head_ != nullptr) {
        task_promise_base* promise = head_;
        unlink(*promise);
        promise->self_.destroy();
    }
}

void spawned_tasks::start(std::coroutine_handle<task_promise<void>> frame) {
    task_promise_base& promise = frame.promise();
    promise.spawned_ = this;
    promise.self_ = frame;
    promise.next_ = head_;
    if (head_ != nullptr) {
        head_->prev_ = &promise;
    }
    head_ = &promise;
    ++count_;
    frame.resume();  // an exception inside ends the task through final_suspend, not here
}

void spawned_tasks::unlink(task_promise_base& promise) noexcept {
    if (promise.prev_ != nullptr) {
        promise.prev_->next_ = promise.next_;
    } else {
        head_ = promise.next_;
    }
    if (promise.next_ != nullptr) {
        promise.next_->prev_ = promise.prev_;
    }
    promise.prev_ = promise.next_ = nullptr;
    promise.spawned_ = nullptr;
    --count_;
}

namespace {

// The posted rethrow of a spawned task's exception.  Posted work that never runs (the loop
// is destroyed first) is destroyed without a word, so this one says on stderr what is lost.
class posted_rethrow {
  public:
    explicit posted_rethrow(std::exception_ptr error) noexcept : error_(std::move(error)) {}
    posted_rethrow(posted_rethrow&& other) noexcept
        : error_(std::exchange(other.error_, nullptr)) {}
    posted_rethrow& operator=(posted_rethrow&&) = delete;
    ~posted_rethrow() {
        if (error_) {
            std::string what = "an exception that is not a std::exception";
            try {
                std::rethrow_exception(error_);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            std::fprintf(stderr,
                         "tfd: an exception escaped a spawned task and the loop was destroyed "
                         "before run() could rethrow it: %s\n",
                         what.c_str());
        }
    }
    void operator()() { std::rethrow_exception(std::exchange(error_, nullptr)); }

  private:
    std::exception_ptr error_;
};

}  // namespace

void spawned_tasks::report(std::exception_ptr error) noexcept {
    try {
        if (handler_) {
            handler_(error);
        } else {
            // Posted rather than thrown here: the task ended inside some callback of the
            // loop's pass (or inside spawn()), and the loop's own rule for an exception from
            // a callback then keeps everything else pending for the next run().
            loop_.post(posted_rethrow(std::move(error)));
        }
    } catch (...) {
        // The handler itself threw (or post ran out of memory): nowhere is left to report
        // it without losing the first error, so end the program as an unhandled exception
        // would.
        std::terminate();
    }
}

void task_promise_base::finish_detached(task_promise_base& promise,
                                        std::coroutine_handle<> frame) noexcept {
    spawned_tasks& owner = *promise.spawned_;
    owner.unlink(promise);
    std::exception_ptr error = std::exchange(promise.error_, nullptr);
    frame.destroy();
    if (error) {
        owner.report(error);
    }
}

coroutine_state& coroutine_state_of(event_loop& loop) {
    if (!loop.coroutines_) {
        loop.coroutines_ = {new coroutine_state(loop),
                            [](coroutine_state* state) { delete state; }};
    }
    return *loop.coroutines_;
}

fd_slot& coroutine_state::slot(int fd, const char* operation) {
    auto& slots = fds_.slots;
    auto index = static_cast<std::size_t>(fd);
    if (index >= slots.size() || !slots[index]) {
        // Before the table grows to fd + 1 entries for a number no descriptor has.
        require_open_number(fd, operation);
    }
    if (index >= slots.size()) {
        slots.resize(index + 1);
    }
    if (!slots[index]) {
        slots[index] = std::make_unique<fd_slot>(loop_, fd);
    }
    return *slots[index];
}

coroutine_state::slot_table::~slot_table() {
    std::size_t waited = 0;
    int first = -1;
    for (const auto& slot : slots) {
        if (slot && slot->waited()) {
            if (waited++ == 0) {
                first = slot->fd();
            }
        }
    }
    if (waited == 0) {
        return;
    }
    std::fprintf(stderr,
                 "tfd::event_loop %p destroyed while still in use: %zu descriptor(s) (the first "
                 "fd=%d) still awaited by a coroutine that is not spawned (readable, writable or "
                 "an async_fd wait, in a task you own); destroy that task before the loop\n",
                 static_cast<const void*>(&loop), waited, first);
    std::abort();
}

}  // namespace detail

void event_loop::spawn(task<void> work) {
    if (!work.valid() || work.done()) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "event_loop::spawn: empty or finished task");
    }
    detail::coroutine_state_of(*this).tasks.start(work.release());
}

void event_loop::on_task_exception(task_exception_handler handler) {
    detail::coroutine_state_of(*this).tasks.set_handler(std::move(handler));
}

std::size_t event_loop::spawned() const noexcept {
    return coroutines_ ? coroutines_->tasks.size() : 0;
}

}  // namespace tfd
