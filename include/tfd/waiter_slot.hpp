// tfd::detail::waiter_slot and slot_awaiter: the one coroutine that waits on an object for
// something the object produces (async_listener's accepts, async_connection's lines and its
// close, ticker's ticks, a descriptor's readiness and async_fd's reads and writes), written
// once.
//
// The object (the owner) keeps a waiter_slot per kind of wait and calls complete() when
// what the waiter wants is there; the awaiter is a slot_awaiter, to which the owner says
// only when the wait is already over (ready()) and what co_await returns (take()).  The
// slot_awaiter does the rest the same way for every owner: the EBUSY refusal of a second
// waiter, the stop token, cancel() (with_timeout and with_stop) and unregistering when the
// frame is destroyed mid-wait.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <cassert>
#include <coroutine>
#include <system_error>
#include <utility>

#include "tfd/cancellation.hpp"
#include "tfd/event_loop.hpp"

namespace tfd::detail {

// At most one waiter, owned by its awaiter (in the waiting coroutine's frame).
//
// Invariant: waiting_ points to a suspended slot_awaiter (or one inside its await_suspend),
// and to no other; an awaiter leaves the slot before its coroutine runs again, through
// complete() or its own detach().
class waiter_slot {
  public:
    class waiter {
      public:
        // `offer` is the waiter's answer to complete(): false to decline, else it lets go of
        // the slot (detach) and resumes its coroutine.
        explicit waiter(bool (*offer)(waiter& self, waiter_slot& slot) noexcept) noexcept
            : offer_(offer) {}

      private:
        friend waiter_slot;
        bool (*offer_)(waiter& self, waiter_slot& slot) noexcept;
    };

    waiter_slot() = default;
    waiter_slot(const waiter_slot&) = delete;
    waiter_slot& operator=(const waiter_slot&) = delete;

    // Takes `w`; throws std::system_error (EBUSY, `what` names the operation) when another
    // coroutine already waits.
    void attach(waiter& w, const char* what) {
        if (waiting_ != nullptr) {
            throw std::system_error(std::make_error_code(std::errc::device_or_resource_busy), what);
        }
        attach(w);
    }
    // Takes `w` into a slot the caller found empty (occupied() false), for an owner that words
    // its own EBUSY (checked in debug builds).
    void attach(waiter& w) noexcept {
        assert(waiting_ == nullptr);
        waiting_ = &w;
    }
    // Lets go of `w`, which must be the waiter (checked in debug builds).
    void detach([[maybe_unused]] const waiter& w) noexcept {
        assert(waiting_ == &w);
        waiting_ = nullptr;
    }
    [[nodiscard]] bool occupied() const noexcept { return waiting_ != nullptr; }
    // Offers the waiter, if any, what it waits for.  A waiter whose wait may find it was not
    // enough after all (a read that a readiness report promised would not block, and that
    // does) declines and stays; otherwise the slot is emptied and the waiter resumed.  True
    // when a waiter left: the resumed coroutine may have destroyed the owner, so the caller
    // must not touch it then.
    bool complete() noexcept { return waiting_ != nullptr && waiting_->offer_(*waiting_, *this); }

  private:
    waiter* waiting_ = nullptr;
};

// The awaiter of a waiter_slot.  Wait describes one kind of wait, and is a struct nested in
// its owner so that it may read the owner's private state.  The awaiter keeps a copy of it,
// given when the awaiter is made, and calls these on the copy: static members for a wait
// with no data of its own; a Wait that carries some (a read's buffer) may make them
// non-static, and `operation` a data member.
//   using owner = ...;                                the object waited on (has loop())
//   cancelled_operation operation;                    what a stop throws
//   const char* busy;                                 the EBUSY message for a second waiter
//   waiter_slot& slot(owner&) noexcept;               where the waiter waits
//   bool ready(owner&) noexcept;                      the wait is over: no suspension
//   T take(owner&);                                   co_await's value, once ready or completed
// and, optionally:
//   bool attempt(owner&) noexcept;                    whether a completion the owner offers
//                                                     really ends the wait (false: it goes on)
//   void attach(owner&, waiter_slot::waiter&);        both instead of slot() and busy, for a
//   void detach(owner&, const waiter_slot::waiter&)   slot that does more than take and let
//       noexcept;                                     go of a waiter (a descriptor's
//                                                     registers the descriptor with the loop)
// Stop is stop_binding (a stoppable wait) or no_stop.
//
// States: made (not suspended), suspended (awaiting_ set, in the slot, the stop listened
// to), finished (awaiting_ empty again).  It leaves "suspended" in one of three ways, each
// of which empties the slot and unbinds the stop before the coroutine runs:
//   complete()  the owner produced what it waits for (and attempt(), if the Wait has one,
//               agreed): completed_ is set;
//   cancel()    with_timeout or with_stop cancels it: await_resume is not called;
//   on_stop()   the stop request: await_resume throws operation_cancelled.
// A stop requested before the wait ends it too, without suspending; completed_ tells a
// wait that is over (ready() at once, or the owner completed it: its value is taken even if
// a stop came in too) from one that the stop ended.
template <class Wait, class Stop>
class slot_awaiter : waiter_slot::waiter {
  public:
    using owner_type = typename Wait::owner;

    slot_awaiter(owner_type& owner, Stop stop, Wait wait = {}) noexcept
        : waiter(&offer), owner_(&owner), wait_(std::move(wait)), stop_(std::move(stop)) {}
    // Only before it suspends (lifetime rule 4 of docs/coroutines.md).
    slot_awaiter(slot_awaiter&&) noexcept = default;
    slot_awaiter& operator=(slot_awaiter&&) = delete;
    ~slot_awaiter() { leave(); }

    bool await_ready() noexcept {
        if (stop_.requested()) {
            return true;
        }
        completed_ = wait_.ready(*owner_);
        return completed_;
    }
    bool await_suspend(std::coroutine_handle<> h) {
        attach();
        if (!stop_.bind(owner_->loop(), &on_stop, this)) {
            // Stopped meanwhile: no suspension, await_resume throws.
            detach();
            return false;
        }
        awaiting_ = h;
        return true;
    }
    decltype(auto) await_resume() {
        if (stop_.requested() && !completed_) {
            throw_cancelled(wait_.operation);
        }
        return wait_.take(*owner_);
    }
    [[nodiscard]] event_loop& awaited_loop() const noexcept { return owner_->loop(); }
    void cancel() noexcept {
        if (awaiting_) {
            leave();
            std::exchange(awaiting_, nullptr).resume();
        }
    }

  private:
    static constexpr bool has_slot_hooks = requires(Wait w, owner_type& o, waiter& self) {
        w.attach(o, self);
        w.detach(o, self);
    };
    void attach() {
        if constexpr (has_slot_hooks) {
            wait_.attach(*owner_, *this);
        } else {
            wait_.slot(*owner_).attach(*this, wait_.busy);
        }
    }
    void detach() noexcept {
        if constexpr (has_slot_hooks) {
            wait_.detach(*owner_, *this);
        } else {
            wait_.slot(*owner_).detach(*this);
        }
    }
    // Leaves the slot and stops listening, if suspended; the coroutine is not resumed.
    void leave() noexcept {
        if (awaiting_) {
            detach();
            stop_.unbind();
        }
    }
    // waiter_slot::complete(): what the owner produced ends the wait unless the Wait's
    // attempt() says it does not.
    static bool offer(waiter& w, waiter_slot& slot) noexcept {
        auto& self = static_cast<slot_awaiter&>(w);
        if constexpr (requires { self.wait_.attempt(*self.owner_); }) {
            if (!self.wait_.attempt(*self.owner_)) {
                return false;
            }
        }
        slot.detach(self);
        self.completed_ = true;
        self.stop_.unbind();
        std::exchange(self.awaiting_, nullptr).resume();
        return true;
    }
    static void on_stop(void* self) noexcept { static_cast<slot_awaiter*>(self)->cancel(); }

    owner_type* owner_;
    std::coroutine_handle<> awaiting_;
    [[no_unique_address]] Wait wait_;
    bool completed_ = false;  // before stop_: it fits in the padding after a small wait_
    [[no_unique_address]] Stop stop_;
};

}  // namespace tfd::detail
