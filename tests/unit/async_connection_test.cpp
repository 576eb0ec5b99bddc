#include "tfd/async_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "tfd/task.hpp"
#include "tfd/with_timeout.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

struct harness {
    event_loop loop;
    unique_fd peer;
    unique_fd ours;
    explicit harness(loop_options options = {}) : loop(backend_kind::epoll, options) {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        ours.reset(fds[0]);
        peer.reset(fds[1]);
    }
    void send(std::string_view data) {
        ASSERT_EQ(::write(peer.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
    }
    std::string receive() {
        char buffer[4096];
        ssize_t n = ::read(peer.get(), buffer, sizeof buffer);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    }
};

task<> echo(event_loop& loop, unique_fd socket, std::vector<std::string>& log) {
    async_connection client(loop, std::move(socket),
                            async_connection::limits{{.max_line = 8}, 64 * 1024});
    while (std::optional<received_line> line = co_await client.read_line()) {
        if (line->overlong) {
            log.push_back("overlong:" + line->text);
            EXPECT_TRUE(co_await client.write("ERR\n"));
            continue;
        }
        log.push_back(line->text);
        EXPECT_TRUE(co_await client.write(line->text + "\n"));
    }
    log.push_back(std::string("closed:") + to_string(*client.reason()));
}

TEST(CoroAsyncConnection, EchoesLinesAndReportsTheClose) {
    harness h;
    std::vector<std::string> log;
    h.loop.spawn(echo(h.loop, std::move(h.ours), log));
    h.send("one\r\ntwo\nthree-is-too-long\nfour");
    h.loop.run_for(10ms);
    h.send("\n");
    h.loop.run_for(10ms);
    EXPECT_EQ(h.receive(), "one\ntwo\nERR\nfour\n");
    h.peer.reset();
    h.loop.run_for(10ms);
    EXPECT_EQ(log, (std::vector<std::string>{"one", "two", "overlong:three-is", "four",
                                             "closed:peer closed"}));
    EXPECT_EQ(h.loop.spawned(), 0u);
    EXPECT_EQ(h.loop.active_watchers(), 0u);
}

TEST(CoroAsyncConnection, IdleTimeoutCancelsTheReadAndCloses) {
    harness h(loop_options{.virtual_time = true});
    std::chrono::nanoseconds start = h.loop.now();
    std::chrono::nanoseconds closed_at{};
    h.loop.spawn([](event_loop& l, unique_fd s, std::chrono::nanoseconds& at) -> task<> {
        async_connection client(l, std::move(s));
        while (std::optional<std::optional<received_line>> line =
                   co_await with_timeout(l, client.read_line(), 30s)) {
            if (!*line) {
                co_return;
            }
        }
        at = l.now();
        EXPECT_EQ(co_await client.close(), close_reason::local);
    }(h.loop, std::move(h.ours), closed_at));
    h.send("hello\n");
    h.loop.run();  // the close waits for the peer's end of file, and gives up after 10 s
    EXPECT_EQ(closed_at - start, 30s);
    EXPECT_EQ(h.receive(), "");  // end of file: the server closed
}

TEST(CoroAsyncConnection, APeerThatOutrunsTheReaderIsDisconnected) {
    harness h;
    async_connection client(h.loop, std::move(h.ours), async_connection::limits{{}, 16});
    h.send("0123456789\n0123456789\n");
    h.loop.run_for(10ms);
    EXPECT_FALSE(client.is_open());
    EXPECT_TRUE(client.input_overflow());
    EXPECT_EQ(client.reason(), close_reason::error);
}

// What a stop request on the loop's thread makes of the wait that `start` begins on
// `client`: the message of the operation_cancelled it throws (empty if none).  The coroutine
// never resumes inside request_stop(): the stop is delivered by the loop's posted work.
template <class Start>
std::string stop_outcome(async_connection& client, Start start) {
    std::stop_source source;
    std::string outcome;
    client.loop().spawn(
        [](async_connection& c, Start begin, std::stop_token t, std::string& out) -> task<> {
            try {
                (void)co_await begin(c, t);
            } catch (const operation_cancelled& e) {
                out = e.what();
            }
        }(client, start, source.get_token(), outcome));
    source.request_stop();
    EXPECT_EQ(outcome, "") << "resumed inside request_stop()";
    client.loop().run_until_idle();
    return outcome;
}

TEST(CoroAsyncConnection, StopEndsAWaitingRead) {
    harness h;
    async_connection client(h.loop, std::move(h.ours));
    auto read = [](async_connection& c, std::stop_token t) { return c.read_line(std::move(t)); };
    EXPECT_EQ(stop_outcome(client, read), "async_connection::read_line: Operation canceled");
    EXPECT_TRUE(client.is_open());
}

TEST(CoroAsyncConnection, WriteAfterCloseOrAbortReturnsFalse) {
    harness h;
    async_connection client(h.loop, std::move(h.ours));
    (void)client.close();
    EXPECT_TRUE(client.is_closing());
    EXPECT_TRUE(client.is_open());  // until the peer closes its side too
    EXPECT_FALSE(client.write("x").await_resume());
    client.abort();
    EXPECT_FALSE(client.is_open());
    EXPECT_FALSE(client.write("x").await_resume());
    EXPECT_EQ(client.reason(), close_reason::local);
}

// Reads what the peer has without waiting; sets *eof once the other side is closed.
std::string drain(const unique_fd& fd, bool* eof) {
    std::string text;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(fd.get(), buffer, sizeof buffer)) > 0) {
        text.append(buffer, static_cast<std::size_t>(n));
    }
    *eof = *eof || n == 0;
    return text;
}

// More than a socket buffer holds, so most of it waits in the connection's output buffer.
const std::string large_output(1 << 20, 'x');
constexpr async_connection::limits large_limits{{.max_output = 4 << 20}, 64 * 1024};

TEST(CoroAsyncConnection, CloseDeliversTheQueuedOutputBeforeEndOfFile) {
    harness h;
    async_connection client(h.loop, std::move(h.ours), large_limits);
    std::optional<close_reason> closed;
    h.loop.spawn([](async_connection& c, std::optional<close_reason>& out) -> task<> {
        EXPECT_TRUE(co_await c.write(large_output));
        out = co_await c.close();
    }(client, closed));
    bool eof = false;
    std::string received = drain(h.peer, &eof);
    ASSERT_LT(received.size(), large_output.size()) << "the output should have been queued";
    EXPECT_FALSE(eof);
    for (auto end = std::chrono::steady_clock::now() + 10s;
         !eof && std::chrono::steady_clock::now() < end;) {
        h.loop.run_for(1ms);
        received += drain(h.peer, &eof);
    }
    EXPECT_TRUE(eof);
    EXPECT_EQ(received.size(), large_output.size());  // every byte came before end of file
    EXPECT_EQ(received, large_output);
    EXPECT_FALSE(closed) << "close() waits for the peer to close its side";
    EXPECT_TRUE(client.is_closing());
    h.peer.reset();
    for (auto end = std::chrono::steady_clock::now() + 10s;
         !closed && std::chrono::steady_clock::now() < end;) {
        h.loop.run_for(1ms);
    }
    EXPECT_EQ(closed, close_reason::local);
    EXPECT_EQ(client.reason(), close_reason::local);
    EXPECT_EQ(h.loop.spawned(), 0u);
}

TEST(CoroAsyncConnection, AbortDropsTheQueuedOutputWithoutWaiting) {
    harness h;
    async_connection client(h.loop, std::move(h.ours), large_limits);
    EXPECT_TRUE(client.write(large_output).await_resume());
    client.abort();  // the loop never runs: nothing is waited for
    EXPECT_FALSE(client.is_open());
    EXPECT_EQ(client.reason(), close_reason::local);
    bool eof = false;
    std::string received = drain(h.peer, &eof);
    EXPECT_TRUE(eof);
    EXPECT_LT(received.size(), large_output.size());
}

TEST(CoroAsyncConnection, AbortEndsAWaitingClose) {
    harness h;
    async_connection client(h.loop, std::move(h.ours));
    std::optional<close_reason> closed;
    h.loop.spawn([](async_connection& c, std::optional<close_reason>& out) -> task<> {
        out = co_await c.close();
    }(client, closed));
    h.loop.run_for(10ms);
    EXPECT_FALSE(closed);  // the peer has not closed its side
    client.abort();
    EXPECT_EQ(closed, close_reason::local);  // resumed inside abort()
}

TEST(CoroAsyncConnection, CloseEndsAWaitingReadAfterTheQueuedLines) {
    harness h;
    async_connection client(h.loop, std::move(h.ours));
    std::vector<std::string> log;
    h.loop.spawn([](async_connection& c, std::vector<std::string>& out) -> task<> {
        while (std::optional<received_line> line = co_await c.read_line()) {
            out.push_back(line->text);
            if (line->text == "first") {
                co_await sleep_for(c.loop(), 0s);  // the second line queues meanwhile
            }
        }
        out.push_back("end");
    }(client, log));
    h.send("first\nsecond\n");
    h.loop.run_for(10ms);
    EXPECT_EQ(log, (std::vector<std::string>{"first", "second"}));
    (void)client.close();  // the reader waits: it resumes inside
    EXPECT_EQ(log, (std::vector<std::string>{"first", "second", "end"}));
    h.send("late\n");
    h.loop.run_for(10ms);
    EXPECT_EQ(log.size(), 3u) << "no input is delivered once closing";
}

TEST(CoroAsyncConnection, StopEndsAWaitingClose) {
    harness h;
    async_connection client(h.loop, std::move(h.ours));
    auto close = [](async_connection& c, std::stop_token t) { return c.close(1s, std::move(t)); };
    EXPECT_EQ(stop_outcome(client, close), "async_connection::close: Operation canceled");
    EXPECT_TRUE(client.is_closing());  // the close goes on without the waiter
}

// A connected TCP pair on the loopback interface whose client end has been reset (closed
// with SO_LINGER 0) before the loop looked at the server end.
struct reset_tcp_pair {
    unique_fd server;
    reset_tcp_pair() {
        unique_fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        auto* raw = reinterpret_cast<sockaddr*>(&address);
        EXPECT_EQ(::bind(listener.get(), raw, sizeof address), 0);
        EXPECT_EQ(::getsockname(listener.get(), raw, &length), 0);
        EXPECT_EQ(::listen(listener.get(), 1), 0);
        unique_fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        EXPECT_EQ(::connect(client.get(), raw, sizeof address), 0);
        server.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        EXPECT_TRUE(server);
        linger reset{1, 0};
        EXPECT_EQ(::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
        client.reset();  // sends RST: the server end is reset, the loop has not seen it yet
        std::this_thread::sleep_for(10ms);
    }
};

// The graceful shutdown of a session whose peer has already reset the connection: close()
// fails its shutdown(SHUT_WR) inside the call, and the reader it wakes returns, destroying
// the async_connection it owns.  close() must not touch the destroyed object afterwards
// (ASan saw a use-after-free here), and the reader resumes once, with std::nullopt.
TEST(CoroAsyncConnection, CloseOfAResetConnectionMayDestroyItThroughTheReaderItWakes) {
    event_loop loop;
    reset_tcp_pair pair;
    async_connection* alive = nullptr;
    std::vector<std::string> log;
    loop.spawn([](event_loop& l, unique_fd socket, async_connection*& out,
                  std::vector<std::string>& events) -> task<> {
        async_connection connection(l, std::move(socket));
        out = &connection;
        while (std::optional<received_line> line = co_await connection.read_line()) {
            events.push_back("line:" + line->text);
        }
        events.push_back(std::string("end:") + to_string(connection.reason().value()));
        out = nullptr;
    }(loop, std::move(pair.server), alive, log));
    ASSERT_NE(alive, nullptr);
    (void)alive->close();  // the reader resumes inside and destroys the connection
    EXPECT_EQ(alive, nullptr);
    EXPECT_EQ(log, (std::vector<std::string>{"end:error"}));
    EXPECT_EQ(loop.spawned(), 0u);
    loop.run_for(10ms);
    EXPECT_EQ(log.size(), 1u);
    EXPECT_EQ(loop.active_watchers(), 0u);
}

// What the async_connection's constructor says of a descriptor that cannot carry a
// connection: the error names async_connection and the descriptor, not a later close with
// its errno lost, nor the loop's watch() that the user never called.
std::string construction_error(event_loop& loop, unique_fd fd, int& code) {
    try {
        async_connection connection(loop, std::move(fd));
    } catch (const std::system_error& e) {
        code = e.code().value();
        return e.what();
    }
    code = 0;
    return "";
}

TEST(CoroAsyncConnectionArguments, AnEmptyDescriptorIsRefusedNamingAsyncConnection) {
    event_loop loop;
    int code = 0;
    EXPECT_EQ(construction_error(loop, unique_fd(), code),
              "async_connection: fd=-1 is not a descriptor: Bad file descriptor");
    EXPECT_EQ(code, EBADF);
}

TEST(CoroAsyncConnectionArguments, ANonSocketIsRefusedWithENOTSOCK) {
    event_loop loop;
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    unique_fd write_end(fds[1]);
    const int read_end = fds[0];
    int code = 0;
    EXPECT_EQ(construction_error(loop, unique_fd(read_end), code),
              "async_connection: fd=" + std::to_string(read_end) +
                  " is not a socket (a connected stream socket is needed): Socket operation on "
                  "non-socket");
    EXPECT_EQ(code, ENOTSOCK);
    EXPECT_EQ(::fcntl(read_end, F_GETFD), -1) << "the descriptor given is closed";
    EXPECT_EQ(loop.active_watchers(), 0u);
}

}  // namespace
}  // namespace tfd
