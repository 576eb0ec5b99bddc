// Short reads and writes made with the seam: the loop's recv or send calls are let through
// with their byte count cut (to 1 byte, or to a random 1..N), so the kernel really moves only
// that much, and every third call says EAGAIN besides, so the connection's buffered path
// (output kept, wait for writable, compaction) runs too.  Every reply must arrive byte for
// byte and in order, and every line must be framed as sent.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <ostream>
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

struct short_io_case {
    const char* name;
    sys::call which;
    long max_bytes;
    bool random_bytes;
    int lines;    // per client
    int padding;  // bytes added to every reply
};

// By name: GoogleTest's default byte dump would read the struct's padding.
void PrintTo(const short_io_case& c, std::ostream* os) {
    *os << c.name;
}

class fault_short_io : public ::testing::TestWithParam<short_io_case> {};

std::string line_text(int client_index, int line) {
    std::string text = "c";
    text += std::to_string(client_index);
    text += " l";
    text += std::to_string(line);
    return text;
}

TEST_P(fault_short_io, every_byte_arrives_in_order) {
    const short_io_case& p = GetParam();
    event_loop loop;
    tcp_connection::limits limits;
    limits.max_output = 16 << 20;
    echo_server server(loop, limits);
    server.padding = std::string(static_cast<std::size_t>(p.padding), 'p');
    fault_plan faults(
        {{p.which, -1, EAGAIN, 3}, {p.which, -1, 0, 1, 1 << 30, p.max_bytes, p.random_bytes}});
    constexpr int clients = 4;
    std::vector<std::string> want(clients);
    std::vector<std::string> got(clients);
    std::size_t total = 0;
    for (int k = 0; k < clients; ++k) {
        for (int i = 0; i < p.lines; ++i) {
            want[k] += "echo " + line_text(k, i) + server.padding + "\n";
        }
        total += want[k].size();
    }
    std::jthread driver([&] {
        std::vector<client> c(clients);
        for (int k = 0; k < clients; ++k) {
            if (c[k].connect(server.port())) {
                std::string batch;
                for (int i = 0; i < p.lines; ++i) {
                    batch += line_text(k, i);
                    batch += i % 2 == 0 ? "\n" : "\r\n";
                }
                c[k].send(batch);
            }
        }
        for (int k = 0; k < clients; ++k) {
            got[k] = c[k].receive(want[k].size(), 30s);
        }
        loop.post([&] { loop.stop(); });
    });
    loop.run_for(60s);
    driver.join();

    for (int k = 0; k < clients; ++k) {
        EXPECT_EQ(got[k].size(), want[k].size()) << "client " << k;
        EXPECT_TRUE(got[k] == want[k]) << "client " << k << ": replies altered or reordered";
    }
    EXPECT_EQ(server.lines, static_cast<std::uint64_t>(clients * p.lines));
    EXPECT_GT(faults.fired(0), 0) << "no EAGAIN injected";
    if (p.which == sys::call::send && !p.random_bytes && p.max_bytes == 1) {
        // One byte per send: at least one cut call per byte of the replies.
        EXPECT_GE(faults.fired(1), static_cast<long>(total));
    } else {
        EXPECT_GT(faults.fired(1), clients) << "hardly any call was cut short";
    }
}

INSTANTIATE_TEST_SUITE_P(
    cuts, fault_short_io,
    ::testing::Values(short_io_case{"send_1_byte", sys::call::send, 1, false, 40, 200},
                      short_io_case{"send_random", sys::call::send, 1000, true, 200, 1000},
                      short_io_case{"recv_1_byte", sys::call::recv, 1, false, 100, 0},
                      short_io_case{"recv_random", sys::call::recv, 13, true, 300, 0}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tfd::test
