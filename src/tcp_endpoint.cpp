#include "tfd/tcp_endpoint.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace tfd {
namespace {

class resolve_category final : public std::error_category {
  public:
    [[nodiscard]] const char* name() const noexcept override { return "getaddrinfo"; }
    [[nodiscard]] std::string message(int code) const override { return ::gai_strerror(code); }
};

[[noreturn]] void fail(std::error_code code, std::string_view host, std::uint16_t port,
                       const char* why) {
    throw std::system_error(code, "tcp_endpoint::resolve: host=\"" + std::string(host) +
                                      "\" port=" + std::to_string(port) + why);
}

// A numeric IPv4 or IPv6 address, or false.
bool parse_literal(const std::string& text, std::uint16_t port, sockaddr_storage& out,
                   socklen_t& size) noexcept {
    sockaddr_in v4{};
    if (::inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        std::memcpy(&out, &v4, sizeof v4);
        size = sizeof v4;
        return true;
    }
    sockaddr_in6 v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        std::memcpy(&out, &v6, sizeof v6);
        size = sizeof v6;
        return true;
    }
    return false;
}

struct addrinfo_deleter {
    void operator()(addrinfo* list) const noexcept { ::freeaddrinfo(list); }
};

}  // namespace

const std::error_category& tcp_resolve_category() noexcept {
    static const resolve_category category;
    return category;
}

tcp_endpoint::tcp_endpoint(const sockaddr* address, socklen_t size) noexcept {
    bool whole =
        address != nullptr && ((address->sa_family == AF_INET && size >= sizeof(sockaddr_in)) ||
                               (address->sa_family == AF_INET6 && size >= sizeof(sockaddr_in6)));
    if (whole) {
        size_ = address->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
        std::memcpy(&storage_, address, size_);
    }
}

tcp_endpoint tcp_endpoint::resolve(std::string_view host, std::uint16_t port) {
    if (host.empty()) {
        fail(std::make_error_code(std::errc::invalid_argument), host, port,
             ": no host (\"0.0.0.0\" or \"::\" name every interface)");
    }
    std::string text(host);
    if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);  // "[::1]", as in URLs
    }
    tcp_endpoint endpoint;
    if (parse_literal(text, port, endpoint.storage_, endpoint.size_)) {
        return endpoint;
    }
    if (::strcasecmp(text.c_str(), "localhost") == 0) {
        (void)parse_literal("127.0.0.1", port, endpoint.storage_, endpoint.size_);
        return endpoint;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int error = ::getaddrinfo(text.c_str(), nullptr, &hints, &found);
    std::unique_ptr<addrinfo, addrinfo_deleter> list(found);
    if (error == EAI_SYSTEM) {
        fail(std::error_code(errno, std::system_category()), host, port,
             ": not an IPv4 or IPv6 address, and resolving it as a name failed");
    }
    if (error != 0) {
        fail(std::error_code(error, tcp_resolve_category()), host, port,
             ": not an IPv4 or IPv6 address, and it does not resolve as a name");
    }
    const addrinfo* pick = nullptr;
    for (const addrinfo* entry = list.get(); entry != nullptr; entry = entry->ai_next) {
        if (entry->ai_family == AF_INET) {
            pick = entry;
            break;
        }
        if (entry->ai_family == AF_INET6 && pick == nullptr) {
            pick = entry;
        }
    }
    if (pick == nullptr) {
        fail(std::error_code(EAI_NONAME, tcp_resolve_category()), host, port,
             ": the name has no IPv4 or IPv6 address");
    }
    endpoint = tcp_endpoint(pick->ai_addr, pick->ai_addrlen);
    if (endpoint.family() == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&endpoint.storage_)->sin_port = htons(port);
    } else {
        reinterpret_cast<sockaddr_in6*>(&endpoint.storage_)->sin6_port = htons(port);
    }
    return endpoint;
}

std::uint16_t tcp_endpoint::port() const noexcept {
    if (family() == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    }
    if (family() == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    }
    return 0;
}

std::string tcp_endpoint::address() const {
    char text[INET6_ADDRSTRLEN] = "";
    if (family() == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
                    sizeof text);
    } else if (family() == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
                    sizeof text);
    }
    return text;
}

std::string tcp_endpoint::to_string() const {
    // Appended piece by piece: g++ 12 at -O3 warns (-Wrestrict, a known false positive) about
    // the temporaries of a chained "[" + address() + "]:".
    const bool bracketed = family() == AF_INET6;
    std::string text;
    if (bracketed) {
        text += '[';
    }
    text += address();
    if (bracketed) {
        text += ']';
    }
    text += ':';
    text += std::to_string(port());
    return text;
}

}  // namespace tfd
