// Scripted failures for the system-call seam (src/sys/sys.hpp).
#pragma once

#include <atomic>

#include "sys/sys.hpp"

namespace tfd::test {

// While alive, answers the next `times` calls of `which` with `result` (and errno `error`
// when `result` is -1) instead of making them; later calls go to the kernel again.  Only one
// may be alive at a time.
class scoped_fault {
  public:
    scoped_fault(sys::call which, long result, int error, int times = 1) noexcept;
    ~scoped_fault();
    scoped_fault(const scoped_fault&) = delete;
    scoped_fault& operator=(const scoped_fault&) = delete;

    // How many of the scripted answers were given so far.
    [[nodiscard]] int fired() const noexcept;

  private:
    sys::fault_hook previous_;
};

}  // namespace tfd::test
