// examples/timer_server written with coroutines: three periodic timers (every 0.25, 0.5 and
// 0.75 s) and a TCP control port, each a straight-line coroutine on one tfd::event_loop.
//
//   coro_timer_server [--port N] [--clock monotonic|realtime|boottime]
//                     [--backend epoll|poll|select] [--duration SECONDS]
//
// Commands (one per line): stop, status, help; SIGINT and SIGTERM stop the server too.  The
// protocol and limits are examples/timer_server's (1 KiB lines, UTF-8 checked, bounded
// output, unknown commands echoed escaped, clients the backend cannot watch refused).  An
// error that ends the server makes the exit status 1.  Stopping is one std::stop_source:
// every coroutine waits with its token, so one request_stop() ends the timers, the accept
// loop and every client at once.
#include <arpa/inet.h>
#include <signal.h>

#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "printable.hpp"
#include "server_options.hpp"
#include "tfd/async_connection.hpp"
#include "tfd/async_listener.hpp"
#include "tfd/task.hpp"
#include "tfd/ticker.hpp"
#include "timer_server_protocol.hpp"

namespace {

using namespace std::chrono_literals;
using timer_server::command_kind;

using server_options::settings;

constexpr int timer_count = 3;

struct server {
    server(tfd::event_loop& l, const settings& c) : loop(l), config(c) {}

    tfd::event_loop& loop;
    settings config;
    std::stop_source stopping;
    std::chrono::nanoseconds started = loop.now();
    std::array<std::uint64_t, timer_count> expirations{};
    std::size_t clients = 0;
    bool stop_command = false;
    bool failed = false;  // an error ended the server: exit status 1

    void stop() {
        stopping.request_stop();  // every coroutine resumes with operation_cancelled, here
        loop.stop();              // and run() returns although the signal watchers remain
    }
};

tfd::task<> timer(server& s, int index) {
    tfd::ticker tick(s.loop, (index + 1) * 250ms, {s.config.clock, tfd::missed_ticks::skip});
    for (;;) {
        std::uint64_t count = co_await tick.next(s.stopping.get_token()) + 1;
        s.expirations[index] += count;
        std::printf("Timer %d expired %" PRIu64 " times\n", index + 1, count);
    }
}

std::string status_line(const server& s) {
    double uptime = std::chrono::duration<double>(s.loop.now() - s.started).count();
    char text[160];
    std::snprintf(text, sizeof text,
                  "timer1=%" PRIu64 " timer2=%" PRIu64 " timer3=%" PRIu64
                  " uptime=%.3f clients=%zu\n",
                  s.expirations[0], s.expirations[1], s.expirations[2], uptime, s.clients);
    return text;
}

tfd::task<> client(server& s, tfd::accepted accepted) {
    int number = accepted.socket.get();
    tfd::async_connection connection(s.loop, std::move(accepted.socket),
                                     {{.max_line = 1024, .max_output = 64 * 1024}});
    ++s.clients;
    while (std::optional<tfd::received_line> line =
               co_await connection.read_line(s.stopping.get_token())) {
        if (line->overlong) {
            co_await connection.write("ERR line too long (max 1024 bytes)\n");
            continue;
        }
        timer_server::command cmd = timer_server::parse_command(line->text);
        switch (cmd.kind) {
            case command_kind::stop:
                std::printf("Stopping server\n");
                co_await connection.write("OK stopping\n");
                s.stop_command = true;
                --s.clients;
                s.stop();  // ends this coroutine too, after this statement: nothing below runs
                co_return;
            case command_kind::status:
                co_await connection.write(status_line(s));
                break;
            case command_kind::help:
                co_await connection.write("commands: status, stop, help\n");
                break;
            case command_kind::empty:
                break;
            case command_kind::invalid_utf8:
                std::printf("Invalid UTF-8 from connection %d\n", number);
                co_await connection.write("ERR invalid UTF-8\n");
                break;
            case command_kind::unknown: {
                std::string shown = printable::text(cmd.word);
                std::printf("Unknown command: %s\n", shown.c_str());
                co_await connection.write("ERR unknown command: " + shown + "\n");
                break;
            }
        }
    }
    --s.clients;
    std::printf("Closing connection %d (%s)\n", number, tfd::to_string(*connection.reason()));
}

tfd::task<> accept_loop(server& s, tfd::async_listener& listener) {
    for (;;) {
        tfd::accepted next = co_await listener.accept(s.stopping.get_token());
        std::printf("Accepted connection %d from %s\n", next.socket.get(),
                    next.peer.to_string().c_str());
        s.loop.spawn(client(s, std::move(next)));
    }
}

tfd::task<> deadline(server& s, std::chrono::nanoseconds duration) {
    co_await tfd::sleep_for(s.loop, duration, s.stopping.get_token());
    std::printf("Ran for %.3f s, stopping server\n",
                std::chrono::duration<double>(duration).count());
    s.stop();
}

int run(const settings& config) {
    tfd::event_loop loop(config.backend);
    server s(loop, config);
    tfd::async_listener listener(loop, "127.0.0.1", config.port);
    // A client the loop cannot watch (fd >= FD_SETSIZE on the select backend) is closed by
    // the listener before accept() sees it, told here; the others go on being served.
    listener.on_refused([](const tfd::tcp_endpoint& peer, const std::system_error& error) {
        std::printf("Refused connection from %s: %s\n", peer.to_string().c_str(), error.what());
    });
    std::vector<tfd::signal_watcher> signals;
    for (int signo : {SIGINT, SIGTERM}) {
        signals.push_back(loop.on_signal(signo, [&s](const tfd::signal_info& info) {
            std::printf("Signal %d received, stopping server\n", info.signo);
            s.stop();
        }));
    }
    for (int i = 0; i < timer_count; ++i) {
        loop.spawn(timer(s, i));
    }
    loop.spawn(accept_loop(s, listener));
    if (config.duration) {
        loop.spawn(deadline(s, *config.duration));
    }
    // Every coroutine ends by operation_cancelled when the server stops: that is the plan,
    // not an error.  Anything else escaping a task ends the server with its message.
    loop.on_task_exception([&s](std::exception_ptr error) {
        try {
            std::rethrow_exception(error);
        } catch (const tfd::operation_cancelled&) {
        } catch (const std::exception& e) {
            std::fprintf(stderr, "coro_timer_server: %s\n", e.what());
            s.failed = true;
            s.stop();
        }
    });
    std::printf("Listening on 127.0.0.1:%u (backend %s, clock %s)\n", listener.port(),
                std::string(tfd::to_string(config.backend)).c_str(),
                std::string(tfd::to_string(config.clock)).c_str());
    loop.run();
    // Ends whatever still waits (after an error), before the listener and the server state
    // the coroutines use are destroyed.
    s.stopping.request_stop();
    std::printf("Timers expired %" PRIu64 ", %" PRIu64 " and %" PRIu64 " times\n", s.expirations[0],
                s.expirations[1], s.expirations[2]);
    return s.failed ? 1 : 0;
}

const server_options::server program{
    .name = "coro_timer_server",
    .summary = "the timer server written with coroutines",
    .usage =
        "coro_timer_server [--port N] [--clock monotonic|realtime|boottime]\n"
        "                         [--backend epoll|poll|select] [--duration SECONDS]",
    .default_port = 1234,
    .takes_clock = true,
    .default_idle = std::nullopt,
};

}  // namespace

int main(int argc, char** argv) {
    return server_options::run(argc, argv, program, run);
}
