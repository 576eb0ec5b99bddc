// The loop's due list: timers collected in the timer phase and not yet run, in the order
// they were collected (deadline, then start order, clock by clock).
//
// Intrusive: a timer the queue handed over (pop_due) no longer uses its hook's links, so the
// list threads through them, and the hook's place says `due`.  Pushing, popping and removing
// are O(1) and allocate nothing; a timer stopped or restarted while due leaves the list at
// once, so the list never holds a stale entry.
//
// Invariants:
//  * an entry is in the list exactly when its place is `due`;
//  * head_ is the first entry's address (0 when empty); each entry's next_ is the following
//    entry's address (0 for the last), and its pprev_ the address of the word that points at
//    it (head_ or the previous entry's next_);
//  * tail_ is the address of the last link word: &head_ when empty, else the last entry's next_;
//  * size_ is the number of entries.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tfd/timer_queue.hpp"

namespace tfd::detail {

class due_list {
  public:
    due_list() noexcept = default;
    due_list(const due_list&) = delete;
    due_list& operator=(const due_list&) = delete;
    ~due_list() { clear(); }

    [[nodiscard]] static bool holds(const timer_entry& e) noexcept {
        return e.where() == timer_entry::place::due;
    }
    [[nodiscard]] bool empty() const noexcept { return head_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    // `e` must be idle (just popped from its queue).
    void push_back(timer_entry& e) noexcept {
        e.next_ = 0;
        e.pprev_ = tail_;
        *tail_ = address(e);
        tail_ = &e.next_;
        e.order_ = (e.order_ & ~timer_entry::place_mask) |
                   static_cast<std::uint64_t>(timer_entry::place::due);
        ++size_;
    }
    // Unlinks and returns the first entry (now idle), or nullptr.
    timer_entry* pop_front() noexcept {
        if (head_ == 0) {
            return nullptr;
        }
        timer_entry* e = reinterpret_cast<timer_entry*>(head_);
        remove(*e);
        return e;
    }
    // Unlinks `e`, which must be in the list; it becomes idle.
    void remove(timer_entry& e) noexcept {
        *e.pprev_ = e.next_;
        if (e.next_ != 0) {
            reinterpret_cast<timer_entry*>(e.next_)->pprev_ = e.pprev_;
        } else {
            tail_ = e.pprev_;
        }
        e.next_ = 0;
        e.pprev_ = nullptr;
        e.order_ &= ~timer_entry::place_mask;
        --size_;
    }
    // Makes every entry idle.
    void clear() noexcept {
        while (pop_front() != nullptr) {
        }
    }

  private:
    static std::uintptr_t address(timer_entry& e) noexcept {
        return reinterpret_cast<std::uintptr_t>(&e);
    }

    std::uintptr_t head_ = 0;
    std::uintptr_t* tail_ = &head_;
    std::size_t size_ = 0;
};

}  // namespace tfd::detail
