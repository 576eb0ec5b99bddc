// fd event dispatch: tfd::event_loop (epoll backend) against libuv and libev, side by side.
//
// Two workloads, each timed per round trip (one benchmark iteration):
//  * ping_pong: two ends of a socketpair, each watched for readable; a byte goes from one end
//    to the other and back, so a round trip is two waits, two dispatches, two reads and two
//    writes;
//  * one_active_of_N: the same ping-pong while N-1 other socketpairs are watched too and stay
//    idle, which shows whether dispatch cost grows with the number of watched descriptors.
// Each contender runs its loop until the byte is back, then returns (tfd: stop(); libuv:
// uv_stop(); libev: ev_break()), so the cost of entering and leaving the loop is included for
// all three alike.  Rounds alternate between contenders (see support/side_by_side.hpp).
//
// Time is the thread's CPU time per round trip (CLOCK_THREAD_CPUTIME_ID, reported as manual
// time): the workload never waits for anything outside its own thread, so CPU time is what it
// costs, while wall time on a machine shared with other jobs mostly measures their load.
// The minimum for a round trip is six system calls (two waits, two reads, two writes); all
// three contenders make exactly those.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <time.h>

#include <cstdint>
#include <vector>

#include "support/side_by_side.hpp"
#include "tfd/event_loop.hpp"

#if TFD_BENCH_LIBUV
#include <uv.h>
#endif
#if TFD_BENCH_LIBEV
#include <ev.h>
#endif

namespace {

// A connected pair of non-blocking sockets, closed on destruction.
struct socket_pair {
    int fd[2] = {-1, -1};
    socket_pair() {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) != 0) {
            fd[0] = fd[1] = -1;
        }
    }
    ~socket_pair() {
        ::close(fd[0]);
        ::close(fd[1]);
    }
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;
};

// Reads the byte that arrived on `fd`; if this is the far end, sends it back, else the round
// trip is complete.  Returns true when complete.
bool bounce(int fd, bool far_end) {
    char byte = 0;
    if (::read(fd, &byte, 1) != 1) {
        return false;
    }
    if (far_end) {
        (void)!::write(fd, &byte, 1);
        return false;
    }
    return true;
}

void idle_pairs(std::vector<socket_pair>& pairs, benchmark::State& state) {
    pairs = std::vector<socket_pair>(static_cast<std::size_t>(state.range(0)));
}

double thread_cpu_seconds() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Round trips are timed in batches, so reading the CPU clock (itself a system call) costs
// little per round trip; each benchmark iteration reports the batch's mean.
constexpr int batch = 100;

// Per iteration: `batch` round trips, each kicking the byte off and running the contender's
// loop until it is back; reports the thread CPU time per round trip.
template <class RunLoop>
void round_trips(benchmark::State& state, int kick_fd, RunLoop&& run_loop) {
    for (auto _ : state) {
        double start = thread_cpu_seconds();
        for (int i = 0; i < batch; ++i) {
            (void)!::write(kick_fd, "x", 1);
            run_loop();
        }
        state.SetIterationTime((thread_cpu_seconds() - start) / batch);
    }
}

// --- tfd ---------------------------------------------------------------------------------

void dispatch_tfd(benchmark::State& state) {
    tfd::event_loop loop;
    socket_pair active;
    std::vector<socket_pair> idle;
    idle_pairs(idle, state);
    std::vector<tfd::fd_watcher> watchers;
    for (auto& pair : idle) {
        watchers.push_back(loop.watch(pair.fd[0], tfd::io_events::readable, [](tfd::io_events) {}));
    }
    tfd::fd_watcher near = loop.watch(active.fd[0], tfd::io_events::readable, [&](tfd::io_events) {
        if (bounce(active.fd[0], false)) {
            loop.stop();
        }
    });
    tfd::fd_watcher far = loop.watch(active.fd[1], tfd::io_events::readable,
                                     [&](tfd::io_events) { bounce(active.fd[1], true); });
    round_trips(state, active.fd[0], [&] { loop.run(); });
}

// --- libuv -------------------------------------------------------------------------------

#if TFD_BENCH_LIBUV
struct uv_side {
    uv_poll_t handle;
    int fd;
    bool far_end;
};

void dispatch_libuv(benchmark::State& state) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    socket_pair active;
    std::vector<socket_pair> idle;
    idle_pairs(idle, state);
    std::vector<uv_poll_t> idle_handles(idle.size());
    for (std::size_t i = 0; i < idle.size(); ++i) {
        uv_poll_init(&loop, &idle_handles[i], idle[i].fd[0]);
        uv_poll_start(&idle_handles[i], UV_READABLE, [](uv_poll_t*, int, int) {});
    }
    uv_side sides[2] = {{{}, active.fd[0], false}, {{}, active.fd[1], true}};
    for (uv_side& side : sides) {
        uv_poll_init(&loop, &side.handle, side.fd);
        side.handle.data = &side;
        uv_poll_start(&side.handle, UV_READABLE, [](uv_poll_t* handle, int, int) {
            auto* self = static_cast<uv_side*>(handle->data);
            if (bounce(self->fd, self->far_end)) {
                uv_stop(handle->loop);
            }
        });
    }
    round_trips(state, active.fd[0], [&] { uv_run(&loop, UV_RUN_DEFAULT); });
    for (uv_side& side : sides) {
        uv_close(reinterpret_cast<uv_handle_t*>(&side.handle), nullptr);
    }
    for (auto& handle : idle_handles) {
        uv_close(reinterpret_cast<uv_handle_t*>(&handle), nullptr);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}
#endif

// --- libev -------------------------------------------------------------------------------

#if TFD_BENCH_LIBEV
struct ev_side {
    ev_io watcher;
    bool far_end;
};

void dispatch_libev(benchmark::State& state) {
    struct ev_loop* loop = ev_loop_new(EVBACKEND_EPOLL);
    socket_pair active;
    std::vector<socket_pair> idle;
    idle_pairs(idle, state);
    std::vector<ev_io> idle_watchers(idle.size());
    for (std::size_t i = 0; i < idle.size(); ++i) {
        ev_io_init(
            &idle_watchers[i], [](struct ev_loop*, ev_io*, int) {}, idle[i].fd[0], EV_READ);
        ev_io_start(loop, &idle_watchers[i]);
    }
    ev_side sides[2];
    for (int i = 0; i < 2; ++i) {
        sides[i].far_end = i == 1;
        ev_io_init(
            &sides[i].watcher,
            [](struct ev_loop* l, ev_io* w, int) {
                auto* self = reinterpret_cast<ev_side*>(w);
                if (bounce(w->fd, self->far_end)) {
                    ev_break(l, EVBREAK_ONE);
                }
            },
            active.fd[i], EV_READ);
        ev_io_start(loop, &sides[i].watcher);
    }
    round_trips(state, active.fd[0], [&] { ev_run(loop, 0); });
    for (auto& side : sides) {
        ev_io_stop(loop, &side.watcher);
    }
    for (auto& watcher : idle_watchers) {
        ev_io_stop(loop, &watcher);
    }
    ev_loop_destroy(loop);
}
#endif

// A fixed count: 500 batches of 100 round trips per repetition, about 0.7 s of wall time.
// (Left to itself, Google Benchmark would aim at 0.5 s of the reported per-round-trip time,
// i.e. 100 times as much wall time.)
constexpr benchmark::IterationCount iterations = 500;

// Arg 0: plain ping-pong; the others: idle descriptors watched alongside.
void register_contender(const char* contender, void (*function)(benchmark::State&)) {
    benchmark::RegisterBenchmark((std::string("ping_pong/") + contender).c_str(), function)
        ->Arg(0)
        ->UseManualTime()
        ->Iterations(iterations);
    benchmark::RegisterBenchmark((std::string("one_active_of_1000/") + contender).c_str(), function)
        ->Arg(999)
        ->UseManualTime()
        ->Iterations(iterations);
}

}  // namespace

int main(int argc, char** argv) {
    // 1000 socketpairs need 2000 descriptors: raise the soft limit to the hard one.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    register_contender("tfd", dispatch_tfd);
#if TFD_BENCH_LIBUV
    register_contender("libuv", dispatch_libuv);
#endif
#if TFD_BENCH_LIBEV
    register_contender("libev", dispatch_libev);
#endif
    return tfd::bench::run_side_by_side(argc, argv);
}
