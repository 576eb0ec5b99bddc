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
#include <cstdlib>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "tfd/async_connection.hpp"
#include "tfd/async_listener.hpp"
#include "tfd/task.hpp"
#include "tfd/with_timeout.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::chrono::nanoseconds close_timeout = 1s;

struct settings {
    std::uint16_t port = 7777;
    std::chrono::nanoseconds idle = 10s;
    tfd::backend_kind backend = tfd::backend_kind::epoll;
    std::optional<std::chrono::nanoseconds> duration;
};

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

[[noreturn]] void usage(const char* problem) {
    std::fprintf(stderr,
                 "coro_echo_server: %s\n"
                 "usage: coro_echo_server [--port N] [--idle SECONDS] "
                 "[--backend epoll|poll|select] [--duration SECONDS]\n",
                 problem);
    std::exit(2);
}

std::chrono::nanoseconds parse_seconds(const char* text, const char* option) {
    char* end = nullptr;
    double seconds = std::strtod(text, &end);
    if (*text == '\0' || *end != '\0' || !(seconds > 0) || seconds > 1e6) {
        usage((std::string(option) + " takes a positive number of seconds").c_str());
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
}

settings parse_arguments(int argc, char** argv) {
    settings config;
    for (int i = 1; i < argc; ++i) {
        std::string_view option = argv[i];
        if (option == "--help" || option == "-h") {
            usage("a line echo server with an idle timeout per connection");
        }
        if (i + 1 >= argc) {
            usage(("missing value after " + std::string(option)).c_str());
        }
        std::string_view value = argv[++i];
        if (option == "--port") {
            char* end = nullptr;
            unsigned long port = std::strtoul(argv[i], &end, 10);
            if (value.empty() || *end != '\0' || port > 65535) {
                usage("--port takes a number from 0 to 65535");
            }
            config.port = static_cast<std::uint16_t>(port);
        } else if (option == "--idle") {
            config.idle = parse_seconds(argv[i], "--idle");
        } else if (option == "--duration") {
            config.duration = parse_seconds(argv[i], "--duration");
        } else if (option == "--backend") {
            auto backend = tfd::parse_backend_kind(value);
            if (!backend) {
                usage("--backend takes epoll, poll or select");
            }
            config.backend = *backend;
        } else {
            usage(("unknown option " + std::string(option)).c_str());
        }
    }
    return config;
}

int run(const settings& config) {
    tfd::event_loop loop(config.backend);
    std::stop_source stopping;
    tfd::async_listener listener(loop, "127.0.0.1", config.port);
    loop.on_task_exception([&stopping](std::exception_ptr error) {
        try {
            std::rethrow_exception(error);
        } catch (const tfd::operation_cancelled&) {
            // the way every coroutine ends when the server stops
        } catch (const std::exception& e) {
            std::fprintf(stderr, "coro_echo_server: %s\n", e.what());
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
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    settings config = parse_arguments(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        return run(config);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "coro_echo_server: %s\n", e.what());
        return 1;
    }
}
