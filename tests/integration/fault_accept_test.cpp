// Accepting under descriptor and memory exhaustion: injected EMFILE, ENFILE, ENOMEM and
// ENOBUFS at accept, a real EMFILE under a lowered RLIMIT_NOFILE, and ENOMEM from epoll_ctl
// while a connection registers.  The listener must neither spin (its thread's CPU time stays
// small while accept fails) nor leave clients hanging: a client is served once the failure
// passes, or, when descriptors really run out, sees its connection closed.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "fault_support.hpp"
#include "support/fault_injection.hpp"
#include "tfd/event_loop.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

int highest_open_fd() {
    int highest = -1;
    DIR* dir = ::opendir("/proc/self/fd");
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') {
            highest = std::max(highest, std::atoi(entry->d_name));
        }
    }
    ::closedir(dir);
    return highest;
}

int open_fd_count() {
    int count = 0;
    DIR* dir = ::opendir("/proc/self/fd");
    while (const dirent* entry = ::readdir(dir)) {
        count += entry->d_name[0] != '.' ? 1 : 0;
    }
    ::closedir(dir);
    return count - 1;  // the directory stream itself
}

// Connects `count` clients, sends one line on each, and sorts them by what came back.
struct client_outcome {
    int served = 0;   // got their echo
    int closed = 0;   // saw end of file without an echo (shed by the server)
    int hanging = 0;  // neither, within the timeout
    int refused = 0;  // connect failed
};

client_outcome run_clients(std::uint16_t port, int count, std::chrono::milliseconds timeout) {
    std::vector<client> clients(static_cast<std::size_t>(count));
    client_outcome out;
    std::vector<bool> connected;
    for (int i = 0; i < count; ++i) {
        bool ok = clients[i].connect(port) && clients[i].send("hello " + std::to_string(i) + "\n");
        connected.push_back(ok);
        out.refused += ok ? 0 : 1;
    }
    for (int i = 0; i < count; ++i) {
        if (!connected[i]) {
            continue;
        }
        std::string want = "echo hello " + std::to_string(i) + "\n";
        std::string got = clients[i].receive(want.size(), timeout);
        if (got == want) {
            ++out.served;
        } else if (clients[i].saw_eof()) {
            ++out.closed;
        } else {
            ++out.hanging;
        }
    }
    return out;
}

struct window {
    event_loop* loop;
    fault_plan* faults;
    nanoseconds cpu_at_start;
    nanoseconds cpu_during{};
};

class fault_accept_injected : public ::testing::TestWithParam<int> {};

// accept fails with the parameter's errno for 600 ms while 20 clients wait in the backlog.
TEST_P(fault_accept_injected, pauses_without_spinning_then_serves_everyone) {
    const int error = GetParam();
    event_loop loop;
    echo_server server(loop);
    fault_plan faults({{sys::call::accept, -1, error, 1}});
    client_outcome outcome;
    std::atomic<bool> clients_done{false};
    std::jthread clients([&] {
        outcome = run_clients(server.port(), 20, 10s);
        clients_done = true;
        loop.post([&] { loop.stop(); });
    });
    window w{&loop, &faults, thread_cpu_time()};
    timer_watcher lift = loop.after(600ms, [p = &w](std::uint64_t) {
        p->cpu_during = thread_cpu_time() - p->cpu_at_start;
        p->faults->enable(false);
    });
    loop.run_for(30s);
    clients.join();

    EXPECT_TRUE(clients_done);
    EXPECT_EQ(outcome.served, 20) << "closed " << outcome.closed << ", hanging " << outcome.hanging
                                  << ", refused " << outcome.refused;
    EXPECT_GT(faults.fired(0), 0);
    EXPECT_GE(server.listener().paused(), 2u) << "accepting should have paused and retried";
    EXPECT_EQ(server.listener().rejected(), 0u) << "no connection may be shed for a passing fault";
    // 600 ms of failing accepts: a spinning listener would use all of it.
    EXPECT_LT(w.cpu_during, 60ms) << "loop thread CPU while accept failed";
    EXPECT_LT(faults.calls(0), 200) << "accept retried too often while failing";
}

INSTANTIATE_TEST_SUITE_P(errors, fault_accept_injected,
                         ::testing::Values(EMFILE, ENFILE, ENOMEM, ENOBUFS), [](const auto& info) {
                             switch (info.param) {
                                 case EMFILE:
                                     return std::string("EMFILE");
                                 case ENFILE:
                                     return std::string("ENFILE");
                                 case ENOMEM:
                                     return std::string("ENOMEM");
                                 default:
                                     return std::string("ENOBUFS");
                             }
                         });

// A real EMFILE: RLIMIT_NOFILE leaves the server a handful of descriptors and 40 clients
// arrive.  Those beyond capacity are shed (closed at once), none hangs, nothing spins, and
// once descriptors free up the server accepts again.
TEST(fault_accept_real, emfile_sheds_clients_instead_of_hanging_them) {
    event_loop loop;
    echo_server server(loop);
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    // Fill every free number below the highest open descriptor, so that the limit below
    // leaves exactly the 40 client sockets (made first, inside run_clients, before any
    // accept) and six more for the server.
    std::vector<unique_fd> fillers;
    for (int highest = highest_open_fd();;) {
        unique_fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (fd.get() >= highest) {
            break;
        }
        fillers.push_back(std::move(fd));
    }
    rlimit tight = saved;
    tight.rlim_cur = static_cast<rlim_t>(highest_open_fd() + 1 + 40 + 6);
    client_outcome outcome;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
    // A rule that never fires: it only counts the server's accept calls.
    fault_plan count_accepts({{sys::call::accept, -1, 0, 1, 0}});
    std::jthread clients([&] {
        outcome = run_clients(server.port(), 40, 3s);
        loop.post([&] { loop.stop(); });
    });
    loop.run_for(30s);
    clients.join();
    const long accept_calls = count_accepts.calls(0);
    ::setrlimit(RLIMIT_NOFILE, &saved);

    std::printf(
        "real EMFILE: served %d, closed %d, hanging %d; listener rejected %llu, "
        "paused %llu; accept calls %ld\n",
        outcome.served, outcome.closed, outcome.hanging,
        static_cast<unsigned long long>(server.listener().rejected()),
        static_cast<unsigned long long>(server.listener().paused()), accept_calls);
    EXPECT_EQ(outcome.hanging, 0) << "clients left hanging in the backlog";
    EXPECT_EQ(outcome.refused, 0);
    EXPECT_EQ(outcome.served + outcome.closed, 40);
    EXPECT_GE(outcome.served, 1);
    EXPECT_GE(outcome.closed, 1) << "the limit did not bite: the test tested nothing";
    EXPECT_EQ(server.listener().rejected(), static_cast<std::uint64_t>(outcome.closed));
    // Every client costs one accept, each readiness wake-up one more that finds the backlog
    // empty, and each pause one retry; a listener spinning on EMFILE would make thousands.
    // (Counting calls rather than CPU time: the whole exchange lasts about a millisecond, too
    // short for a CPU-time ratio to mean anything on a busy machine.)
    EXPECT_LT(accept_calls, 400) << "accept called too often at the descriptor limit";
    count_accepts.enable(false);

    // The clients closed their sockets: the server accepts and serves again.
    loop.run_for(100ms);
    std::jthread again([&] {
        outcome = run_clients(server.port(), 5, 5s);
        loop.post([&] { loop.stop(); });
    });
    loop.run_for(30s);
    again.join();
    EXPECT_EQ(outcome.served, 5);
}

// ENOMEM from epoll_ctl while an accepted connection is registered: the listener refuses
// that connection (closed, not leaked, reported through on_refused with the error) instead
// of letting the error out of run() and every other client with it, and serves the next
// clients without being run again.
TEST(fault_accept_real, enomem_registering_a_connection_refuses_it_and_serves_on) {
    event_loop loop;
    echo_server server(loop);
    std::vector<int> refusals;
    server.listener().on_refused([&](const tcp_endpoint&, const std::system_error& e) {
        refusals.push_back(e.code().value());
    });
    int fds_before = open_fd_count();
    fault_plan faults({{sys::call::epoll_ctl, -1, ENOMEM, 1, 1}});
    client first;
    ASSERT_TRUE(first.connect(server.port()));
    ASSERT_TRUE(first.send("one\n"));
    for (auto end = std::chrono::steady_clock::now() + 5s;
         refusals.empty() && std::chrono::steady_clock::now() < end;) {
        ASSERT_NO_THROW(loop.run_for(10ms));
    }
    EXPECT_EQ(faults.fired(0), 1);
    EXPECT_EQ(refusals, std::vector<int>{ENOMEM});
    EXPECT_EQ(server.accepted, 0u) << "a refused connection never reaches on_accept";
    EXPECT_EQ(server.listener().rejected(), 1u);
    EXPECT_EQ(first.receive(1, 2s), "");
    EXPECT_TRUE(first.saw_eof()) << "the first client must see its connection closed";
    EXPECT_EQ(open_fd_count(), fds_before + 1) << "only the client's own socket is new";

    client_outcome outcome;
    std::jthread clients([&] {
        outcome = run_clients(server.port(), 3, 5s);
        loop.post([&] { loop.stop(); });
    });
    loop.run_for(30s);
    clients.join();
    EXPECT_EQ(outcome.served, 3);
}

}  // namespace
}  // namespace tfd::test
