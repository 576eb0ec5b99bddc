// Connections under real short writes: every reply arrives byte for byte, in order, and a
// peer that does not read costs the loop no CPU while it waits.
//
// Here the short writes come from the kernel (a client with a 4 KiB receive buffer that
// stops reading while the server sends it 13 MB); fault_short_io_test.cpp makes them with
// the seam, which can cut a send's byte count and let it through.  EAGAIN storms are in
// fault_eagain_test.cpp.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

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
    timer_watcher mark = loop.at(
        start + 100ms, [p = &idle_start](std::uint64_t) { p->at = thread_cpu_time(); },
        clock_id::monotonic);
    std::size_t buffered = 0;
    struct sample {
        cpu_mark* from;
        nanoseconds* out;
        std::atomic<bool>* reading;
        echo_server* server;
        std::size_t* buffered;
    } s{&idle_start, &idle_cpu, &reading, &server, &buffered};
    timer_watcher measure = loop.at(
        start + 280ms,
        [p = &s](std::uint64_t) {
            if (!p->reading->load()) {
                *p->out = thread_cpu_time() - p->from->at;
            }
            *p->buffered = p->server->buffered_output();
        },
        clock_id::monotonic);
    loop.run_for(60s);
    driver.join();

    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "the replies arrived altered";
    EXPECT_EQ(server.lines, static_cast<std::uint64_t>(lines));
    EXPECT_GT(buffered, 0u) << "no write came up short: the test tested nothing";
    EXPECT_GT(sends.calls(0), 0);
    if (idle_cpu >= nanoseconds(0)) {
        EXPECT_LT(idle_cpu, 60ms)
            << "loop CPU over 180 ms of a stalled reader (a spinning loop uses all of it)";
    }
}

}  // namespace
}  // namespace tfd::test
