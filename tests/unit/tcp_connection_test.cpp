#include "tfd/tcp_connection.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
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
    int drained = 0;

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
        connection->on_drained([this] { ++drained; });
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

// Fills the kernel's buffer of the connection's socket behind its back (a peer that stopped
// reading); returns the bytes written.
std::size_t fill_kernel_buffer(harness& h) {
    std::string block(4096, 'k');
    std::size_t filled = 0;
    ssize_t n;
    while ((n = ::send(h.connection->native_handle(), block.data(), block.size(),
                       MSG_DONTWAIT | MSG_NOSIGNAL)) > 0) {
        filled += static_cast<std::size_t>(n);
    }
    EXPECT_EQ(errno, EAGAIN);
    return filled;
}

// max_output bounds what waits for a peer that does not read, not the size of one send():
// a send() larger than max_output used to close a healthy connection before any write was
// tried, though the kernel's buffer was empty.
TEST(TcpConnection, SendLargerThanMaxOutputGoesToTheKernelFirst) {
    harness h({.max_line = 1024, .max_output = 1000});
    EXPECT_TRUE(h.connection->send(std::string(2000, 'x')));
    EXPECT_TRUE(h.closes.empty());
    EXPECT_EQ(h.connection->buffered_output(), 0u);
    EXPECT_EQ(h.read_peer(), std::string(2000, 'x'));
    EXPECT_TRUE(h.connection->send("after\n"));
    EXPECT_EQ(h.read_peer(), "after\n");
}

// What the kernel does not take is queued, and only that counts against max_output.
TEST(TcpConnection, OnlyWhatTheKernelDoesNotTakeCountsAgainstMaxOutput) {
    harness h({.max_line = 1024, .max_output = 1000});
    std::size_t filled = fill_kernel_buffer(h);
    EXPECT_TRUE(h.connection->send(std::string(600, 'a')));
    EXPECT_EQ(h.connection->buffered_output(), 600u);
    EXPECT_TRUE(h.connection->send(std::string(400, 'b'))) << "1000 queued: at the limit";
    EXPECT_EQ(h.connection->buffered_output(), 1000u);
    std::string received;
    for (int i = 0; i < 1000 && received.size() < filled + 1000; ++i) {
        received += h.read_peer();
        h.loop.run_for(1ms);
    }
    EXPECT_EQ(received.size(), filled + 1000);
    EXPECT_EQ(received.substr(filled), std::string(600, 'a') + std::string(400, 'b'));
    EXPECT_EQ(h.drained, 1);
    EXPECT_TRUE(h.closes.empty());
}

TEST(TcpConnection, QueuedOutputOverMaxOutputClosesTheConnection) {
    harness h({.max_line = 1024, .max_output = 1000});
    (void)fill_kernel_buffer(h);
    EXPECT_TRUE(h.connection->send(std::string(600, 'a')));
    EXPECT_FALSE(h.connection->send(std::string(401, 'b')));
    EXPECT_EQ(h.closes, std::vector<close_reason>{close_reason::output_overflow});
    EXPECT_FALSE(h.connection->is_open());
}

// A send() that would pass the limit first offers the queue to the kernel again: a peer that
// read meanwhile is not closed for the writable event this pass has not dispatched yet.
TEST(TcpConnection, PeerThatReadMeanwhileIsNotClosedForOverflow) {
    harness h({.max_line = 1024, .max_output = 1000});
    std::size_t filled = fill_kernel_buffer(h);
    EXPECT_TRUE(h.connection->send(std::string(600, 'a')));
    std::string received = h.read_peer();  // the peer reads; the loop has not run
    EXPECT_EQ(received.size(), filled);
    EXPECT_TRUE(h.connection->send(std::string(900, 'b')));
    EXPECT_TRUE(h.closes.empty());
    EXPECT_EQ(h.connection->buffered_output(), 0u);
    EXPECT_EQ(h.read_peer(), std::string(600, 'a') + std::string(900, 'b'));
    h.loop.run_for(5ms);
    EXPECT_EQ(h.drained, 1) << "the output that had to wait is all written";
}

// A send() larger than what the kernel takes and max_output together still closes: the
// peer is not reading.
TEST(TcpConnection, SendTooLargeForKernelAndLimitCloses) {
    harness h({.max_line = 1024, .max_output = 1000});
    EXPECT_FALSE(h.connection->send(std::string(16u << 20, 'x')));
    EXPECT_EQ(h.closes, std::vector<close_reason>{close_reason::output_overflow});
    EXPECT_GT(h.read_peer().size(), 0u) << "the kernel took what it could first";
}

// max_output = 0: nothing is ever queued; whatever the kernel takes whole goes through.
TEST(TcpConnection, ZeroMaxOutputNeverQueues) {
    harness h({.max_line = 1024, .max_output = 0});
    EXPECT_TRUE(h.connection->send("hello\n"));
    EXPECT_EQ(h.read_peer(), "hello\n");
    (void)fill_kernel_buffer(h);
    EXPECT_FALSE(h.connection->send("x"));
    EXPECT_EQ(h.closes, std::vector<close_reason>{close_reason::output_overflow});
}

// A read budget of 0 was accepted, and the loop then spun: the input was never read, and
// level triggering reported it at every pass.  Limits that cannot work are refused up front,
// before the socket is watched; the socket (ownership was passed) is closed.
TEST(TcpConnection, LimitsThatCannotWorkAreRefusedWithTheFieldAndValue) {
    struct refused_case {
        tcp_connection::limits limits;
        const char* message;
    };
    for (const refused_case& c :
         {refused_case{{.max_line = 1024, .max_output = 4096, .read_budget = 0},
                       "tcp_connection: read_budget=0 must be positive"},
          refused_case{{.max_line = 0, .max_output = 4096, .read_budget = 4096},
                       "tcp_connection: max_line=0 must be positive"}}) {
        event_loop loop;
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        unique_fd peer(fds[1]);
        try {
            tcp_connection connection(loop, unique_fd(fds[0]), tcp_connection::callbacks{},
                                      c.limits);
            ADD_FAILURE() << "accepted: " << c.message;
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::errc::invalid_argument);
            EXPECT_EQ(std::string(e.what()).rfind(c.message, 0), 0u) << e.what();
        }
        EXPECT_EQ(loop.active_watchers(), 0u);
        char byte;
        EXPECT_EQ(::read(peer.get(), &byte, 1), 0) << "the refused socket is closed";
    }
}

TEST(TcpConnection, PeerCloseAndLocalClose) {
    harness h;
    h.write("last\n");
    h.peer.reset();
    h.loop.run_once();
    EXPECT_EQ(h.lines, std::vector<std::string>{"last"});
    EXPECT_EQ(h.closes, std::vector<close_reason>{close_reason::peer_closed});

    harness other;
    other.connection->abort();
    other.connection->abort();  // once only
    other.connection->close();  // and nothing after it
    EXPECT_EQ(other.closes, std::vector<close_reason>{close_reason::local});
}

// Fills the socket so that the connection has to buffer; returns the bytes sent.
std::size_t fill_until_buffered(harness& h) {
    std::string block(64 * 1024, 'z');
    std::size_t sent = 0;
    while (h.connection->buffered_output() == 0 && sent < (8u << 20)) {
        EXPECT_TRUE(h.connection->send(block));
        sent += block.size();
    }
    EXPECT_GT(h.connection->buffered_output(), 0u);
    return sent;
}

// Reads what the peer receives, running the loop, until end of file or `limit`; returns the
// byte count, and whether end of file came, in `eof`.
std::size_t drain_peer(harness& h, bool& eof, std::chrono::milliseconds limit = 5000ms) {
    std::size_t received = 0;
    eof = false;
    auto give_up = std::chrono::steady_clock::now() + limit;
    char buffer[65536];
    while (!eof && std::chrono::steady_clock::now() < give_up) {
        ssize_t n;
        while ((n = ::read(h.peer.get(), buffer, sizeof buffer)) > 0) {
            received += static_cast<std::size_t>(n);
        }
        eof = n == 0;
        h.loop.run_for(1ms);
    }
    return received;
}

// close() used to drop the queued output: now it is delivered, then end of file.
TEST(TcpConnection, CloseDeliversQueuedOutputThenEndOfFile) {
    harness h({.max_line = 1024, .max_output = 1 << 20});
    std::size_t sent = fill_until_buffered(h);
    h.connection->close();
    EXPECT_TRUE(h.connection->is_closing());
    EXPECT_FALSE(h.connection->send("late\n")) << "send() after close() must be refused";
    EXPECT_TRUE(h.closes.empty()) << "closed before the output was delivered";
    bool eof = false;
    EXPECT_EQ(drain_peer(h, eof), sent);
    EXPECT_TRUE(eof) << "the peer must see end of file after the last byte";
    EXPECT_TRUE(h.closes.empty()) << "the socket closes only once the peer closed its side";
    ASSERT_EQ(::shutdown(h.peer.get(), SHUT_WR), 0);
    h.loop.run_for(50ms);
    EXPECT_EQ(h.closes, std::vector<close_reason>{close_reason::local});
    EXPECT_FALSE(h.connection->is_open());
}

TEST(TcpConnection, AbortDropsQueuedOutput) {
    harness h({.max_line = 1024, .max_output = 1 << 20});
    std::size_t sent = fill_until_buffered(h);
    h.connection->abort();
    EXPECT_EQ(h.closes, std::vector<close_reason>{close_reason::local});
    bool eof = false;
    EXPECT_LT(drain_peer(h, eof), sent);
    EXPECT_TRUE(eof);
}

TEST(TcpConnection, CloseFromALineCallbackRepliesAndDeliversNoMoreLines) {
    event_loop loop;
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    unique_fd peer(fds[1]);
    std::vector<std::string> lines;
    std::vector<close_reason> closes;
    tcp_connection* self = nullptr;
    tcp_connection connection(
        loop, unique_fd(fds[0]),
        tcp_connection::callbacks{[&](std::string_view line) {
                                      lines.emplace_back(line);
                                      EXPECT_TRUE(self->send("bye\n"));
                                      self->close();
                                  },
                                  nullptr, [&](close_reason r) { closes.push_back(r); }});
    self = &connection;
    ASSERT_EQ(::write(peer.get(), "quit\nmore\n", 10), 10);
    loop.run_once();
    EXPECT_EQ(lines, std::vector<std::string>{"quit"});
    char reply[16] = {};
    EXPECT_EQ(::read(peer.get(), reply, sizeof reply), 4);
    EXPECT_STREQ(reply, "bye\n");
    EXPECT_EQ(::read(peer.get(), reply, sizeof reply), 0) << "end of file after the reply";
    ASSERT_EQ(::write(peer.get(), "ignored\n", 8), 8);  // read and discarded while closing
    ASSERT_EQ(::shutdown(peer.get(), SHUT_WR), 0);
    loop.run_for(50ms);
    EXPECT_EQ(lines.size(), 1u);
    EXPECT_EQ(closes, std::vector<close_reason>{close_reason::local});
}

TEST(TcpConnection, CloseGivesUpAfterItsTimeout) {
    harness h;
    h.connection->close(50ms);  // the peer never closes its side
    auto start = std::chrono::steady_clock::now();
    while (h.closes.empty() && std::chrono::steady_clock::now() - start < 5s) {
        h.loop.run_for(10ms);
    }
    EXPECT_EQ(h.closes, std::vector<close_reason>{close_reason::local});
    EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST(TcpConnection, PeerShuttingItsSideFirstStillGetsTheOutput) {
    harness h({.max_line = 1024, .max_output = 1 << 20});
    std::size_t sent = fill_until_buffered(h);
    ASSERT_EQ(::shutdown(h.peer.get(), SHUT_WR), 0);
    h.connection->close();
    bool eof = false;
    EXPECT_EQ(drain_peer(h, eof), sent);
    EXPECT_TRUE(eof);
    h.loop.run_for(10ms);
    EXPECT_EQ(h.closes, std::vector<close_reason>{close_reason::local});
}

TEST(TcpConnection, OnDrainedRunsWhenBufferedOutputIsAllWritten) {
    harness h({.max_line = 1024, .max_output = 1 << 20});
    EXPECT_TRUE(h.connection->send("at once\n"));
    h.loop.run_for(10ms);
    EXPECT_EQ(h.drained, 0) << "output written at once never waited";
    std::size_t sent = fill_until_buffered(h);
    h.loop.run_for(10ms);
    EXPECT_EQ(h.drained, 0) << "the peer has not read yet";
    std::size_t received = h.read_peer().size();
    while (h.connection->buffered_output() > 0 && received < sent + 8) {
        h.loop.run_for(1ms);
        received += h.read_peer().size();
    }
    h.loop.run_for(10ms);
    EXPECT_EQ(h.connection->buffered_output(), 0u);
    EXPECT_EQ(h.drained, 1);
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
