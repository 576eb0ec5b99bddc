// Connections under EAGAIN storms: every line is answered, in order, and the loop does not
// spin.  Spinning is judged by counting calls through the seam, not by CPU time (a CPU
// ratio over a short window is at the mercy of a busy machine): a loop that spins makes
// wake-ups that lead to no system call on a socket, and keeps waking when there is nothing
// to do.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "fault_support.hpp"
#include "support/fault_injection.hpp"
#include "tfd/event_loop.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;

std::string expected_replies(int client_index, int lines) {
    std::string all;
    for (int i = 0; i < lines; ++i) {
        all += "echo c" + std::to_string(client_index) + " l" + std::to_string(i) + "\n";
    }
    return all;
}

std::string batch_of(int client_index, int lines) {
    std::string batch;
    for (int i = 0; i < lines; ++i) {
        // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive)
        // about the temporary strings of a chained operator+.
        batch += 'c';
        batch += std::to_string(client_index);
        batch += " l";
        batch += std::to_string(i);
        batch += '\n';
    }
    return batch;
}

class fault_eagain : public ::testing::TestWithParam<std::tuple<backend_kind, sys::call>> {};

// One call in two of recv or send says EAGAIN while 10 clients pipeline 100 lines each, and
// the calls let through are cut to 1-64 bytes, so that the storm lasts: some 250-400 EAGAINs
// per run rather than the ~16 that whole batches in one recv each would meet.
//
// Not spinning, in calls: every wake-up of a working loop is for a socket that is readable
// (it calls recv or accept) or writable with output pending (it calls send), or for the
// final post; so the waits may not outnumber the recv, send and accept calls by more than a
// few.  (An injected EAGAIN from recv with data still pending makes a level-triggered
// backend report the socket again at once: one more wait and one more recv, which this
// bound allows.)  A loop that kept waking for nothing, say on writable with an empty output
// buffer, would break it, and would keep waking in the idle stretch afterwards too, when
// every reply has arrived and the clients are still connected: there, at most a couple of
// waits may start in 300 ms.
TEST_P(fault_eagain, storm_loses_and_reorders_nothing_and_does_not_spin) {
    backend_kind kind = std::get<0>(GetParam());
    sys::call faulted = std::get<1>(GetParam());
    sys::call other = faulted == sys::call::recv ? sys::call::send : sys::call::recv;
    event_loop loop(kind);
    echo_server server(loop);
    fault_plan faults({{faulted, -1, EAGAIN, 2},
                       {faulted, -1, 0, 1, 1 << 30, 64, true},
                       {other, -1, 0, 1, 0},  // the rest only count
                       {sys::call::accept, -1, 0, 1, 0},
                       {wait_call_of(kind), -1, 0, 1, 0}});
    constexpr int clients = 10;
    constexpr int lines = 100;
    std::atomic<int> good{0};
    std::atomic<long> idle_waits{-1};
    std::jthread driver([&] {
        std::vector<client> c(clients);
        for (int k = 0; k < clients; ++k) {
            if (c[k].connect(server.port())) {
                c[k].send(batch_of(k, lines));
            }
        }
        for (int k = 0; k < clients; ++k) {
            std::string want = expected_replies(k, lines);
            good += c[k].receive(want.size(), 10s) == want ? 1 : 0;
        }
        long before = faults.calls(4);
        std::this_thread::sleep_for(300ms);
        idle_waits = faults.calls(4) - before;
        loop.post([&] { loop.stop(); });
    });
    loop.run_for(60s);
    driver.join();
    long socket_calls = faults.calls(0) + faults.calls(2) + faults.calls(3);
    long waits = faults.calls(4);
    EXPECT_EQ(good, clients) << "clients whose replies were all there, in order";
    EXPECT_EQ(server.lines, static_cast<std::uint64_t>(clients * lines));
    EXPECT_GT(faults.fired(0), 100) << "hardly a storm";
    EXPECT_LE(waits, socket_calls + 5)
        << "waits (" << waits << ") outnumber the recv, send and accept calls (" << socket_calls
        << "): the loop woke for nothing";
    EXPECT_GE(idle_waits, 0);
    EXPECT_LE(idle_waits, 2) << "waits started while idle for 300 ms after the storm";
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

}  // namespace
}  // namespace tfd::test
