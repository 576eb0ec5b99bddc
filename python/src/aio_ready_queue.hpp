// tfd::aio::ready_queue: the FIFO of callbacks ready to run, a growable ring buffer.  Plain
// C++; the binding stores strong references to handles in it.
//
// Invariants: capacity is 0 or a power of two; items live at (head_ + i) & (capacity - 1)
// for i < size_.  push() is amortised O(1) and never reorders; a pass pops exactly the
// size() it saw when it began, so work queued while it runs waits for the next pass.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

namespace tfd::aio {

template <class T>
class ready_queue {
  public:
    ready_queue() = default;
    ready_queue(const ready_queue&) = delete;
    ready_queue& operator=(const ready_queue&) = delete;
    ~ready_queue() { std::free(items_); }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    void push(T item) {
        if (size_ == capacity_) {
            grow();
        }
        items_[(head_ + size_) & (capacity_ - 1)] = item;
        ++size_;
    }
    // The oldest item, removed.  Precondition: !empty().
    T pop() noexcept {
        T item = items_[head_];
        head_ = (head_ + 1) & (capacity_ - 1);
        --size_;
        return item;
    }
    // The i-th oldest item, in place.  Precondition: i < size().
    [[nodiscard]] T at(std::size_t i) const noexcept {
        return items_[(head_ + i) & (capacity_ - 1)];
    }

  private:
    void grow() {
        std::size_t capacity = capacity_ == 0 ? 64 : capacity_ * 2;
        T* items = static_cast<T*>(std::malloc(capacity * sizeof(T)));
        if (items == nullptr) {
            throw std::bad_alloc();
        }
        for (std::size_t i = 0; i < size_; ++i) {
            items[i] = at(i);
        }
        std::free(items_);
        items_ = items;
        capacity_ = capacity;
        head_ = 0;
    }

    T* items_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace tfd::aio
