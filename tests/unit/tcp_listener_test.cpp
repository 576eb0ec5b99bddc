#include "tfd/tcp_listener.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/select.h>

#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "support/fault_injection.hpp"
#include "support/fd_utils.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

unique_fd connect_to(std::uint16_t port) {
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in where{};
    where.sin_family = AF_INET;
    where.sin_port = htons(port);
    where.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&where), sizeof where), 0);
    return fd;
}

TEST(TcpListener, PortZeroPicksAFreePortAndAcceptsEveryPendingConnection) {
    event_loop loop;
    std::vector<unique_fd> accepted;
    tcp_listener listener(loop, "127.0.0.1", 0, [&](unique_fd fd, const tcp_endpoint& peer) {
        EXPECT_EQ(peer.family(), AF_INET);
        EXPECT_EQ(peer.address(), "127.0.0.1");
        EXPECT_NE(peer.port(), 0);
        accepted.push_back(std::move(fd));
    });
    ASSERT_NE(listener.port(), 0);
    std::vector<unique_fd> clients;
    for (int i = 0; i < 10; ++i) {
        clients.push_back(connect_to(listener.port()));
    }
    loop.run_once();
    EXPECT_EQ(accepted.size(), 10u);
}

// The listener calls on_accept at the first client: an empty one is refused up front, before
// anything is bound, rather than crashing then.
TEST(TcpListener, EmptyAcceptCallbackIsRefused) {
    event_loop loop;
    void (*no_function)(unique_fd, const tcp_endpoint&) = nullptr;
    std::vector<accept_callback> empties;
    empties.emplace_back(nullptr);
    empties.emplace_back(no_function);
    empties.emplace_back(std::function<void(unique_fd, const tcp_endpoint&)>{});
    for (auto& empty : empties) {
        try {
            tcp_listener listener(loop, "127.0.0.1", 0, std::move(empty));
            ADD_FAILURE() << "constructed with an empty on_accept, port " << listener.port();
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::errc::invalid_argument);
            EXPECT_STREQ(e.what(), "tcp_listener: empty on_accept callback: Invalid argument");
        }
    }
    EXPECT_EQ(loop.active_watchers(), 0u);
}

// on_accept may destroy the listener with more connections pending in the same batch: the
// listener touches nothing of itself afterwards (it used to go on accepting on freed memory).
TEST(TcpListener, OnAcceptMayDestroyTheListener) {
    event_loop loop;
    std::unique_ptr<tcp_listener> listener;
    int accepted = 0;
    listener =
        std::make_unique<tcp_listener>(loop, "127.0.0.1", 0, [&](unique_fd, const tcp_endpoint&) {
            ++accepted;
            listener.reset();
        });
    std::vector<unique_fd> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(connect_to(listener->port()));
    }
    EXPECT_NO_THROW(loop.run_once());
    EXPECT_EQ(accepted, 1);
    EXPECT_EQ(listener, nullptr);
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(TcpListener, BusyPortIsReported) {
    event_loop loop;
    tcp_listener first(loop, "127.0.0.1", 0, [](unique_fd, const tcp_endpoint&) {});
    try {
        tcp_listener second(loop, "127.0.0.1", first.port(), [](unique_fd, const tcp_endpoint&) {});
        FAIL() << "a second listener bound the same port";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::address_in_use);
        EXPECT_NE(std::string(e.what()).find(std::to_string(first.port())), std::string::npos);
    }
}

// A host name that does not resolve used to fail with a bare "Invalid argument".  The name
// is under .invalid, which no resolver answers (RFC 2606).
TEST(TcpListener, UnresolvableHostSaysWhy) {
    event_loop loop;
    try {
        tcp_listener listener(loop, "no-such-host.invalid", 0,
                              [](unique_fd, const tcp_endpoint&) {});
        FAIL() << "listened on an unresolvable host";
    } catch (const std::system_error& e) {
        std::string what = e.what();
        EXPECT_EQ(e.code().category(), tcp_resolve_category()) << what;
        EXPECT_NE(what.find("host=\"no-such-host.invalid\" port=0: not an IPv4 or IPv6 address, "
                            "and it does not resolve as a name"),
                  std::string::npos)
            << what;
        EXPECT_EQ(what.find("Invalid argument"), std::string::npos) << what;
    }
    EXPECT_THROW(tcp_listener(loop, "", 0, [](unique_fd, const tcp_endpoint&) {}),
                 std::system_error);
}

// Connects to `where` (IPv4 or IPv6) and returns the socket, or an invalid one.
unique_fd connect_endpoint(const tcp_endpoint& where) {
    unique_fd fd(::socket(where.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(fd.get(), where.data(), where.size()) != 0) {
        return {};
    }
    return fd;
}

TEST(TcpListener, ListensOnIpv6Literals) {
    event_loop loop;
    std::vector<tcp_endpoint> peers;
    auto on_accept = [&](unique_fd, const tcp_endpoint& peer) { peers.push_back(peer); };
    std::unique_ptr<tcp_listener> plain;
    try {
        plain = std::make_unique<tcp_listener>(loop, "::1", 0, on_accept);
    } catch (const std::system_error& e) {
        GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
    }
    tcp_listener bracketed(loop, "[::1]", 0, on_accept);
    EXPECT_EQ(plain->endpoint().family(), AF_INET6);
    EXPECT_EQ(plain->endpoint().to_string(), "[::1]:" + std::to_string(plain->port()));
    EXPECT_EQ(bracketed.endpoint().address(), "::1");
    unique_fd one = connect_endpoint(plain->endpoint());
    unique_fd two = connect_endpoint(bracketed.endpoint());
    ASSERT_TRUE(one.valid() && two.valid());
    loop.run_once();
    ASSERT_EQ(peers.size(), 2u);
    EXPECT_EQ(peers[0].family(), AF_INET6);
    EXPECT_EQ(peers[0].address(), "::1");
}

// IPV6_V6ONLY is set, so an IPv4 and an IPv6 listener share a port whatever the system's
// net.ipv6.bindv6only says.
TEST(TcpListener, Ipv4AndIpv6ListenersShareAPort) {
    event_loop loop;
    tcp_listener v4(loop, "0.0.0.0", 0, [](unique_fd, const tcp_endpoint&) {});
    try {
        tcp_listener v6(loop, "::", v4.port(), [](unique_fd, const tcp_endpoint&) {});
        EXPECT_EQ(v6.port(), v4.port());
    } catch (const std::system_error& e) {
        if (e.code() == std::errc::address_family_not_supported) {
            GTEST_SKIP() << e.what();
        }
        ADD_FAILURE() << e.what();
    }
}

TEST(TcpListener, LocalhostIsTheIpv4LoopbackWithoutALookup) {
    event_loop loop;
    int accepted = 0;
    tcp_listener listener(loop, "localhost", 0,
                          [&](unique_fd, const tcp_endpoint&) { ++accepted; });
    EXPECT_EQ(listener.endpoint().address(), "127.0.0.1");
    unique_fd client = connect_to(listener.port());
    loop.run_once();
    EXPECT_EQ(accepted, 1);
}

// Any other name goes through getaddrinfo: this machine's own name, which /etc/hosts or the
// system's resolver maps to one of its addresses.
TEST(TcpListener, OtherHostNamesAreResolved) {
    char name[256] = {};
    ASSERT_EQ(::gethostname(name, sizeof name - 1), 0);
    tcp_endpoint where;
    try {
        where = tcp_endpoint::resolve(name, 0);
    } catch (const std::system_error& e) {
        GTEST_SKIP() << "this machine's name does not resolve: " << e.what();
    }
    ASSERT_TRUE(where.family() == AF_INET || where.family() == AF_INET6);
    event_loop loop;
    try {
        tcp_listener listener(loop, name, 0, [](unique_fd, const tcp_endpoint&) {});
        EXPECT_EQ(listener.endpoint().address(), where.address());
    } catch (const std::system_error& e) {
        GTEST_SKIP() << name << " resolves to an address not on this machine: " << e.what();
    }
}

TEST(TcpListener, OutOfDescriptorsShedsTheConnectionWithTheSpare) {
    event_loop loop;
    int accepted = 0;
    tcp_listener listener(loop, "127.0.0.1", 0,
                          [&](unique_fd, const tcp_endpoint&) { ++accepted; });
    unique_fd client = connect_to(listener.port());
    {
        test::scoped_fault emfile(sys::call::accept, -1, EMFILE, 1);
        loop.run_once();
        EXPECT_EQ(emfile.fired(), 1);
    }
    EXPECT_EQ(listener.rejected(), 1u);
    EXPECT_EQ(accepted, 0);
    char byte;
    EXPECT_EQ(::read(client.get(), &byte, 1), 0) << "the shed client sees its connection closed";
}

TEST(TcpListener, PersistentShortageItPausesInsteadOfSpinning) {
    event_loop loop;
    int accepted = 0;
    tcp_listener listener(loop, "127.0.0.1", 0, [&](unique_fd, const tcp_endpoint&) { ++accepted; },
                          {.backlog = 16, .accept_batch = 64, .pause = 50ms});
    unique_fd client = connect_to(listener.port());
    int attempts = 0;
    {
        test::scoped_fault emfile(sys::call::accept, -1, EMFILE, 1000000);
        loop.run_for(300ms);
        attempts = emfile.fired();
    }
    // One failed accept and one failed shed per 50 ms pause: about a dozen in 300 ms, where a
    // spinning loop would make hundreds of thousands.
    EXPECT_GE(listener.paused(), 2u);
    EXPECT_LE(attempts, 40);
    loop.run_for(100ms);  // descriptors are back: the waiting connection is accepted
    EXPECT_EQ(accepted, 1);
}

// A select-backed loop cannot watch descriptors from FD_SETSIZE (1024) on.  A connection
// accepted there used to reach on_accept, whose tcp_connection then threw out of run(): the
// server died with every client.  Now the listener refuses that one connection (closed,
// counted, reported once) and goes on accepting.
TEST(TcpListener, ConnectionTheLoopCannotWatchIsRefusedAndAcceptingGoesOn) {
    event_loop loop(backend_kind::select);
    std::vector<unique_fd> accepted;
    std::vector<std::string> refusals;
    tcp_listener listener(loop, "127.0.0.1", 0, [&](unique_fd fd, const tcp_endpoint&) {
        accepted.push_back(std::move(fd));
    });
    listener.on_refused([&](const tcp_endpoint& peer, const std::system_error& error) {
        EXPECT_EQ(peer.address(), "127.0.0.1");
        EXPECT_EQ(error.code(), std::errc::invalid_argument);
        refusals.emplace_back(error.what());
    });
    std::vector<unique_fd> low = test::occupy_descriptors_below(FD_SETSIZE);
    if (low.empty()) {
        GTEST_SKIP() << "cannot open more than " << FD_SETSIZE << " descriptors here";
    }
    unique_fd refused_client = connect_to(listener.port());  // it and its accepted end >= 1024
    ASSERT_NO_THROW(loop.run_for(20ms));
    EXPECT_TRUE(accepted.empty());
    EXPECT_EQ(listener.rejected(), 1u);
    ASSERT_EQ(refusals.size(), 1u);
    EXPECT_NE(refusals[0].find("is >= FD_SETSIZE"), std::string::npos) << refusals[0];
    std::size_t at = refusals[0].find("fd=");
    ASSERT_NE(at, std::string::npos) << refusals[0];
    EXPECT_GE(std::stoi(refusals[0].substr(at + 3)), FD_SETSIZE) << refusals[0];
    char byte;
    EXPECT_EQ(::read(refused_client.get(), &byte, 1), 0) << "the refused client sees end of file";
    low.clear();  // low numbers free again: the next client is served
    unique_fd client = connect_to(listener.port());
    ASSERT_NO_THROW(loop.run_for(20ms));
    ASSERT_EQ(accepted.size(), 1u);
    EXPECT_LT(accepted[0].get(), FD_SETSIZE);
    EXPECT_EQ(refusals.size(), 1u);
    EXPECT_EQ(loop.active_watchers(), 1u) << "the listener's watcher only: no check left behind";
}

// accept_batch = 0 was accepted, and the loop then spun on a listener it never accepted
// from (about 100% of a core, no connection ever accepted); pause = 0 spins the same way
// while descriptors are out.  Refused before any socket is opened.
TEST(TcpListener, OptionsThatWouldSpinAreRefusedWithTheFieldAndValue) {
    event_loop loop;
    int before = test::open_fd_count();
    struct refused_case {
        tcp_listener::options options;
        const char* message;
    };
    for (const refused_case& c : {
             refused_case{{.accept_batch = 0}, "tcp_listener: accept_batch=0 must be positive"},
             refused_case{{.accept_batch = -3}, "tcp_listener: accept_batch=-3 must be positive"},
             refused_case{{.pause = 0ms}, "tcp_listener: pause=0s must be positive"},
             refused_case{{.pause = -5ms}, "tcp_listener: pause=-5ms must be positive"},
         }) {
        try {
            tcp_listener listener(
                loop, "127.0.0.1", 0, [](unique_fd, const tcp_endpoint&) {}, c.options);
            ADD_FAILURE() << "accepted: " << c.message;
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::errc::invalid_argument);
            EXPECT_EQ(std::string(e.what()).rfind(c.message, 0), 0u) << e.what();
        }
    }
    EXPECT_EQ(test::open_fd_count(), before) << "nothing opened";
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(TcpListener, CloseReleasesItsDescriptors) {
    int before = test::open_fd_count();
    event_loop loop;
    int with_loop = test::open_fd_count();
    {
        tcp_listener listener(loop, "127.0.0.1", 0, [](unique_fd, const tcp_endpoint&) {});
        // The listener makes its (stopped) resume timer up front, so the loop's monotonic
        // timer_fd exists from then on: pausing must not need a descriptor.
        EXPECT_EQ(test::open_fd_count(), with_loop + 3)
            << "the socket, the spare and the loop's monotonic timer_fd";
        listener.close();
        EXPECT_EQ(test::open_fd_count(), with_loop + 1) << "the loop keeps its timer_fd";
    }
    EXPECT_GT(with_loop, before);
}

}  // namespace
}  // namespace tfd
