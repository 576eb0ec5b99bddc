#include "tfd/async_listener.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/select.h>

#include <stop_token>
#include <string>
#include <vector>

#include "support/fd_utils.hpp"
#include "tfd/task.hpp"
#include "tfd/with_timeout.hpp"

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

TEST(CoroAsyncListener, AcceptsConnectionsOneAwaitAtATime) {
    event_loop loop;
    async_listener listener(loop, "127.0.0.1", 0);
    std::vector<int> peers;
    loop.spawn([](async_listener& l, std::vector<int>& out) -> task<> {
        for (int i = 0; i < 3; ++i) {
            accepted client = co_await l.accept();
            EXPECT_TRUE(client.socket.valid());
            out.push_back(client.peer.family());
        }
    }(listener, peers));
    std::vector<unique_fd> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(connect_to(listener.port()));
    }
    loop.run_for(50ms);
    EXPECT_EQ(peers, (std::vector<int>{AF_INET, AF_INET, AF_INET}));
    EXPECT_EQ(loop.spawned(), 0u);
}

TEST(CoroAsyncListener, ConnectionsBeyondTheQueueAreClosedAndCounted) {
    event_loop loop;
    async_listener listener(loop, "127.0.0.1", 0, async_listener::options{{}, 2});
    std::vector<unique_fd> clients;
    for (int i = 0; i < 5; ++i) {
        clients.push_back(connect_to(listener.port()));
    }
    loop.run_for(20ms);
    EXPECT_EQ(listener.queued(), 2u);
    EXPECT_EQ(listener.rejected(), 3u);
}

// max_queued limits the connections nobody waits for: a waiting accept() is handed each one
// directly, so 0 means "accept only while someone waits", not "never accept".
TEST(CoroAsyncListener, ZeroQueueHandsConnectionsToAWaitingAcceptAndRefusesTheRest) {
    event_loop loop;
    async_listener listener(loop, "127.0.0.1", 0, async_listener::options{{}, 0});
    int accepted_count = 0;
    loop.spawn([](async_listener& l, int& count) -> task<> {
        for (int i = 0; i < 2; ++i) {
            accepted client = co_await l.accept();
            EXPECT_TRUE(client.socket.valid());
            ++count;
        }
    }(listener, accepted_count));
    std::vector<unique_fd> clients;
    clients.push_back(connect_to(listener.port()));
    clients.push_back(connect_to(listener.port()));
    loop.run_for(50ms);
    EXPECT_EQ(accepted_count, 2);
    EXPECT_EQ(loop.spawned(), 0u);
    EXPECT_EQ(listener.rejected(), 0u);
    // Nobody waits any more: the next one is closed at once and counted.
    clients.push_back(connect_to(listener.port()));
    loop.run_for(20ms);
    EXPECT_EQ(listener.queued(), 0u);
    EXPECT_EQ(listener.rejected(), 1u);
}

// The coroutine resumed by accept() may own the listener and return, destroying it inside
// the listener's own accept loop.
TEST(CoroAsyncListener, TheAcceptingCoroutineMayDestroyItsListener) {
    event_loop loop;
    std::uint16_t port = 0;
    bool accepted_one = false;
    loop.spawn([](event_loop& l, std::uint16_t& p, bool& done) -> task<> {
        async_listener listener(l, "127.0.0.1", 0);
        p = listener.port();
        accepted client = co_await listener.accept();
        done = client.socket.valid();
    }(loop, port, accepted_one));
    std::vector<unique_fd> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(connect_to(port));
    }
    EXPECT_NO_THROW(loop.run_for(20ms));
    EXPECT_TRUE(accepted_one);
    EXPECT_EQ(loop.spawned(), 0u);
    EXPECT_EQ(loop.active_watchers(), 0u);
}

// A connection the loop cannot watch (fd >= FD_SETSIZE on select) never reaches accept():
// a coroutine would otherwise fail to make its async_connection, far from the listener.
TEST(CoroAsyncListener, ConnectionTheLoopCannotWatchIsRefusedNotQueued) {
    event_loop loop(backend_kind::select);
    async_listener listener(loop, "127.0.0.1", 0);
    int refused = 0;
    listener.on_refused([&](const tcp_endpoint&, const std::system_error&) { ++refused; });
    std::vector<unique_fd> low = test::occupy_descriptors_below(FD_SETSIZE);
    if (low.empty()) {
        GTEST_SKIP() << "cannot open more than " << FD_SETSIZE << " descriptors here";
    }
    unique_fd too_high = connect_to(listener.port());
    ASSERT_NO_THROW(loop.run_for(20ms));
    EXPECT_EQ(listener.queued(), 0u);
    EXPECT_EQ(listener.rejected(), 1u);
    EXPECT_EQ(refused, 1);
    low.clear();
    unique_fd served = connect_to(listener.port());
    ASSERT_NO_THROW(loop.run_for(20ms));
    EXPECT_EQ(listener.queued(), 1u);
}

TEST(CoroAsyncListener, StopAndTimeoutEndTheWait) {
    event_loop loop;
    async_listener listener(loop, "127.0.0.1", 0);
    std::stop_source source;
    std::vector<std::string> outcomes;
    loop.spawn([](event_loop& lp, async_listener& l, std::stop_token t,
                  std::vector<std::string>& out) -> task<> {
        std::optional<accepted> none = co_await with_timeout(lp, l.accept(), 1ms);
        out.push_back(none ? "accepted" : "timed out");
        try {
            co_await l.accept(t);
        } catch (const operation_cancelled& e) {
            out.push_back(e.what());
        }
    }(loop, listener, source.get_token(), outcomes));
    loop.run_for(20ms);
    source.request_stop();
    EXPECT_EQ(outcomes, (std::vector<std::string>{"timed out"}))
        << "never resumed inside request_stop()";
    loop.run_until_idle();  // phase 6 delivers the stop
    EXPECT_EQ(outcomes, (std::vector<std::string>{"timed out",
                                                  "async_listener::accept: Operation canceled"}));
}

TEST(CoroAsyncListener, CloseEndsAWaitingAcceptWithEbadf) {
    event_loop loop;
    async_listener listener(loop, "127.0.0.1", 0);
    int code = 0;
    loop.spawn([](async_listener& l, int& c) -> task<> {
        try {
            co_await l.accept();
        } catch (const std::system_error& e) {
            c = e.code().value();
        }
    }(listener, code));
    listener.close();
    EXPECT_EQ(code, EBADF);
}

TEST(CoroAsyncListener, BadAddressIsReported) {
    event_loop loop;
    EXPECT_THROW(async_listener(loop, "not-an-address", 0), std::system_error);
}

}  // namespace
}  // namespace tfd
