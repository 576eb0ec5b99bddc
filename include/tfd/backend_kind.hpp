// tfd::backend_kind: which readiness mechanism an event_loop waits with.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <optional>
#include <string_view>

namespace tfd {

// epoll     O(ready) per wait; the default.
// poll      O(watched) per wait; no descriptor limit.
// select    O(highest descriptor) per wait; refuses descriptors >= FD_SETSIZE (1024) with
//           EINVAL, since fd_set cannot hold them.
// All three are level-triggered and pass the same contract tests.
enum class backend_kind : unsigned char { epoll, poll, select };

// "epoll", "poll", "select".
[[nodiscard]] std::string_view to_string(backend_kind kind) noexcept;
// Parses the names to_string() produces.
[[nodiscard]] std::optional<backend_kind> parse_backend_kind(std::string_view name) noexcept;

}  // namespace tfd
