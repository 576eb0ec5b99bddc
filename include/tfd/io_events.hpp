// tfd::io_events: the readiness conditions an fd watcher asks for and is told about.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

namespace tfd {

// A bit set.  A watcher's interest names `readable` and/or `writable`; the events delivered
// to it may also carry `error` and `hangup`, which every backend reports whether asked for or
// not (the kernel always reports them, and a watcher that ignored them would spin or hang).
enum class io_events : unsigned {
    none = 0,
    readable = 1u << 0,  // Data to read, a connection to accept, or end of file.
    writable = 1u << 1,  // Room to write without blocking.
    error = 1u << 2,     // An error is pending on the descriptor (EPOLLERR, POLLERR, POLLNVAL).
    hangup = 1u << 3,    // The peer hung up (EPOLLHUP, POLLHUP).
};

constexpr io_events operator|(io_events a, io_events b) noexcept {
    return static_cast<io_events>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr io_events operator&(io_events a, io_events b) noexcept {
    return static_cast<io_events>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
constexpr io_events operator~(io_events a) noexcept {
    return static_cast<io_events>(~static_cast<unsigned>(a) & 0xfu);
}
constexpr io_events& operator|=(io_events& a, io_events b) noexcept {
    return a = a | b;
}
// True when `set` contains any bit of `flags`.
constexpr bool any(io_events set, io_events flags) noexcept {
    return (set & flags) != io_events::none;
}

}  // namespace tfd
