#include "tfd/tcp_listener.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

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
    tcp_listener listener(loop, "127.0.0.1", 0, [&](unique_fd fd, const sockaddr_in& peer) {
        EXPECT_EQ(peer.sin_family, AF_INET);
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

TEST(TcpListener, BusyPortAndBadAddressAreReported) {
    event_loop loop;
    tcp_listener first(loop, "127.0.0.1", 0, [](unique_fd, const sockaddr_in&) {});
    try {
        tcp_listener second(loop, "127.0.0.1", first.port(), [](unique_fd, const sockaddr_in&) {});
        FAIL() << "a second listener bound the same port";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::address_in_use);
        EXPECT_NE(std::string(e.what()).find(std::to_string(first.port())), std::string::npos);
    }
    EXPECT_THROW(tcp_listener(loop, "not-an-address", 0, [](unique_fd, const sockaddr_in&) {}),
                 std::system_error);
}

TEST(TcpListener, OutOfDescriptorsShedsTheConnectionWithTheSpare) {
    event_loop loop;
    int accepted = 0;
    tcp_listener listener(loop, "127.0.0.1", 0, [&](unique_fd, const sockaddr_in&) { ++accepted; });
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
    tcp_listener listener(loop, "127.0.0.1", 0, [&](unique_fd, const sockaddr_in&) { ++accepted; },
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

TEST(TcpListener, CloseReleasesItsDescriptors) {
    int before = test::open_fd_count();
    event_loop loop;
    int with_loop = test::open_fd_count();
    {
        tcp_listener listener(loop, "127.0.0.1", 0, [](unique_fd, const sockaddr_in&) {});
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
