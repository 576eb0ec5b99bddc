#include "tfd/tcp_connection.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tfd {
namespace {

using namespace std::chrono_literals;

struct harness {
    event_loop loop;
    unique_fd peer;
    std::unique_ptr<tcp_connection> connection;
    std::vector<std::string> lines;
    std::vector<std::string> overlong;
    std::vector<close_reason> closes;

    explicit harness(tcp_connection::limits limits = {}) {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        peer.reset(fds[1]);
        connection = std::make_unique<tcp_connection>(
            loop, unique_fd(fds[0]),
            tcp_connection::callbacks{
                [this](std::string_view line) { lines.emplace_back(line); },
                [this](std::string_view prefix) { overlong.emplace_back(prefix); },
                [this](close_reason reason) { closes.push_back(reason); }},
            limits);
    }
    void write(std::string_view data) {
        ASSERT_EQ(::write(peer.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
    }
    std::string read_peer() {
        std::string text;
        char buffer[65536];
        ssize_t n;
        while ((n = ::read(peer.get(), buffer, sizeof buffer)) > 0) {
            text.append(buffer, static_cast<std::size_t>(n));
        }
        return text;
    }
};

TEST(TcpConnection, SplitsLinesAcrossAndWithinReads) {
    harness h;
    h.write("one\ntw");
    h.loop.run_once();
    h.write("o\r\nthree\n\n");
    h.loop.run_once();
    EXPECT_EQ(h.lines, (std::vector<std::string>{"one", "two", "three", ""}));
}

TEST(TcpConnection, OverlongLineIsReportedOnceAndSkipped) {
    harness h({.max_line = 8});
    h.write("12345678\n123456789\nok\n");
    h.loop.run_once();
    EXPECT_EQ(h.lines, (std::vector<std::string>{"12345678", "ok"}));
    EXPECT_EQ(h.overlong, std::vector<std::string>{"12345678"});
    h.write(std::string(100, 'x'));  // no terminator yet
    h.loop.run_once();
    h.write(std::string(100, 'y') + "\nafter\n");
    h.loop.run_once();
    EXPECT_EQ(h.overlong.size(), 2u);
    EXPECT_EQ(h.lines.back(), "after");
}

TEST(TcpConnection, SendWritesAndBuffersUpToTheLimit) {
    harness h({.max_line = 1024, .max_output = 1 << 20});
    EXPECT_TRUE(h.connection->send("hello\n"));
    EXPECT_EQ(h.read_peer(), "hello\n");
    // Fill the socket buffer, then keep going: the rest waits in the output buffer.
    std::string block(64 * 1024, 'z');
    std::size_t sent = 0;
    while (h.connection->buffered_output() == 0 && sent < (8u << 20)) {
        ASSERT_TRUE(h.connection->send(block));
        sent += block.size();
    }
    EXPECT_GT(h.connection->buffered_output(), 0u);
    std::size_t received = 0;
    while (received < sent) {
        received += h.read_peer().size();
        h.loop.run_for(1ms);
    }
    EXPECT_EQ(received, sent);
    EXPECT_EQ(h.connection->buffered_output(), 0u);
}

TEST(TcpConnection, PeerThatNeverReadsIsClosedWhenTheBufferIsFull) {
    harness h({.max_line = 1024, .max_output = 4096});
    std::string block(1024, 'q');
    bool accepted = true;
    for (int i = 0; i < 100000 && accepted; ++i) {
        accepted = h.connection->send(block);
    }
    EXPECT_FALSE(accepted);
    EXPECT_EQ(h.closes, std::vector<close_reason>{close_reason::output_overflow});
    EXPECT_FALSE(h.connection->is_open());
}

TEST(TcpConnection, PeerCloseAndLocalClose) {
    harness h;
    h.write("last\n");
    h.peer.reset();
    h.loop.run_once();
    EXPECT_EQ(h.lines, std::vector<std::string>{"last"});
    EXPECT_EQ(h.closes, std::vector<close_reason>{close_reason::peer_closed});

    harness other;
    other.connection->close();
    other.connection->close();  // once only
    EXPECT_EQ(other.closes, std::vector<close_reason>{close_reason::local});
}

TEST(TcpConnection, CallbackMayDestroyTheConnection) {
    event_loop loop;
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    unique_fd peer(fds[1]);
    std::unique_ptr<tcp_connection> connection;
    int lines = 0;
    connection = std::make_unique<tcp_connection>(
        loop, unique_fd(fds[0]),
        tcp_connection::callbacks{[&](std::string_view) {
                                      ++lines;
                                      connection.reset();  // from inside on_line
                                  },
                                  nullptr, nullptr});
    ASSERT_EQ(::write(peer.get(), "a\nb\nc\n", 6), 6);
    loop.run_once();
    EXPECT_EQ(lines, 1);
    EXPECT_EQ(connection, nullptr);
}

TEST(TcpConnection, ThrowingCallbackLeavesTheConnectionUsable) {
    event_loop loop;
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    unique_fd peer(fds[1]);
    std::vector<std::string> lines;
    tcp_connection connection(loop, unique_fd(fds[0]),
                              tcp_connection::callbacks{[&](std::string_view line) {
                                                            lines.emplace_back(line);
                                                            if (line == "boom") {
                                                                throw std::runtime_error("boom");
                                                            }
                                                        },
                                                        nullptr, nullptr});
    ASSERT_EQ(::write(peer.get(), "boom\n", 5), 5);
    EXPECT_THROW(loop.run_once(), std::runtime_error);
    ASSERT_EQ(::write(peer.get(), "next\n", 5), 5);
    loop.run_once();
    EXPECT_EQ(lines, (std::vector<std::string>{"boom", "next"}));
    EXPECT_TRUE(connection.send("still here\n"));
}

}  // namespace
}  // namespace tfd
