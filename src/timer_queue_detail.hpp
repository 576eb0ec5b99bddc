// What the timer queue's three files share (src/timer_queue.cpp: the operations and the
// invariant checks; src/timer_queue_heap.cpp: the near tier, a 4-ary heap;
// src/timer_queue_wheel.cpp: the far tier, a hierarchical wheel).  Private to the library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tfd/timer_queue.hpp"
#include "timer_queue_math.hpp"

namespace tfd::timer_queue_detail {

using namespace timer_math;

#ifdef NDEBUG
constexpr bool debug_build = false;
#else
constexpr bool debug_build = true;
#endif

// Full invariant checks after each mutation are O(n); debug builds run them only while the
// queue is small, which is where unit tests poke at the corner cases.
constexpr std::size_t debug_full_check_limit = 256;
// Keep the heap array's capacity within 4x its size once it is larger than this.
constexpr std::size_t heap_shrink_floor = 4096;

[[noreturn]] inline void invariant_failed(const char* invariant, const std::string& context) {
    std::fprintf(stderr, "tfd::timer_queue: invariant violated: %s\n  context: %s\n", invariant,
                 context.c_str());
    std::fflush(stderr);
    std::abort();
}

#define TFD_TQ_REQUIRE(cond, context)           \
    do {                                        \
        if (!(cond)) {                          \
            invariant_failed(#cond, (context)); \
        }                                       \
    } while (false)

#define TFD_TQ_DEBUG_REQUIRE(cond, context) \
    do {                                    \
        if constexpr (debug_build) {        \
            TFD_TQ_REQUIRE(cond, context);  \
        }                                   \
    } while (false)

inline timer_entry* entry_at(std::uintptr_t word) noexcept {
    return reinterpret_cast<timer_entry*>(word);
}
inline std::uintptr_t word_of(timer_entry* e) noexcept {
    return reinterpret_cast<std::uintptr_t>(e);
}

inline std::string describe(const timer_entry* e, std::int64_t deadline, std::uint64_t order) {
    return "entry " + std::to_string(reinterpret_cast<std::uintptr_t>(e)) + " deadline " +
           std::to_string(deadline) + " ns, order " + std::to_string(order);
}

}  // namespace tfd::timer_queue_detail
