// Contract: descriptor readiness, the same on every backend.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>

#include <vector>

#include "backend/contract.hpp"
#include "support/fault_injection.hpp"
#include "support/fd_utils.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

class FdContract : public loop_contract {};
TFD_ALL_BACKENDS(FdContract);

TEST_P(FdContract, ReportsReadableWhenDataArrives) {
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    unique_fd& b = a_b.second;
    std::vector<io_events> seen;
    fd_watcher w = loop.watch(a.get(), io_events::readable, [&](io_events e) {
        seen.push_back(e);
        char c;
        EXPECT_EQ(::read(a.get(), &c, 1), 1);
    });
    send_byte(b);
    loop.run_once();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(any(seen[0], io_events::readable));
}

TEST_P(FdContract, DeliversOnlyTheEventsAskedFor) {
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    unique_fd& b = a_b.second;
    send_byte(b);  // a is readable and writable
    std::vector<io_events> seen;
    fd_watcher w =
        loop.watch(a.get(), io_events::writable, [&](io_events e) { seen.push_back(e); });
    loop.run_once();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], io_events::writable);
}

TEST_P(FdContract, InterestCanBeChanged) {
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    int readable = 0;
    int writable = 0;
    fd_watcher w = loop.watch(a.get(), io_events::readable, [&](io_events e) {
        readable += any(e, io_events::readable) ? 1 : 0;
        writable += any(e, io_events::writable) ? 1 : 0;
    });
    loop.run_for(20ms);  // nothing to read yet
    EXPECT_EQ(readable + writable, 0);
    w.set_interest(io_events::writable);
    EXPECT_EQ(w.interest(), io_events::writable);
    loop.run_once();
    EXPECT_EQ(writable, 1);
    EXPECT_EQ(readable, 0);
    w.set_interest(io_events::none);  // paused: nothing more, although still writable
    loop.run_for(20ms);
    EXPECT_EQ(writable, 1);
}

TEST_P(FdContract, PeerCloseIsReadableWithEndOfFile) {
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    unique_fd& b = a_b.second;
    ssize_t got = -2;
    io_events events = io_events::none;
    fd_watcher w = loop.watch(a.get(), io_events::readable, [&](io_events e) {
        events = e;
        char c;
        got = ::read(a.get(), &c, 1);
    });
    b.reset();
    loop.run_once();
    EXPECT_TRUE(any(events, io_events::readable));
    EXPECT_EQ(got, 0);
}

TEST_P(FdContract, WriterIsWokenWhenTheReaderGoesAway) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    unique_fd reader(fds[0]);
    unique_fd writer(fds[1]);
    io_events events = io_events::none;
    int write_error = 0;
    fd_watcher w = loop.watch(writer.get(), io_events::writable, [&](io_events e) {
        events = e;
        char byte = 'x';
        write_error = ::write(writer.get(), &byte, 1) < 0 ? errno : 0;
        w.stop();
    });
    reader.reset();
    auto previous = ::signal(SIGPIPE, SIG_IGN);  // so the write fails with EPIPE instead
    loop.run_once();
    ::signal(SIGPIPE, previous);
    EXPECT_NE(events, io_events::none);
    EXPECT_EQ(write_error, EPIPE);
    // epoll and poll say why (POLLERR); select can only say "writable".
    if (GetParam() != backend_kind::select) {
        EXPECT_TRUE(any(events, io_events::error)) << static_cast<unsigned>(events);
    }
}

TEST_P(FdContract, InterruptedWaitIsResumed) {
    int calls = 0;
    nanoseconds start = loop.now();
    timer_watcher t = loop.after(20ms, [&](std::uint64_t) { ++calls; });
    {
        scoped_fault eintr(wait_call_of(GetParam()), -1, EINTR, 3);
        loop.run();
        EXPECT_EQ(eintr.fired(), 3);
    }
    EXPECT_EQ(calls, 1);
    EXPECT_GE(loop.now() - start, 20ms);
}

TEST_P(FdContract, SecondWatcherOnOneDescriptorIsRefused) {
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    fd_watcher w = loop.watch(a.get(), io_events::readable, [](io_events) {});
    try {
        fd_watcher second = loop.watch(a.get(), io_events::readable, [](io_events) {});
        FAIL() << "a second watcher was accepted";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::file_exists);
    }
}

TEST_P(FdContract, NegativeDescriptorIsRefused) {
    EXPECT_THROW((void)loop.watch(-1, io_events::readable, [](io_events) {}), std::system_error);
}

TEST_P(FdContract, StoppedWatcherGetsNoMoreEvents) {
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    unique_fd& b = a_b.second;
    int calls = 0;
    fd_watcher w = loop.watch(a.get(), io_events::readable, [&](io_events) { ++calls; });
    send_byte(b);
    loop.run_once();
    EXPECT_EQ(calls, 1);
    w.stop();
    EXPECT_FALSE(w.active());
    loop.run_for(10ms);
    EXPECT_EQ(calls, 1);
}

TEST_P(FdContract, CallbackMayStopItself) {
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    unique_fd& b = a_b.second;
    int calls = 0;
    fd_watcher w;
    w = loop.watch(a.get(), io_events::readable, [&](io_events) {
        ++calls;
        w.stop();  // frees the watcher while its callback runs
    });
    send_byte(b);
    loop.run();  // returns: nothing left to watch
    EXPECT_EQ(calls, 1);
}

TEST_P(FdContract, EventsOfAWatcherStoppedDuringDispatchAreDropped) {
    auto a1_b1 = socket_pair();
    unique_fd& a1 = a1_b1.first;
    unique_fd& b1 = a1_b1.second;
    auto a2_b2 = socket_pair();
    unique_fd& a2 = a2_b2.first;
    unique_fd& b2 = a2_b2.second;
    int calls = 0;
    fd_watcher w1;
    fd_watcher w2;
    // Whichever runs first stops the other: exactly one callback may run.
    w1 = loop.watch(a1.get(), io_events::readable, [&](io_events) {
        ++calls;
        w2.stop();
        w1.stop();
    });
    w2 = loop.watch(a2.get(), io_events::readable, [&](io_events) {
        ++calls;
        w1.stop();
        w2.stop();
    });
    send_byte(b1);
    send_byte(b2);
    loop.run_once();
    EXPECT_EQ(calls, 1);
}

TEST_P(FdContract, ReusedDescriptorNumberGetsNoStaleEvent) {
    auto a1_b1 = socket_pair();
    unique_fd& a1 = a1_b1.first;
    unique_fd& b1 = a1_b1.second;
    auto a2_b2 = socket_pair();
    unique_fd& a2 = a2_b2.first;
    unique_fd& b2 = a2_b2.second;
    int first = 0;
    int reused_calls = 0;
    int old_number = -1;
    int new_number = -2;
    fd_watcher w1;
    fd_watcher w2;
    fd_watcher reused;
    unique_fd replacement;
    // Stops the other watcher, closes its descriptor and opens a new one, which gets the
    // lowest free number: the one just closed.
    auto replace = [&](fd_watcher& self, fd_watcher& other, unique_fd& other_fd) {
        ++first;
        old_number = other.fd();
        other.stop();
        other_fd.reset();
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
        ::close(fds[1]);  // fds[0] is readable (end of file) at once
        new_number = fds[0];
        replacement.reset(fds[0]);
        reused = loop.watch(fds[0], io_events::readable, [&](io_events) { ++reused_calls; });
        self.stop();
    };
    w1 = loop.watch(a1.get(), io_events::readable, [&](io_events) { replace(w1, w2, a2); });
    w2 = loop.watch(a2.get(), io_events::readable, [&](io_events) { replace(w2, w1, a1); });
    send_byte(b1);
    send_byte(b2);
    loop.run_once();
    EXPECT_EQ(first, 1);
    EXPECT_EQ(new_number, old_number) << "the descriptor number was not reused";
    EXPECT_EQ(reused_calls, 0) << "an event of the old descriptor reached the new watcher";
    loop.run_once();  // the new watcher's own event comes in the next pass
    EXPECT_EQ(reused_calls, 1);
}

TEST_P(FdContract, HighDescriptorNumbers) {
    rlimit limit{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    if (limit.rlim_max < 1600) {
        GTEST_SKIP() << "RLIMIT_NOFILE hard limit too low";
    }
    rlimit raised = limit;
    raised.rlim_cur = std::max<rlim_t>(limit.rlim_cur, 1600);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &raised), 0);
    auto a_b = socket_pair();
    unique_fd& a = a_b.first;
    unique_fd& b = a_b.second;
    unique_fd high(::dup2(a.get(), 1500));
    ASSERT_TRUE(high.valid());
    if (GetParam() == backend_kind::select) {
        try {
            fd_watcher w = loop.watch(high.get(), io_events::readable, [](io_events) {});
            FAIL() << "select accepted fd 1500";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::errc::invalid_argument);
            EXPECT_NE(std::string(e.what()).find("FD_SETSIZE"), std::string::npos) << e.what();
        }
    } else {
        int calls = 0;
        fd_watcher w = loop.watch(high.get(), io_events::readable, [&](io_events) { ++calls; });
        send_byte(b);
        loop.run_once();
        EXPECT_EQ(calls, 1);
    }
    high.reset();
    ::setrlimit(RLIMIT_NOFILE, &limit);
}

TEST_P(FdContract, NoDescriptorLeaks) {
    int before = open_fd_count();
    {
        event_loop other(GetParam());
        timer_watcher t = other.after(1ms, [](std::uint64_t) {});
        other.run();
    }
    EXPECT_EQ(open_fd_count(), before);
}

}  // namespace
}  // namespace tfd::test
