// The loop's descriptor registry: numbering of the loop's own descriptors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

#include "tfd/event_loop.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

class FdRegistry : public ::testing::TestWithParam<backend_kind> {};
INSTANTIATE_TEST_SUITE_P(Backends, FdRegistry,
                         ::testing::Values(backend_kind::epoll, backend_kind::poll,
                                           backend_kind::select));

// A user closes a watched descriptor without stopping its watcher; the kernel hands its number
// to the next descriptor opened, which may be the loop's own lazily created timer_fd.  The
// loop moves its descriptor off that number instead of failing with "already has a watcher".
TEST_P(FdRegistry, TheLoopsTimerFdNeverTakesTheNumberOfAWatchedDescriptor) {
    event_loop loop(GetParam());
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    const int watched = pipe_fds[0];
    fd_watcher stale = loop.watch(watched, io_events::readable, [](io_events) {});
    ASSERT_EQ(::close(watched), 0);  // closed while watched: its number is free again

    int ticks = 0;
    timer_watcher tick = loop.every(1ms, [&](std::uint64_t) {
        if (++ticks == 3) {
            loop.stop();
        }
    });
    EXPECT_EQ(stale.fd(), watched);  // the user's watcher still names its own descriptor
    // The number the loop would have taken is still free: the loop's timer_fd is elsewhere.
    EXPECT_EQ(::fcntl(watched, F_GETFD), -1);
    stale.stop();  // before running: what a closed descriptor does in each backend is not
                   // this test's subject
    loop.run();
    EXPECT_EQ(ticks, 3);
    ::close(pipe_fds[1]);
}

TEST_P(FdRegistry, TheLoopsSignalFdNeverTakesTheNumberOfAWatchedDescriptor) {
    event_loop loop(GetParam());
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    const int watched = pipe_fds[0];
    fd_watcher stale = loop.watch(watched, io_events::readable, [](io_events) {});
    ASSERT_EQ(::close(watched), 0);
    int got = 0;
    signal_watcher usr1 = loop.on_signal(SIGUSR1, [&](const signal_info& info) {
        got = info.signo;
        loop.stop();
    });
    EXPECT_EQ(::fcntl(watched, F_GETFD), -1);
    stale.stop();
    ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
    loop.run_for(5s);
    EXPECT_EQ(got, SIGUSR1);
    ::close(pipe_fds[1]);
}

// A number no descriptor has is refused before the registry's table, indexed by descriptor
// number, grows to hold it: a stray 1 << 30 would otherwise cost gigabytes (or
// std::bad_alloc) before the backend refused it.
TEST_P(FdRegistry, ANumberThatIsNotOpenIsRefusedBeforeTheTableGrows) {
    event_loop loop(GetParam());
    for (int fd : {1 << 30, 100'000'000, std::numeric_limits<int>::max()}) {
        try {
            fd_watcher w = loop.watch(fd, io_events::readable, [](io_events) {});
            ADD_FAILURE() << "fd=" << fd << " accepted";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code().value(), EBADF);
            // Worded as for any descriptor that is not open (the backend contract's words).
            EXPECT_EQ(std::string(e.what()), std::string(to_string(GetParam())) +
                                                 "::add: fd=" + std::to_string(fd) +
                                                 " is not an open descriptor: Bad file descriptor");
        }
    }
    EXPECT_EQ(loop.active_watchers(), 0u);
    // The loop is intact: an open descriptor is still watched.
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    ASSERT_EQ(::write(pipe_fds[1], "x", 1), 1);
    bool seen = false;
    fd_watcher w = loop.watch(pipe_fds[0], io_events::readable, [&](io_events) {
        seen = true;
        loop.stop();
    });
    loop.run_for(5s);
    EXPECT_TRUE(seen);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

}  // namespace
}  // namespace tfd
