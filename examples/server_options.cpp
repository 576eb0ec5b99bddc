// The example servers' command line and main(): each option's check and message, written once.
#include "server_options.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "printable.hpp"

namespace server_options {
namespace {

// The longest --duration or --idle: about 11.6 days, far inside 64-bit nanoseconds.
constexpr double max_seconds = 1e6;

[[noreturn]] void usage(const server& program, const std::string& problem) {
    std::fprintf(stderr, "%s: %s\nusage: %s\n", program.name, problem.c_str(), program.usage);
    std::exit(2);
}

[[noreturn]] void help(const server& program) {
    std::printf("%s: %s\nusage: %s\n", program.name, program.summary, program.usage);
    std::exit(std::fflush(stdout) == 0 ? 0 : 1);
}

// An option and its value as a message starts: "--port abc".  The value is escaped, and
// quoted when it is empty or holds a blank, so that what was typed can be seen.
std::string given(std::string_view option, std::string_view value) {
    std::string shown = printable::text(value);
    if (value.empty() || value.find_first_of(" \t") != std::string_view::npos) {
        shown = '"' + shown + '"';
    }
    return std::string(option) + " " + shown;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Digits only: no sign, no blanks, no base prefix.
std::uint16_t parse_port(const server& program, std::string_view text) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
        usage(program, given("--port", text) + ": not a port number (digits only, 0 to 65535)");
    }
    unsigned long port = 0;
    for (char c : text) {
        port = port * 10 + static_cast<unsigned long>(c - '0');
        if (port > 65535) {
            usage(program, given("--port", text) + ": out of range (0 to 65535)");
        }
    }
    return static_cast<std::uint16_t>(port);
}

// Not the alarm clocks: a timer on them needs CAP_WAKE_ALARM, which an example should not.
tfd::clock_id parse_clock(const server& program, std::string_view text) {
    std::optional<tfd::clock_id> clock = tfd::parse_clock_id(text);
    if (!clock || (*clock != tfd::clock_id::monotonic && *clock != tfd::clock_id::realtime &&
                   *clock != tfd::clock_id::boottime)) {
        usage(program, given("--clock", text) + ": not monotonic, realtime or boottime");
    }
    return *clock;
}

// A plain decimal number: an optional "-", digits with at most one ".", at least one digit,
// then an optional exponent ("e", an optional sign, digits).  No blanks, "+", hexadecimal,
// "inf" or "nan", all of which strtod() would take.
bool plain_decimal(std::string_view text) {
    std::size_t i = 0;
    auto digits = [&] {
        std::size_t start = i;
        while (i < text.size() && is_digit(text[i])) {
            ++i;
        }
        return i - start;
    };
    if (i < text.size() && text[i] == '-') {
        ++i;
    }
    std::size_t mantissa = digits();
    if (i < text.size() && text[i] == '.') {
        ++i;
        mantissa += digits();
    }
    if (mantissa == 0) {
        return false;
    }
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
            ++i;
        }
        if (digits() == 0) {
            return false;
        }
    }
    return i == text.size();
}

std::chrono::nanoseconds parse_seconds(const server& program, const char* text,
                                       std::string_view option) {
    if (!plain_decimal(text)) {
        usage(program, given(option, text) + ": not a plain decimal number of seconds");
    }
    errno = 0;
    char* end = nullptr;
    double seconds = std::strtod(text, &end);
    bool range_error = errno == ERANGE;
    if (*end != '\0' || text[0] == '-' || (seconds == 0 && !range_error)) {
        usage(program, given(option, text) + ": not a positive number of seconds");
    }
    // Overflow (1e400) and values under a nanosecond (1e-10, 1e-400) alike.
    if (range_error || seconds > max_seconds || seconds * 1e9 < 1) {
        usage(program, given(option, text) + ": out of range (0.000000001 to 1000000 seconds)");
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
            help(program);
        }
        bool known = option == "--port" || option == "--backend" || option == "--duration" ||
                     (option == "--clock" && program.takes_clock) ||
                     (option == "--idle" && program.default_idle);
        if (!known) {
            usage(program, "unknown option " + printable::text(option));
        }
        if (i + 1 >= argc) {
            usage(program, "missing value after " + std::string(option));
        }
        const char* value = argv[++i];
        if (option == "--port") {
            config.port = parse_port(program, value);
        } else if (option == "--clock") {
            config.clock = parse_clock(program, value);
        } else if (option == "--idle") {
            config.idle = parse_seconds(program, value, option);
        } else if (option == "--backend") {
            std::optional<tfd::backend_kind> backend = tfd::parse_backend_kind(value);
            if (!backend) {
                usage(program, given(option, value) + ": not epoll, poll or select");
            }
            config.backend = *backend;
        } else {
            config.duration = parse_seconds(program, value, option);
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
