#include "sys/sys.hpp"

namespace tfd::sys {

namespace detail {
std::atomic<fault_hook> installed_hook{nullptr};
}  // namespace detail

fault_hook set_fault_hook(fault_hook hook) noexcept {
    return detail::installed_hook.exchange(hook, std::memory_order_relaxed);
}

}  // namespace tfd::sys
