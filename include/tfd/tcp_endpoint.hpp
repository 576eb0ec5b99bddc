// tfd::tcp_endpoint: an IPv4 or IPv6 address and port, as tcp_listener binds and accepts them.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace tfd {

// A value: an address of family AF_INET or AF_INET6 with its port, or empty (family() 0).
class tcp_endpoint {
  public:
    tcp_endpoint() noexcept = default;
    // Copies a kernel address; anything but a whole sockaddr_in or sockaddr_in6 gives an
    // empty endpoint.
    tcp_endpoint(const sockaddr* address, socklen_t size) noexcept;

    // The endpoint for `host` and `port`, decided without surprises:
    //  * a literal is taken as written, without any lookup: dotted IPv4 ("127.0.0.1",
    //    "0.0.0.0" for every IPv4 interface) or IPv6 ("::1", "::" for every IPv6 interface,
    //    also in brackets, "[::1]");
    //  * "localhost" (any case) is 127.0.0.1, without any lookup (RFC 6761: it always names
    //    the loopback; resolvers disagree on whether ::1 comes first);
    //  * any other name is resolved with getaddrinfo(3) (/etc/hosts, then DNS, as the system
    //    is configured; that can block for seconds, so resolve before running a loop), and
    //    the first IPv4 address of the answer is taken, or the first IPv6 one when there is
    //    no IPv4 address: one address, the same one every time for the same answer.
    // Throws std::system_error naming the host: std::errc::invalid_argument for an empty
    // host, and for a name that does not resolve the resolver's own reason ("Name or service
    // not known") under the category tcp_resolve_category().
    static tcp_endpoint resolve(std::string_view host, std::uint16_t port);

    [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
    [[nodiscard]] std::uint16_t port() const noexcept;
    // The address alone ("127.0.0.1", "::1"); empty for an empty endpoint.
    [[nodiscard]] std::string address() const;
    // Address and port: "127.0.0.1:80", "[::1]:80".
    [[nodiscard]] std::string to_string() const;

    [[nodiscard]] const sockaddr* data() const noexcept {
        return reinterpret_cast<const sockaddr*>(&storage_);
    }
    [[nodiscard]] socklen_t size() const noexcept { return size_; }

  private:
    sockaddr_storage storage_{};
    socklen_t size_ = 0;
};

// The error category of getaddrinfo(3) failures (EAI_* codes; messages from gai_strerror).
const std::error_category& tcp_resolve_category() noexcept;

}  // namespace tfd
