// A line echo server written with coroutines, with an idle timeout per connection: a client
// that sends nothing for --idle seconds is told so and disconnected.
//
//   coro_echo_server [--port N] [--idle SECONDS] [--backend epoll|poll|select]
//                    [--duration SECONDS]
//
// Each connection is one coroutine: read a line with a time limit, echo it, repeat.  When the
// limit wins, with_timeout has already cancelled the read (nothing of it is left registered),
// so closing the connection right there is safe; the close is graceful (the notice is
// delivered first) and waits at most close_timeout for the client to hang up.
#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <stop_token>
#include <string>

#include "server_options.hpp"
#include "tfd/async_connection.hpp"
#include "tfd/async_listener.hpp"
#include "tfd/task.hpp"
#include "tfd/with_timeout.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::chrono::nanoseconds close_timeout = 1s;

using server_options::settings;

tfd::task<> serve(tfd::event_loop& loop, tfd::accepted accepted, std::chrono::nanoseconds idle,
                  std::stop_token stop) {
    int number = accepted.socket.get();
    tfd::async_connection connection(loop, std::move(accepted.socket));
    for (;;) {
        std::optional<std::optional<tfd::received_line>> line =
            co_await tfd::with_timeout(loop, connection.read_line(stop), idle);
        if (!line) {
            std::printf("Connection %d idle for %.3f s: closing\n", number,
                        std::chrono::duration<double>(idle).count());
            co_await connection.write("idle timeout\n");
            // Graceful: the notice reaches the client before its end of file.
            tfd::close_reason why = co_await connection.close(close_timeout, stop);
            std::printf("Connection %d closed (%s)\n", number, tfd::to_string(why));
            co_return;
        }
        if (!*line) {
            std::printf("Connection %d closed (%s)\n", number,
                        tfd::to_string(*connection.reason()));
            co_return;
        }
        if ((*line)->overlong) {
            co_await connection.write("ERR line too long\n");
            continue;
        }
        co_await connection.write((*line)->text + "\n");
    }
}

tfd::task<> accept_loop(tfd::event_loop& loop, tfd::async_listener& listener,
                        const settings& config, std::stop_token stop) {
    try {
        for (;;) {
            tfd::accepted next = co_await listener.accept(stop);
            std::printf("Accepted connection %d\n", next.socket.get());
            loop.spawn(serve(loop, std::move(next), config.idle, stop));
        }
    } catch (const tfd::operation_cancelled&) {
        listener.close();  // the last watcher: run() returns once the connections have ended
        throw;
    }
}

tfd::task<> deadline(tfd::event_loop& loop, std::chrono::nanoseconds duration,
                     std::stop_source& stopping) {
    co_await tfd::sleep_for(loop, duration, stopping.get_token());
    std::printf("Ran for %.3f s, stopping\n", std::chrono::duration<double>(duration).count());
    stopping.request_stop();
}

int run(const settings& config) {
    tfd::event_loop loop(config.backend);
    std::stop_source stopping;
    tfd::async_listener listener(loop, "127.0.0.1", config.port);
    // A client the loop cannot watch (fd >= FD_SETSIZE on the select backend) is closed by
    // the listener before accept() sees it, told here; the others go on being served.
    listener.on_refused([](const tfd::tcp_endpoint& peer, const std::system_error& error) {
        std::printf("Refused connection from %s: %s\n", peer.to_string().c_str(), error.what());
    });
    bool failed = false;  // an error ended the server: exit status 1
    loop.on_task_exception([&stopping, &failed](std::exception_ptr error) {
        try {
            std::rethrow_exception(error);
        } catch (const tfd::operation_cancelled&) {
            // the way every coroutine ends when the server stops
        } catch (const std::exception& e) {
            std::fprintf(stderr, "coro_echo_server: %s\n", e.what());
            failed = true;
            stopping.request_stop();
        }
    });
    loop.spawn(accept_loop(loop, listener, config, stopping.get_token()));
    if (config.duration) {
        loop.spawn(deadline(loop, *config.duration, stopping));
    }
    std::printf("Listening on 127.0.0.1:%u (idle timeout %.3f s)\n", listener.port(),
                std::chrono::duration<double>(config.idle).count());
    loop.run();  // returns when every coroutine has ended
    stopping.request_stop();
    return failed ? 1 : 0;
}

const server_options::server program{
    .name = "coro_echo_server",
    .summary = "a line echo server with an idle timeout per connection",
    .usage =
        "coro_echo_server [--port N] [--idle SECONDS] [--backend epoll|poll|select] "
        "[--duration SECONDS]",
    .default_port = 7777,
    .takes_clock = false,
    .default_idle = 10s,
};

}  // namespace

int main(int argc, char** argv) {
    return server_options::run(argc, argv, program, run);
}
