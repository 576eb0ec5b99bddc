// Connections under EAGAIN storms and real short writes: every line is answered, in order,
// byte for byte, and a peer that does not read costs the loop no CPU while it waits.
//
// Short writes are produced for real (a client with a 4 KiB receive buffer that stops
// reading while the server sends it 13 MB), not injected: the seam answers a call instead
// of making it, so an injected "short write" would drop bytes the kernel never saw.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fault_support.hpp"
#include "support/fault_injection.hpp"
#include "tfd/event_loop.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

std::string expected_replies(int client_index, int lines, const std::string& padding) {
    std::string all;
    for (int i = 0; i < lines; ++i) {
        all += "echo c" + std::to_string(client_index) + " l" + std::to_string(i) + padding + "\n";
    }
    return all;
}

class fault_eagain : public ::testing::TestWithParam<std::tuple<backend_kind, sys::call>> {};

// One call in two of recv or send says EAGAIN while 10 clients pipeline 100 lines each.
TEST_P(fault_eagain, storm_loses_and_reorders_nothing) {
    event_loop loop(std::get<0>(GetParam()));
    echo_server server(loop);
    fault_plan faults({{std::get<1>(GetParam()), -1, EAGAIN, 2}});
    constexpr int clients = 10;
    constexpr int lines = 100;
    std::atomic<int> good{0};
    std::jthread driver([&] {
        std::vector<client> c(clients);
        for (int k = 0; k < clients; ++k) {
            std::string batch;
            for (int i = 0; i < lines; ++i) {
                // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false
                // positive) about the temporary strings of a chained operator+.
                batch += 'c';
                batch += std::to_string(k);
                batch += " l";
                batch += std::to_string(i);
                batch += '\n';
            }
            if (c[k].connect(server.port())) {
                c[k].send(batch);
            }
        }
        for (int k = 0; k < clients; ++k) {
            std::string want = expected_replies(k, lines, "");
            good += c[k].receive(want.size(), 10s) == want ? 1 : 0;
        }
        loop.post([&] { loop.stop(); });
    });
    loop.run_for(60s);
    driver.join();
    EXPECT_EQ(good, clients) << "clients whose replies were all there, in order";
    EXPECT_EQ(server.lines, static_cast<std::uint64_t>(clients * lines));
    EXPECT_GT(faults.fired(0), 0);
}

INSTANTIATE_TEST_SUITE_P(calls, fault_eagain,
                         ::testing::Combine(::testing::Values(backend_kind::epoll,
                                                              backend_kind::poll,
                                                              backend_kind::select),
                                            ::testing::Values(sys::call::recv, sys::call::send)),
                         [](const auto& info) {
                             return std::string(to_string(std::get<0>(info.param))) +
                                    (std::get<1>(info.param) == sys::call::recv ? "_recv"
                                                                                : "_send");
                         });

struct cpu_mark {
    nanoseconds at{};
};

// The server sends 200 replies of 64 KiB to a client with a 4 KiB receive buffer that reads
// nothing for 300 ms: its writes come up short, the rest waits in the output buffer, and the
// loop sleeps until the socket drains instead of retrying.
TEST(fault_short_writes, slow_reader_gets_every_byte_and_costs_no_cpu) {
    event_loop loop;
    tcp_connection::limits limits;
    limits.max_output = 32 << 20;
    echo_server server(loop, limits);
    server.padding = std::string(64 * 1024, 'p');
    fault_plan sends({{sys::call::send, -1, 0, 1, 0}});  // counts send calls, answers none
    constexpr int lines = 200;
    std::string want = expected_replies(0, lines, server.padding);
    std::string got;
    std::atomic<bool> reading{false};
    std::jthread driver([&] {
        client c;
        int small = 4096;
        ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        if (c.connect(server.port())) {
            std::string batch;
            for (int i = 0; i < lines; ++i) {
                batch += "c0 l" + std::to_string(i) + "\n";
            }
            c.send(batch);
            std::this_thread::sleep_for(300ms);
            reading = true;
            got = c.receive(want.size(), 20s);
        }
        loop.post([&] { loop.stop(); });
    });
    cpu_mark idle_start;
    nanoseconds idle_cpu{-1};
    nanoseconds start = loop.now();
    // Sample the loop thread's CPU time from 100 ms (replies queued, client not reading) to
    // 300 ms; the loop's own timers are its only wake-ups meanwhile.
    timer_watcher mark = loop.at(clock_id::monotonic, start + 100ms,
                                 [p = &idle_start](std::uint64_t) { p->at = thread_cpu_time(); });
    std::size_t buffered = 0;
    struct sample {
        cpu_mark* from;
        nanoseconds* out;
        std::atomic<bool>* reading;
        echo_server* server;
        std::size_t* buffered;
    } s{&idle_start, &idle_cpu, &reading, &server, &buffered};
    timer_watcher measure = loop.at(clock_id::monotonic, start + 280ms, [p = &s](std::uint64_t) {
        if (!p->reading->load()) {
            *p->out = thread_cpu_time() - p->from->at;
        }
        *p->buffered = p->server->buffered_output();
    });
    loop.run_for(60s);
    driver.join();

    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "the replies arrived altered";
    EXPECT_EQ(server.lines, static_cast<std::uint64_t>(lines));
    EXPECT_GT(buffered, 0u) << "no write came up short: the test tested nothing";
    EXPECT_GT(sends.calls(0), 0);
    if (idle_cpu >= nanoseconds(0)) {
        EXPECT_LT(idle_cpu, 60ms) << "loop CPU over 180 ms of a stalled reader (a spinning loop uses all of it)";
    }
}

}  // namespace
}  // namespace tfd::test
