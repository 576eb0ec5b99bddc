#include "timer_pool.hpp"

#include <algorithm>
#include <new>

namespace tfd::detail {

// A new chunk's blocks go to the front of the free list in address order, so that timers
// started one after another sit next to each other.
void timer_pool::add_chunk() {
    chunks_.push_back(std::make_unique<slot[]>(chunk_slots));  // zeroed: its pages are touched
    slot* chunk = chunks_.back().get();
    for (std::size_t i = chunk_slots; i-- > 0;) {
        chunk[i].next = free_;
        free_ = &chunk[i];
    }
    free_count_ += chunk_slots;
}

void timer_pool::reserve(std::size_t count) {
    chunks_.reserve(chunks_.size() + (count - std::min(count, free_count_)) / chunk_slots + 1);
    while (free_count_ < count) {
        add_chunk();
    }
}

void* timer_pool::allocate() {
    if (free_ == nullptr) {
        add_chunk();
    }
    slot* block = free_;
    free_ = block->next;
    --free_count_;
    return block->bytes;
}

void timer_pool::deallocate(void* block) noexcept {
    auto* freed = ::new (block) slot;
    freed->next = free_;
    free_ = freed;
    ++free_count_;
}

}  // namespace tfd::detail
