// The timer queue's near tier: a 4-ary min-heap of (cached deadline, entry) keyed by
// (deadline, start order), the heap index kept in the entry; also the whole of kind::heap.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "timer_queue_detail.hpp"

namespace tfd {

using namespace timer_queue_detail;

// ---- near tier: 4-ary min-heap ------------------------------------------------------------

bool timer_queue::before(const heap_node& a, const heap_node& b) noexcept {
    // The cached deadline decides almost always; only ties read the entries.
    return a.deadline < b.deadline ||
           (a.deadline == b.deadline && a.entry->order_ < b.entry->order_);
}

void timer_queue::place_node(std::size_t i, heap_node n) noexcept {
    heap_[i] = n;
    n.entry->next_ = i;
}

// Makes room for `more` nodes, growing geometrically (a plain reserve(size + 1) would
// reallocate on every push).
void timer_queue::heap_reserve(std::size_t more) {
    const std::size_t need = heap_.size() + more;
    if (need > heap_.capacity()) {
        heap_.reserve(std::max({need, 2 * heap_.capacity(), std::size_t{16}}));
    }
}

// Needs capacity for one more node (reserved by the caller).
void timer_queue::heap_push(timer_entry& e) {
    if (heap_.size() >= std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("timer_queue: more than 2^32-1 timers in the heap");
    }
    e.order_ = (e.order_ & ~timer_entry::place_mask) |
               static_cast<std::uint64_t>(timer_entry::place::heap);
    heap_.push_back(heap_node{e.deadline_, &e});
    e.next_ = heap_.size() - 1;
    sift_up(heap_.size() - 1);
}

void timer_queue::heap_erase(timer_entry& e) noexcept {
    const std::size_t i = e.next_;
    TFD_TQ_DEBUG_REQUIRE(i < heap_.size() && heap_[i].entry == &e,
                         describe(&e, e.deadline_, e.order_) + ", heap index " + std::to_string(i) +
                             " of " + std::to_string(heap_.size()));
    const heap_node last = heap_.back();
    heap_.pop_back();
    if (i < heap_.size()) {
        place_node(i, last);
        if (i > 0 && before(last, heap_[(i - 1) / heap_arity])) {
            sift_up(i);
        } else {
            sift_down(i);
        }
    }
    maybe_shrink();
}

void timer_queue::heap_rekey(timer_entry& e) noexcept {
    const std::size_t i = e.next_;
    heap_[i].deadline = e.deadline_;
    if (i > 0 && before(heap_[i], heap_[(i - 1) / heap_arity])) {
        sift_up(i);
    } else {
        sift_down(i);
    }
}

timer_entry& timer_queue::heap_pop() noexcept {
    timer_entry& top = *heap_.front().entry;
    heap_erase(top);
    return top;
}

void timer_queue::sift_up(std::size_t i) noexcept {
    const heap_node n = heap_[i];
    while (i > 0) {
        const std::size_t parent = (i - 1) / heap_arity;
        if (!before(n, heap_[parent])) {
            break;
        }
        place_node(i, heap_[parent]);
        i = parent;
    }
    place_node(i, n);
}

void timer_queue::sift_down(std::size_t i) noexcept {
    const heap_node n = heap_[i];
    const std::size_t size = heap_.size();
    for (;;) {
        const std::size_t first = i * heap_arity + 1;
        if (first >= size) {
            break;
        }
        const std::size_t end = std::min(first + heap_arity, size);
        std::size_t best = first;
        for (std::size_t c = first + 1; c < end; ++c) {
            if (before(heap_[c], heap_[best])) {
                best = c;
            }
        }
        if (!before(heap_[best], n)) {
            break;
        }
        place_node(i, heap_[best]);
        i = best;
    }
    place_node(i, n);
}

void timer_queue::maybe_shrink() noexcept {
    // Cancelled timers must not pin memory: once the array is mostly empty, halve it.
    const std::size_t cap = heap_.capacity();
    if (cap <= heap_shrink_floor || heap_.size() >= cap / 4) {
        return;
    }
    try {
        std::vector<heap_node> smaller;
        smaller.reserve(cap / 2);
        smaller.assign(heap_.begin(), heap_.end());
        heap_.swap(smaller);
    } catch (const std::bad_alloc&) {
        // Shrinking is an optimisation; keeping the larger array is still correct.
    }
}

}  // namespace tfd
