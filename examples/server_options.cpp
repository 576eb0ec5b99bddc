// The example servers' command line and main(): each option's check and message, written once.
#include "server_options.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace server_options {
namespace {

[[noreturn]] void usage(const server& program, const std::string& problem) {
    std::fprintf(stderr, "%s: %s\nusage: %s\n", program.name, problem.c_str(), program.usage);
    std::exit(2);
}

std::uint16_t parse_port(const server& program, const char* text) {
    char* end = nullptr;
    unsigned long port = std::strtoul(text, &end, 10);
    if (*text == '\0' || *end != '\0' || port > 65535) {
        usage(program, "--port takes a number from 0 to 65535");
    }
    return static_cast<std::uint16_t>(port);
}

// Not the alarm clocks: a timer on them needs CAP_WAKE_ALARM, which an example should not.
tfd::clock_id parse_clock(const server& program, std::string_view text) {
    std::optional<tfd::clock_id> clock = tfd::parse_clock_id(text);
    if (!clock || (*clock != tfd::clock_id::monotonic && *clock != tfd::clock_id::realtime &&
                   *clock != tfd::clock_id::boottime)) {
        usage(program, "--clock takes monotonic, realtime or boottime");
    }
    return *clock;
}

std::chrono::nanoseconds parse_seconds(const server& program, const char* text,
                                       std::string_view option) {
    char* end = nullptr;
    double seconds = std::strtod(text, &end);
    if (*text == '\0' || *end != '\0' || !(seconds > 0) || seconds > 1e6) {
        usage(program, std::string(option) + " takes a positive number of seconds");
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
}

}  // namespace

settings parse_arguments(int argc, char** argv, const server& program) {
    settings config;
    config.port = program.default_port;
    config.idle = program.default_idle.value_or(std::chrono::nanoseconds::zero());
    for (int i = 1; i < argc; ++i) {
        std::string_view option = argv[i];
        if (option == "--help" || option == "-h") {
            usage(program, program.summary);
        }
        if (i + 1 >= argc) {
            usage(program, "missing value after " + std::string(option));
        }
        const char* value = argv[++i];
        if (option == "--port") {
            config.port = parse_port(program, value);
        } else if (option == "--clock" && program.takes_clock) {
            config.clock = parse_clock(program, value);
        } else if (option == "--idle" && program.default_idle) {
            config.idle = parse_seconds(program, value, option);
        } else if (option == "--backend") {
            std::optional<tfd::backend_kind> backend = tfd::parse_backend_kind(value);
            if (!backend) {
                usage(program, "--backend takes epoll, poll or select");
            }
            config.backend = *backend;
        } else if (option == "--duration") {
            config.duration = parse_seconds(program, value, option);
        } else {
            usage(program, "unknown option " + std::string(option));
        }
    }
    return config;
}

int run(int argc, char** argv, const server& program, int (*serve)(const settings& config)) {
    settings config = parse_arguments(argc, argv, program);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        return serve(config);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program.name, e.what());
        return 1;
    }
}

}  // namespace server_options
