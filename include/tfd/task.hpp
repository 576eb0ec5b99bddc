// tfd::task<T>: the coroutine type of tfd, and how a detached task runs on an event_loop.
//
// A task is lazy: calling a coroutine that returns task<T> allocates its frame and runs
// nothing.  It starts when it is awaited (`co_await child()`, which resumes the awaiter
// with the child's result or rethrows the child's exception) or when it is handed to
// event_loop::spawn(), which runs it detached.  A task is move-only and owns its frame:
// destroying a task that has not finished destroys the frame, and with it every awaiter the
// coroutine is suspended in, which unregisters its timer, descriptor watch and stop
// callback (see docs/coroutines.md, "Lifetime").  Awaiting consumes the task: a task held
// in a variable is awaited as `co_await std::move(t)` (`co_await t` does not compile).
// task<T&> returns a reference (what it refers to must outlive the co_await); task<T&&> is
// refused at compile time.
//
// Completion uses symmetric transfer: a finishing task resumes its awaiter from
// final_suspend by returning the awaiter's handle, so a chain of a million tasks finishing
// one into the next runs in constant stack.
//
// This header also brings in the sleeps (tfd/sleep.hpp), so that one include is enough for
// a program that sleeps on a loop.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tfd/event_loop.hpp"
#include "tfd/sleep.hpp"

namespace tfd {

template <class T = void>
class task;

namespace detail {

class spawned_tasks;

// The part of a task's promise that does not depend on T.
//
// Invariants: continuation_ is set exactly while another coroutine awaits this one;
// spawned_ is set exactly while the task runs detached, and then the promise is linked into
// spawned_'s list through prev_/next_.
class task_promise_base {
  public:
    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
            task_promise_base& promise = self.promise();
            if (promise.continuation_) {
                return promise.continuation_;
            }
            if (promise.spawned_ != nullptr) {
                finish_detached(promise, self);  // destroys the frame
            }
            return std::noop_coroutine();
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept { error_ = std::current_exception(); }

    void set_continuation(std::coroutine_handle<> awaiter) noexcept {
        continuation_ = awaiter;
        awaited_ = true;
    }
    [[nodiscard]] bool awaited() const noexcept { return awaited_; }
    // A task is awaited once: a second co_await, while the first waits or after it has the
    // result, is refused (resuming the frame again, or taking a result twice, would be
    // undefined behaviour).
    void begin_take(std::coroutine_handle<> frame) {
        if (taken_ || !frame.done()) {
            usage_error("task::co_await", "the task is already awaited (a task is awaited once)");
        }
        taken_ = true;
    }
    void rethrow_if_failed() {
        if (error_) {
            std::rethrow_exception(std::exchange(error_, nullptr));
        }
    }

  private:
    friend class spawned_tasks;
    // Unlinks a finished detached task, hands an escaped exception to the loop's handler and
    // destroys the frame (defined in src/task.cpp).
    static void finish_detached(task_promise_base& promise, std::coroutine_handle<> frame) noexcept;

    std::coroutine_handle<> continuation_;
    std::exception_ptr error_;
    bool awaited_ = false;  // a co_await has started the task
    bool taken_ = false;    // a co_await has had its result
    spawned_tasks* spawned_ = nullptr;
    task_promise_base* prev_ = nullptr;
    task_promise_base* next_ = nullptr;
    std::coroutine_handle<> self_;  // set while detached, so the list can destroy the frame
};

template <class T>
class task_promise : public task_promise_base {
  public:
    task<T> get_return_object() noexcept;

    template <class U>
    requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        value_.emplace(std::forward<U>(value));
    }
    T take() {
        begin_take(std::coroutine_handle<task_promise>::from_promise(*this));
        rethrow_if_failed();
        return std::move(*value_);
    }

  private:
    std::optional<T> value_;
};

// task<T&>: the awaiter receives a reference to what the coroutine returned, which must
// outlive the co_await (co_return of a temporary does not compile).
template <class T>
class task_promise<T&> : public task_promise_base {
  public:
    task<T&> get_return_object() noexcept;

    void return_value(T& value) noexcept { value_ = std::addressof(value); }
    void return_value(std::remove_cv_t<T>&& value) = delete;  // would dangle
    T& take() {
        begin_take(std::coroutine_handle<task_promise>::from_promise(*this));
        rethrow_if_failed();
        return *value_;
    }

  private:
    T* value_ = nullptr;
};

template <>
class task_promise<void> : public task_promise_base {
  public:
    task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take() {
        begin_take(std::coroutine_handle<task_promise>::from_promise(*this));
        rethrow_if_failed();
    }
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
    static_assert(!std::is_rvalue_reference_v<T>,
                  "tfd::task<T&&> is not supported: return a value, task<T>, or an lvalue "
                  "reference, task<T&>");

  public:
    using promise_type = detail::task_promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;

    task() noexcept = default;
    task(task&& other) noexcept : frame_(std::exchange(other.frame_, nullptr)) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            destroy();
            frame_ = std::exchange(other.frame_, nullptr);
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    // Destroys the frame: a task suspended in a tfd awaiter unregisters what it waits on.
    ~task() { destroy(); }

    // True when the task holds a coroutine (it is not empty or moved from).
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(frame_); }
    [[nodiscard]] bool done() const noexcept { return frame_ && frame_.done(); }

    // Awaiting a task starts it; the awaiter resumes with its result when it finishes.  A
    // task is awaited once.  Awaiting an empty task, or one already awaited, throws
    // std::system_error (std::errc::invalid_argument), as every precondition error does.
    auto operator co_await() && noexcept {
        struct awaiter {
            handle_type frame;
            // An empty or already awaited task does not suspend: await_resume reports it.  A
            // finished one does not either (its frame must not be resumed again).
            bool await_ready() const noexcept {
                return !frame || frame.done() || frame.promise().awaited();
            }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
                frame.promise().set_continuation(awaiting);
                return frame;
            }
            T await_resume() {
                if (!frame) {
                    detail::usage_error("task::co_await", "the task is empty");
                }
                return frame.promise().take();
            }
        };
        return awaiter{frame_};
    }
    // Awaiting a task consumes it: write co_await std::move(t), not co_await t.
    void operator co_await() & = delete;       // tfd::task: co_await std::move(task)
    void operator co_await() const& = delete;  // tfd::task: co_await std::move(task)

    // Gives up ownership of the frame (event_loop::spawn takes it this way).
    [[nodiscard]] handle_type release() noexcept { return std::exchange(frame_, nullptr); }

  private:
    friend promise_type;
    explicit task(handle_type frame) noexcept : frame_(frame) {}
    void destroy() noexcept {
        if (frame_) {
            std::exchange(frame_, nullptr).destroy();
        }
    }

    handle_type frame_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
template <class T>
task<T&> task_promise<T&>::get_return_object() noexcept {
    return task<T&>(std::coroutine_handle<task_promise<T&>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

// The detached tasks of one loop: an intrusive list through their promises, so spawning
// allocates nothing beyond the frame.  Destroying the list (when the loop is destroyed)
// destroys every frame still suspended, while the loop still exists, so their awaiters can
// unregister.
class spawned_tasks {
  public:
    explicit spawned_tasks(event_loop& loop) : loop_(loop) {}
    ~spawned_tasks();
    spawned_tasks(const spawned_tasks&) = delete;
    spawned_tasks& operator=(const spawned_tasks&) = delete;

    void start(std::coroutine_handle<task_promise<void>> frame);
    void set_handler(task_exception_handler handler) { handler_ = std::move(handler); }
    [[nodiscard]] std::size_t size() const noexcept { return count_; }

  private:
    friend class task_promise_base;
    void unlink(task_promise_base& promise) noexcept;
    void report(std::exception_ptr error) noexcept;

    event_loop& loop_;
    task_exception_handler handler_;
    task_promise_base* head_ = nullptr;
    std::size_t count_ = 0;
};

}  // namespace detail

}  // namespace tfd
