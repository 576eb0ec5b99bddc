#include "tfd/async_fd.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stop_token>
#include <string>

#include "support/fault_injection.hpp"
#include "tfd/task.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

struct socket_pair {
    unique_fd a, b;
    socket_pair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        a.reset(fds[0]);
        b.reset(fds[1]);
    }
};

class CoroAsyncFd : public ::testing::TestWithParam<backend_kind> {};

task<> echo_n(event_loop& loop, int fd, int rounds, std::string& got) {
    async_fd io(loop, fd);
    char buffer[64];
    for (int i = 0; i < rounds; ++i) {
        std::size_t n = co_await io.read_some(buffer, sizeof buffer);
        if (n == 0) {
            co_return;
        }
        got.append(buffer, n);
        std::size_t sent = co_await io.write_some(buffer, n);
        EXPECT_EQ(sent, n);
    }
}

TEST_P(CoroAsyncFd, PingPongKeepsOneRegistration) {
    event_loop loop(GetParam());
    socket_pair pair;
    std::string got;
    loop.spawn(echo_n(loop, pair.a.get(), 3, got));
    async_fd peer(loop, pair.b.get());
    std::string replies;
    loop.spawn([](async_fd& p, std::string& out) -> task<> {
        char buffer[8];
        for (char c : std::string("abc")) {
            co_await p.write_some(&c, 1);
            std::size_t n = co_await p.read_some(buffer, sizeof buffer);
            out.append(buffer, n);
        }
    }(peer, replies));
    loop.run();
    EXPECT_EQ(got, "abc");
    EXPECT_EQ(replies, "abc");
}

TEST_P(CoroAsyncFd, AReadyReadCompletesWithoutSuspending) {
    event_loop loop(GetParam());
    socket_pair pair;
    ASSERT_EQ(::write(pair.b.get(), "hello", 5), 5);
    async_fd io(loop, pair.a.get());
    char buffer[16];
    auto op = io.read_some(buffer, sizeof buffer);
    EXPECT_TRUE(op.await_ready());
    EXPECT_EQ(op.await_resume(), 5u);
    EXPECT_EQ(loop.active_watchers(), 0u);  // never registered
}

TEST_P(CoroAsyncFd, EndOfFileIsZeroBytes) {
    event_loop loop(GetParam());
    socket_pair pair;
    std::size_t n = 99;
    loop.spawn([](event_loop& l, int fd, std::size_t& out) -> task<> {
        async_fd io(l, fd);
        char buffer[4];
        out = co_await io.read_some(buffer, sizeof buffer);
    }(loop, pair.a.get(), n));
    pair.b.reset();
    loop.run();
    EXPECT_EQ(n, 0u);
}

TEST_P(CoroAsyncFd, AnErrorNamesTheOperationAndDescriptor) {
    event_loop loop(GetParam());
    socket_pair pair;
    pair.b.reset();
    std::string what;
    loop.spawn([](event_loop& l, int fd, std::string& out) -> task<> {
        async_fd io(l, fd);
        try {
            co_await io.write_some("x", 1);  // the peer is gone: EPIPE, not SIGPIPE
        } catch (const std::system_error& e) {
            out = e.what();
        }
    }(loop, pair.a.get(), what));
    EXPECT_NE(what.find("async_fd::write_some: fd=" + std::to_string(pair.a.get())),
              std::string::npos)
        << what;
}

TEST_P(CoroAsyncFd, AReadThatFindsTheReadinessSpuriousKeepsWaiting) {
    event_loop loop(GetParam());
    socket_pair pair;
    std::string got;
    // The first read (before suspending) and the first retry after the loop reports the
    // descriptor readable both say EAGAIN: the wait must go on, not end with EAGAIN.
    test::scoped_fault fault(sys::call::read, -1, EAGAIN, 2);
    loop.spawn([](event_loop& l, int fd, std::string& out) -> task<> {
        async_fd io(l, fd);
        char buffer[8];
        std::size_t n = co_await io.read_some(buffer, sizeof buffer);
        out.assign(buffer, n);
    }(loop, pair.a.get(), got));
    EXPECT_EQ(fault.fired(), 1);
    ASSERT_EQ(::write(pair.b.get(), "xy", 2), 2);
    loop.run();
    EXPECT_EQ(fault.fired(), 2);
    EXPECT_EQ(got, "xy");
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST_P(CoroAsyncFd, HangupWithNobodyWaitingDoesNotSpin) {
    event_loop loop(GetParam());
    socket_pair pair;
    async_fd io(loop, pair.a.get());
    loop.spawn([](async_fd& f) -> task<> { co_await f.readable(); }(io));
    ASSERT_EQ(::write(pair.b.get(), "x", 1), 1);
    loop.run();      // the reader finished; the registration stays for the next wait
    pair.b.reset();  // hang-up with nobody waiting
    for (int i = 0; i < 5; ++i) {
        loop.run_once();
    }
    EXPECT_EQ(loop.active_watchers(), 0u);  // unregistered instead of reported every pass
}

TEST_P(CoroAsyncFd, OneReaderAtATime) {
    event_loop loop(GetParam());
    socket_pair pair;
    async_fd io(loop, pair.a.get());
    int code = 0;
    loop.spawn([](async_fd& f) -> task<> { co_await f.readable(); }(io));
    loop.spawn([](async_fd& f, int& c) -> task<> {
        try {
            co_await f.readable();
        } catch (const std::system_error& e) {
            c = e.code().value();
        }
    }(io, code));
    EXPECT_EQ(code, EBUSY);
    ASSERT_EQ(::write(pair.b.get(), "x", 1), 1);
    loop.run();
}

TEST_P(CoroAsyncFd, StopCancelsARead) {
    event_loop loop(GetParam());
    socket_pair pair;
    std::stop_source source;
    std::string outcome;
    loop.spawn([](event_loop& l, int fd, std::stop_token t, std::string& out) -> task<> {
        async_fd io(l, fd);
        char buffer[4];
        try {
            co_await io.read_some(buffer, sizeof buffer, t);
        } catch (const operation_cancelled& e) {
            out = e.what();
        }
    }(loop, pair.a.get(), source.get_token(), outcome));
    source.request_stop();
    EXPECT_EQ(outcome, "");  // never resumed inside request_stop()
    loop.run_until_idle();   // phase 6 delivers the stop
    EXPECT_EQ(outcome, "async_fd::read_some: Operation canceled");
    EXPECT_EQ(loop.active_watchers(), 0u);
}

TEST(CoroAsyncFdArguments, NegativeDescriptorIsRefused) {
    event_loop loop;
    try {
        async_fd io(loop, -3);
        FAIL();
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
        EXPECT_NE(std::string(e.what()).find("fd=-3"), std::string::npos);
    }
}

// A number no descriptor has is refused at construction, before the loop's table of wait
// slots grows to hold it.
TEST(CoroAsyncFdArguments, ANumberThatIsNotOpenIsRefused) {
    event_loop loop;
    for (int fd : {1 << 30, 100'000'000}) {
        try {
            async_fd io(loop, fd);
            ADD_FAILURE() << "fd=" << fd << " accepted";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code().value(), EBADF);
            EXPECT_EQ(std::string(e.what()), "async_fd: fd=" + std::to_string(fd) +
                                                 " is not an open descriptor: Bad file descriptor");
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, CoroAsyncFd,
                         ::testing::Values(backend_kind::epoll, backend_kind::poll,
                                           backend_kind::select));

}  // namespace
}  // namespace tfd
