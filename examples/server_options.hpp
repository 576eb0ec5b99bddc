// The command line of the example servers (timer_server, coro_timer_server,
// coro_echo_server), parsed in one place so that they accept and refuse the same way:
//
//   NAME [--port N] [--clock monotonic|realtime|boottime] [--idle SECONDS]
//        [--backend epoll|poll|select] [--duration SECONDS]
//
// --clock and --idle only for the servers that take them (an unknown option otherwise).
// --port takes digits only (0 to 65535); --duration and --idle a plain decimal number of
// seconds ("1.5", "2e-3"; no "+", blank, hexadecimal, inf or nan), from 1 ns to 1e6 s.
// Bad input prints "NAME: <option> <value>: <what is wrong>" and the usage to stderr, and
// exits with status 2; --help (or -h) prints the server's summary and the usage to stdout and
// exits 0.  run() is the rest of main() they share.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "tfd/backend_kind.hpp"
#include "tfd/clock.hpp"

namespace server_options {

struct settings {
    std::uint16_t port = 0;
    tfd::clock_id clock = tfd::clock_id::monotonic;
    tfd::backend_kind backend = tfd::backend_kind::epoll;
    std::optional<std::chrono::nanoseconds> duration;  // run this long, then exit 0
    std::chrono::nanoseconds idle{};                   // only where --idle is taken
};

// What one server accepts, and how it introduces itself.
struct server {
    const char* name;     // starts every message: "timer_server: ..."
    const char* summary;  // what --help says
    const char* usage;    // the usage line after "usage: ", wrapped as the server likes
    std::uint16_t default_port;
    bool takes_clock = false;                              // --clock
    std::optional<std::chrono::nanoseconds> default_idle;  // --idle, when set
};

// The settings argv asks for (the defaults where it says nothing); exits on bad input.
settings parse_arguments(int argc, char** argv, const server& program);

// The whole of a server's main(): parses argv, makes stdout line-buffered (so that every
// message shows as it happens, into a pipe or file too) and returns what `serve` returns;
// an exception escaping `serve` is printed as "NAME: <what>" and makes it 1.
int run(int argc, char** argv, const server& program, int (*serve)(const settings& config));

}  // namespace server_options
