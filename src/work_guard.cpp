// Work guards: a count of outstanding cross-thread work that the loop waits for.
#include "tfd/work_guard.hpp"

#include "loop_impl.hpp"

namespace tfd {

work_guard::work_guard(event_loop& loop) : loop_(&detail::event_loop_access::impl(loop)) {
    loop_->posts.hold();
}

void work_guard::reset() noexcept {
    if (loop_ != nullptr) {
        std::exchange(loop_, nullptr)->posts.release();
    }
}

}  // namespace tfd
