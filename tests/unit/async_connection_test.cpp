#include "tfd/async_connection.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

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
        client.close();
    }(h.loop, std::move(h.ours), closed_at));
    h.send("hello\n");
    h.loop.run();
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

TEST(CoroAsyncConnection, StopEndsAWaitingRead) {
    harness h;
    std::stop_source source;
    std::string outcome;
    async_connection client(h.loop, std::move(h.ours));
    h.loop.spawn([](async_connection& c, std::stop_token t, std::string& out) -> task<> {
        try {
            co_await c.read_line(t);
        } catch (const operation_cancelled& e) {
            out = e.what();
        }
    }(client, source.get_token(), outcome));
    source.request_stop();
    EXPECT_EQ(outcome, "async_connection::read_line: Operation canceled");
    EXPECT_TRUE(client.is_open());
}

TEST(CoroAsyncConnection, WriteAfterCloseReturnsFalse) {
    harness h;
    async_connection client(h.loop, std::move(h.ours));
    client.close();
    EXPECT_FALSE(client.write("x").await_resume());
    EXPECT_EQ(client.reason(), close_reason::local);
}

}  // namespace
}  // namespace tfd
