// tfd::small_function: a move-only callable wrapper that stores small callables in place.
//
// The event loop keeps one callback per watcher, and a timer watcher should stay within one
// cache line, so std::function (32 bytes, and a heap allocation for most lambdas with more
// than two captured pointers in libstdc++) is too large.  small_function<Sig, Capacity> is one
// pointer to a per-type operations table plus `Capacity` bytes of inline storage: a callable
// that fits (and is nothrow-movable and not over-aligned) lives in place; a larger one is
// moved to the heap and the inline storage holds the pointer.
//
// As with std::function, a callable that is itself empty makes an empty wrapper: a null
// function pointer, a null member pointer, or an empty std::function, std::move_only_function
// or small_function (detail::is_empty_callable).  So every "empty callback" check of the
// loop (EINVAL at the call) catches them instead of a crash when the callback runs.
//
// Invariant: ops_ == nullptr exactly when the wrapper is empty; otherwise ops_ describes the
// type whose object (or pointer to it, when ops_->heap) sits in storage_.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace tfd {

template <class Signature, std::size_t Capacity = 16>
class small_function;

namespace detail {

// The wrappers whose emptiness std::function's constructor checks (and small_function).
template <class F>
struct is_function_wrapper : std::false_type {};
template <class Signature>
struct is_function_wrapper<std::function<Signature>> : std::true_type {};
#if defined(__cpp_lib_move_only_function)
template <class Signature>
struct is_function_wrapper<std::move_only_function<Signature>> : std::true_type {};
#endif
template <class Signature, std::size_t Capacity>
struct is_function_wrapper<small_function<Signature, Capacity>> : std::true_type {};

// True for a callable that holds nothing to call: a null function or member pointer, or an
// empty function wrapper.  Anything else (a lambda, a functor) is never empty.
template <class F>
[[nodiscard]] constexpr bool is_empty_callable(const F& f) noexcept {
    if constexpr (std::is_pointer_v<F> || std::is_member_pointer_v<F>) {
        return f == nullptr;
    } else if constexpr (is_function_wrapper<F>::value) {
        return !static_cast<bool>(f);
    } else {
        return false;
    }
}

}  // namespace detail

template <class R, class... Args, std::size_t Capacity>
class small_function<R(Args...), Capacity> {
    static_assert(Capacity >= sizeof(void*), "the storage must at least hold a pointer");

  public:
    small_function() noexcept = default;
    small_function(std::nullptr_t) noexcept {}

    template <class F, class D = std::decay_t<F>,
              class = std::enable_if_t<!std::is_same_v<D, small_function> &&
                                       std::is_invocable_r_v<R, D&, Args...>>>
    small_function(F&& f) {  // NOLINT: implicit by design, like std::function
        if (detail::is_empty_callable<D>(f)) {
            return;  // empty, as std::function is for a null pointer
        }
        if constexpr (fits_inline<D>()) {
            ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
            ops_ = &inline_ops<D>;
        } else {
            D* object = new D(std::forward<F>(f));
            ::new (static_cast<void*>(storage_)) D*(object);
            ops_ = &heap_ops<D>;
        }
    }

    small_function(small_function&& other) noexcept { take(other); }
    small_function& operator=(small_function&& other) noexcept {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }
    small_function(const small_function&) = delete;
    small_function& operator=(const small_function&) = delete;
    ~small_function() { reset(); }

    R operator()(Args... args) { return ops_->invoke(storage_, std::forward<Args>(args)...); }

    explicit operator bool() const noexcept { return ops_ != nullptr; }

    void reset() noexcept {
        if (ops_ != nullptr) {
            ops_->destroy(storage_);
            ops_ = nullptr;
        }
    }

    // True when a callable of type F is stored in place, without a heap allocation.
    template <class F>
    static constexpr bool fits_inline() noexcept {
        return sizeof(F) <= Capacity && alignof(F) <= alignof(void*) &&
               std::is_nothrow_move_constructible_v<F>;
    }

  private:
    struct operations {
        R (*invoke)(void* storage, Args&&... args);
        // Move-constructs into `to` from `from` and destroys the source.
        void (*relocate)(void* from, void* to) noexcept;
        void (*destroy)(void* storage) noexcept;
    };

    // std::invoke, discarding the result for a void signature (as std::function does).
    template <class F>
    static R call(F& f, Args&&... args) {
        if constexpr (std::is_void_v<R>) {
            static_cast<void>(std::invoke(f, std::forward<Args>(args)...));
        } else {
            return std::invoke(f, std::forward<Args>(args)...);
        }
    }

    template <class F>
    static constexpr operations inline_ops{
        [](void* storage, Args&&... args) -> R {
            return call(*std::launder(static_cast<F*>(storage)), std::forward<Args>(args)...);
        },
        [](void* from, void* to) noexcept {
            F* source = std::launder(static_cast<F*>(from));
            ::new (to) F(std::move(*source));
            source->~F();
        },
        [](void* storage) noexcept { std::launder(static_cast<F*>(storage))->~F(); },
    };

    template <class F>
    static constexpr operations heap_ops{
        [](void* storage, Args&&... args) -> R {
            return call(**std::launder(static_cast<F**>(storage)), std::forward<Args>(args)...);
        },
        [](void* from, void* to) noexcept { ::new (to) F*(*std::launder(static_cast<F**>(from))); },
        [](void* storage) noexcept { delete *std::launder(static_cast<F**>(storage)); },
    };

    void take(small_function& other) noexcept {
        if (other.ops_ != nullptr) {
            other.ops_->relocate(other.storage_, storage_);
            ops_ = std::exchange(other.ops_, nullptr);
        }
    }

    const operations* ops_ = nullptr;
    alignas(void*) unsigned char storage_[Capacity];
};

}  // namespace tfd
