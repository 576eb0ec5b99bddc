// The allocation suite's counter: the number of operator new calls so far in this process
// (tests/alloc/counting_new.cpp replaces the global operators for tfd_alloc_tests only).
#pragma once

#include <cstdint>

namespace tfd::test_alloc {
[[nodiscard]] std::uint64_t heap_allocations() noexcept;
}  // namespace tfd::test_alloc
