// The loop's pool of one-shot timer nodes.
//
// Fixed-size blocks, so a node costs its 56 bytes rather than a malloc chunk (its size plus 8
// to 16 bytes of header and rounding), and starting a timer is a pop from a free list.
// Memory returns to the pool, and to the system when the loop is destroyed.
//
// Invariants:
//  * every block is in exactly one of: the free list (free_, linked through slot::next) or
//    handed out;
//  * free_count_ is the length of the free list; capacity() == chunks_.size() * chunk_slots;
//  * blocks are aligned for timer_node.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "timer_node.hpp"

namespace tfd::detail {

class timer_pool {
  public:
    void* allocate();
    void deallocate(void* block) noexcept;
    // Grows the pool until at least `count` blocks are free.
    void reserve(std::size_t count);
    // Blocks owned, free or handed out.
    [[nodiscard]] std::size_t capacity() const noexcept { return chunks_.size() * chunk_slots; }
    [[nodiscard]] std::size_t free_blocks() const noexcept { return free_count_; }

  private:
    void add_chunk();

    union slot {
        slot* next;
        alignas(timer_node) unsigned char bytes[sizeof(timer_node)];
    };
    static constexpr std::size_t chunk_slots = 256;
    std::vector<std::unique_ptr<slot[]>> chunks_;
    slot* free_ = nullptr;
    std::size_t free_count_ = 0;
};

}  // namespace tfd::detail
