#include "tfd/tcp_endpoint.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <system_error>

namespace tfd {
namespace {

TEST(TcpEndpoint, LiteralsAreTakenAsWritten) {
    tcp_endpoint v4 = tcp_endpoint::resolve("10.1.2.3", 8080);
    EXPECT_EQ(v4.family(), AF_INET);
    EXPECT_EQ(v4.size(), sizeof(sockaddr_in));
    EXPECT_EQ(v4.to_string(), "10.1.2.3:8080");
    tcp_endpoint v6 = tcp_endpoint::resolve("::1", 443);
    EXPECT_EQ(v6.family(), AF_INET6);
    EXPECT_EQ(v6.size(), sizeof(sockaddr_in6));
    EXPECT_EQ(v6.address(), "::1");
    EXPECT_EQ(v6.port(), 443);
    EXPECT_EQ(tcp_endpoint::resolve("[fe80::1]", 2).to_string(), "[fe80::1]:2");
    EXPECT_EQ(tcp_endpoint::resolve("::ffff:10.1.2.3", 1).to_string(), "[::ffff:10.1.2.3]:1");
    EXPECT_EQ(tcp_endpoint::resolve("0.0.0.0", 0).to_string(), "0.0.0.0:0");
    EXPECT_EQ(tcp_endpoint::resolve("::", 0).to_string(), "[::]:0");
}

TEST(TcpEndpoint, LocalhostIsTheIpv4LoopbackInAnyCase) {
    EXPECT_EQ(tcp_endpoint::resolve("localhost", 80).to_string(), "127.0.0.1:80");
    EXPECT_EQ(tcp_endpoint::resolve("LocalHost", 81).to_string(), "127.0.0.1:81");
}

TEST(TcpEndpoint, BadHostsSayWhy) {
    try {
        (void)tcp_endpoint::resolve("", 1);
        ADD_FAILURE() << "an empty host resolved";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("no host"), std::string::npos) << e.what();
    }
    // Half a bracketed literal is not a literal, and no resolver knows it as a name.
    try {
        (void)tcp_endpoint::resolve("[::1", 1);
        ADD_FAILURE() << "\"[::1\" resolved";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().category(), tcp_resolve_category()) << e.what();
        EXPECT_NE(std::string(e.what()).find("host=\"[::1\" port=1"), std::string::npos)
            << e.what();
    }
}

TEST(TcpEndpoint, KernelAddressesOfOtherFamiliesGiveAnEmptyEndpoint) {
    sockaddr other{};
    other.sa_family = AF_UNIX;
    EXPECT_EQ(tcp_endpoint(&other, sizeof other).family(), 0);
    sockaddr_in6 cut{};
    cut.sin6_family = AF_INET6;
    EXPECT_EQ(tcp_endpoint(reinterpret_cast<const sockaddr*>(&cut), sizeof(sockaddr_in)).family(),
              0)
        << "a truncated IPv6 address was taken";
    EXPECT_EQ(tcp_endpoint(nullptr, 0).family(), 0);
    EXPECT_EQ(tcp_endpoint().address(), "");
}

}  // namespace
}  // namespace tfd
