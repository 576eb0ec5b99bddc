// examples/coro_timer_server and examples/coro_echo_server driven over real TCP sockets.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "example_process.hpp"
#include "tfd/backend_kind.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

class CoroTimerServer : public ::testing::TestWithParam<backend_kind> {};

TEST_P(CoroTimerServer, StatusHelpErrorsAndStopOverTcp) {
    TFD_SKIP_WITHOUT_EXAMPLE("coro_timer_server");
    example_process server("coro_timer_server",
                           {"--port", "0", "--backend", std::string(to_string(GetParam()))});
    ASSERT_NE(server.port(), 0) << server.output();
    unique_fd a = connect_to(server.port());
    unique_fd b = connect_to(server.port());
    std::this_thread::sleep_for(800ms);
    send_all(a, "help\nstatus\n\xff\xfe\nbogus\n" + std::string(2000, 'x') + "\n\x1b[2J\n");
    std::string replies = read_lines(a, 6);
    EXPECT_NE(replies.find("commands: status, stop, help\n"), std::string::npos) << replies;
    long t1 = -1, t2 = -1, t3 = -1, clients = -1;
    double uptime = -1;
    std::size_t at = replies.find("timer1=");
    ASSERT_NE(at, std::string::npos) << replies;
    ASSERT_EQ(
        std::sscanf(replies.c_str() + at, "timer1=%ld timer2=%ld timer3=%ld uptime=%lf clients=%ld",
                    &t1, &t2, &t3, &uptime, &clients),
        5);
    // Never early; late by at most two ticks on a loaded machine.
    EXPECT_LE(t1, static_cast<long>(uptime / 0.25));
    EXPECT_GE(t1, static_cast<long>(uptime / 0.25) - 2);
    EXPECT_LE(t3, static_cast<long>(uptime / 0.75));
    EXPECT_EQ(clients, 2);
    EXPECT_NE(replies.find("ERR invalid UTF-8\n"), std::string::npos) << replies;
    EXPECT_NE(replies.find("ERR unknown command: bogus\n"), std::string::npos) << replies;
    EXPECT_NE(replies.find("ERR line too long (max 1024 bytes)\n"), std::string::npos) << replies;
    // Echoed escaped, as timer_server does: no escape sequence reaches the client or the log.
    EXPECT_NE(replies.find("ERR unknown command: \\x1b[2J\n"), std::string::npos) << replies;

    send_all(b, "stop\n");
    EXPECT_EQ(read_lines(b, 1), "OK stopping\n");
    EXPECT_EQ(server.wait_exit(10s), std::optional<int>(0)) << server.output();
    std::string out = server.output();
    EXPECT_NE(out.find("Stopping server"), std::string::npos) << out;
    EXPECT_NE(out.find("Timer 1 expired 1 times"), std::string::npos) << out;
    EXPECT_NE(out.find("Timers expired"), std::string::npos) << out;
    EXPECT_NE(out.find("Unknown command: \\x1b[2J\n"), std::string::npos) << out;
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
    bool closed = false;
    (void)read_lines(a, 1, 5s, &closed);
    EXPECT_TRUE(closed);  // the other client was disconnected by the stop
}

TEST_P(CoroTimerServer, DurationAndSigtermStopIt) {
    TFD_SKIP_WITHOUT_EXAMPLE("coro_timer_server");
    {
        example_process server(
            "coro_timer_server",
            {"--port", "0", "--duration", "0.6", "--backend", std::string(to_string(GetParam()))});
        EXPECT_EQ(server.wait_exit(20s), std::optional<int>(0)) << server.output();
        EXPECT_NE(server.output().find("Ran for 0.600 s, stopping server"), std::string::npos);
    }
    {
        example_process server("coro_timer_server", {"--port", "0"});
        ASSERT_NE(server.port(), 0);
        ::kill(server.pid(), SIGTERM);
        EXPECT_EQ(server.wait_exit(20s), std::optional<int>(0)) << server.output();
        EXPECT_NE(server.output().find("Signal 15 received"), std::string::npos);
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, CoroTimerServer,
                         ::testing::Values(backend_kind::epoll, backend_kind::poll,
                                           backend_kind::select));

TEST(CoroEchoServer, EchoesAndClosesIdleConnectionsOnly) {
    TFD_SKIP_WITHOUT_EXAMPLE("coro_echo_server");
    example_process server("coro_echo_server", {"--port", "0", "--idle", "0.5"});
    ASSERT_NE(server.port(), 0) << server.output();
    unique_fd idle = connect_to(server.port());
    unique_fd busy = connect_to(server.port());
    auto start = clock_type::now();
    // The busy client talks every 0.2 s for 1.2 s: it outlives the idle one.
    for (int i = 0; i < 6; ++i) {
        send_all(busy, "ping " + std::to_string(i) + "\n");
        EXPECT_EQ(read_lines(busy, 1), "ping " + std::to_string(i) + "\n");
        std::this_thread::sleep_for(200ms);
    }
    bool closed = false;
    std::string told = read_lines(idle, 1, 10s, &closed);
    EXPECT_EQ(told, "idle timeout\n");
    if (!closed) {
        (void)read_lines(idle, 1, 10s, &closed);
    }
    EXPECT_TRUE(closed);
    EXPECT_GE(clock_type::now() - start, 500ms);  // never early
    send_all(busy, "still here\n");
    EXPECT_EQ(read_lines(busy, 1), "still here\n");
    std::string out = server.output();
    EXPECT_NE(out.find("idle for 0.500 s: closing"), std::string::npos) << out;
    // Then the busy one goes quiet and is closed too.
    closed = false;
    EXPECT_EQ(read_lines(busy, 1, 10s, &closed), "idle timeout\n");
}

TEST(CoroEchoServer, ADurationEndsTheServerWithClientsConnected) {
    TFD_SKIP_WITHOUT_EXAMPLE("coro_echo_server");
    example_process server("coro_echo_server",
                           {"--port", "0", "--idle", "60", "--duration", "0.5"});
    ASSERT_NE(server.port(), 0) << server.output();
    unique_fd client = connect_to(server.port());
    send_all(client, "hi\n");
    EXPECT_EQ(read_lines(client, 1), "hi\n");
    EXPECT_EQ(server.wait_exit(20s), std::optional<int>(0)) << server.output();
    bool closed = false;
    (void)read_lines(client, 1, 5s, &closed);
    EXPECT_TRUE(closed);
}

}  // namespace
}  // namespace tfd::test
