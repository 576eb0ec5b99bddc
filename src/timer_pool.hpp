// The loop's pools of handle timer nodes: one per node type (one_shot_node, wide_node).
//
// Fixed-size blocks, so a node costs its own size rather than a malloc chunk (its size plus
// 8 to 16 bytes of header and rounding), and starting a timer is a pop from a free list.
// Memory returns to the pool, and to the system when the loop is destroyed.
//
// Invariants:
//  * every block is in exactly one of: the free list (free_, linked through slot::next) or
//    handed out;
//  * free_count_ is the length of the free list; capacity() == chunks_.size() * chunk_slots;
//  * blocks are sized and aligned for Node.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <vector>

#include "timer_node.hpp"

namespace tfd::detail {

template <class Node>
class timer_pool {
  public:
    void* allocate() {
        if (free_ == nullptr) {
            add_chunk();
        }
        slot* block = free_;
        free_ = block->next;
        --free_count_;
        return block->bytes;
    }
    void deallocate(void* block) noexcept {
        auto* freed = ::new (block) slot;
        freed->next = free_;
        free_ = freed;
        ++free_count_;
    }
    // Grows the pool until at least `count` blocks are free.  All or nothing: on
    // std::bad_alloc the pool is as it was (the chunks already allocated are freed), so a
    // reservation that cannot be met does not keep part of the memory for the loop's life.
    void reserve(std::size_t count) {
        if (free_count_ >= count) {
            return;
        }
        const std::size_t missing = count - free_count_;
        const std::size_t chunks = missing / chunk_slots + (missing % chunk_slots != 0 ? 1 : 0);
        chunks_.reserve(chunks_.size() + chunks);
        std::vector<std::unique_ptr<slot[]>> fresh;
        fresh.reserve(chunks);
        for (std::size_t i = 0; i < chunks; ++i) {
            fresh.push_back(std::make_unique<slot[]>(chunk_slots));  // zeroed: pages touched
        }
        for (auto& chunk : fresh) {
            link(chunk.get());
            chunks_.push_back(std::move(chunk));  // capacity reserved above: no throw
        }
    }
    // The bytes each block takes.
    static constexpr std::size_t block_bytes() noexcept { return sizeof(slot); }
    // Blocks owned, free or handed out.
    [[nodiscard]] std::size_t capacity() const noexcept { return chunks_.size() * chunk_slots; }
    [[nodiscard]] std::size_t free_blocks() const noexcept { return free_count_; }

  private:
    union slot {
        slot* next;
        alignas(Node) unsigned char bytes[sizeof(Node)];
    };
    static constexpr std::size_t chunk_slots = 256;

    // A new chunk's blocks go to the front of the free list in address order, so that
    // timers started one after another sit next to each other.
    void add_chunk() {
        chunks_.push_back(std::make_unique<slot[]>(chunk_slots));  // zeroed: pages touched
        link(chunks_.back().get());
    }
    void link(slot* chunk) noexcept {
        for (std::size_t i = chunk_slots; i-- > 0;) {
            chunk[i].next = free_;
            free_ = &chunk[i];
        }
        free_count_ += chunk_slots;
    }

    std::vector<std::unique_ptr<slot[]>> chunks_;
    slot* free_ = nullptr;
    std::size_t free_count_ = 0;
};

}  // namespace tfd::detail
