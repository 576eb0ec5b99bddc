#include "options.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace tfd::latency {
namespace {

std::uint64_t parse_count(const std::string& text, const char* what) {
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value == 0) {
        throw usage_error(std::string(what) + ": expected a positive integer, got '" + text + "'");
    }
    return value;
}

// "0,2-3" -> {0, 2, 3}
std::vector<int> parse_cpu_list(const std::string& text) {
    std::vector<int> cpus;
    std::string_view rest = text;
    while (!rest.empty()) {
        std::string_view item = rest.substr(0, rest.find(','));
        rest.remove_prefix(std::min(rest.size(), item.size() + 1));
        std::string_view first = item.substr(0, item.find('-'));
        std::string_view last = item.size() > first.size() ? item.substr(first.size() + 1) : first;
        int from = -1;
        int to = -1;
        auto a = std::from_chars(first.data(), first.data() + first.size(), from);
        auto b = std::from_chars(last.data(), last.data() + last.size(), to);
        if (a.ec != std::errc{} || b.ec != std::errc{} || from < 0 || to < from ||
            a.ptr != first.data() + first.size() || b.ptr != last.data() + last.size()) {
            throw usage_error("--cpu: expected a list such as 0,2-3, got '" + text + "'");
        }
        for (int cpu = from; cpu <= to; ++cpu) {
            cpus.push_back(cpu);
        }
    }
    if (cpus.empty()) {
        throw usage_error("--cpu: empty CPU list");
    }
    return cpus;
}

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> parts;
    std::string_view rest = text;
    while (!rest.empty()) {
        std::string_view item = rest.substr(0, rest.find(','));
        rest.remove_prefix(std::min(rest.size(), item.size() + 1));
        if (!item.empty()) {
            parts.emplace_back(item);
        }
    }
    return parts;
}

}  // namespace

std::chrono::nanoseconds parse_duration(const std::string& text, const char* what) {
    // Parsed by hand rather than with strtod so "1e3ms" and locales do not sneak in.
    std::size_t digits = 0;
    while (digits < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) {
        ++digits;
    }
    std::string number = text.substr(0, digits);
    std::string unit = text.substr(digits);
    double scale = 0;
    if (unit.empty() || unit == "us") {
        scale = 1e3;
    } else if (unit == "ns") {
        scale = 1;
    } else if (unit == "ms") {
        scale = 1e6;
    } else if (unit == "s") {
        scale = 1e9;
    }
    char* end = nullptr;
    double value = number.empty() ? -1 : std::strtod(number.c_str(), &end);
    if (scale == 0 || value <= 0 || end != number.c_str() + number.size() ||
        value * scale > 3600e9) {
        throw usage_error(std::string(what) + ": expected a positive duration such as 1ms, 250us " +
                          "or 500ns (at most 1 hour), got '" + text + "'");
    }
    auto ns = static_cast<std::int64_t>(std::llround(value * scale));
    if (ns < 1) {
        throw usage_error(std::string(what) + ": shorter than 1ns: '" + text + "'");
    }
    return std::chrono::nanoseconds(ns);
}

const char* usage_text() {
    return R"(usage: tfd-latency [options]

Measures how late periodic wake-ups are, as cyclictest does: each wake-up has an absolute
deadline (the previous one plus the period); lateness = wake time - deadline; a period that
passes without a wake-up of its own is counted as an overrun, never skipped silently.
The modes run alternately, in rounds, so background noise hits all of them alike.

  --period DUR        period (default 1ms); units ns, us, ms, s; a bare number is us
  --count N           periods per mode and thread (default 5000)
  --duration DUR      instead of --count: measure each mode for this long
  --clock NAME        monotonic (default), realtime, boottime, realtime_alarm, boottime_alarm
  --threads N         measuring threads, each runs every mode (default 1)
  --priority P        SCHED_FIFO priority 1-99 for the measuring threads (needs
                      CAP_SYS_NICE or RLIMIT_RTPRIO); refused -> runs SCHED_OTHER, says so
  --cpu LIST          pin thread i to the i-th CPU of LIST (e.g. 0 or 0,1 or 0-1)
  --mlockall          lock all memory (mlockall MCL_CURRENT|MCL_FUTURE)
  --slack DUR         timer slack of the measuring threads (PR_SET_TIMERSLACK)
  --hog N             run N busy-looping SCHED_OTHER threads during the measurement
                      (pinned like the measuring threads), to see behaviour under load
  --pm-qos            hold /dev/cpu_dma_latency at 0 us for the whole run (what
                      cyclictest does by itself unless --default-system)
  --modes LIST        comma-separated modes (default: all available; see --list-modes)
  --round N           periods per mode per round (default 100)
  --spin-margin DUR   how early timerfd-spin wakes before each deadline (default 200us)
  --with-cyclictest   also run cyclictest (rt-tests; installed with apt-get if missing)
                      in the same rounds, with the same period and count
  --python EXE        interpreter for the python mode (default python3)
  --json FILE         write every figure and histogram as JSON
  --svg FILE          plot the distributions side by side
  --no-histogram      do not print the terminal histogram
  --list-modes        list the modes and whether they are available, then exit
  --help
)";
}

options parse_options(int argc, char** argv) {
    options result;
    for (int i = 0; i < argc; ++i) {
        if (i > 0) {
            result.command_line += ' ';
        }
        result.command_line += argv[i];
    }
    std::optional<std::chrono::nanoseconds> duration;
    bool count_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        // Accept both "--name value" and "--name=value".
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        auto next = [&]() -> std::string {
            if (!value.empty()) {
                return value;
            }
            if (i + 1 >= argc) {
                throw usage_error(arg + ": missing value");
            }
            return argv[++i];
        };
        if (arg == "--period") {
            result.period = parse_duration(next(), "--period");
        } else if (arg == "--count") {
            result.count = parse_count(next(), "--count");
            count_given = true;
        } else if (arg == "--duration") {
            duration = parse_duration(next(), "--duration");
        } else if (arg == "--clock") {
            std::string name = next();
            auto clock = parse_clock_id(name);
            if (!clock) {
                throw usage_error("--clock: unknown clock '" + name + "'");
            }
            result.clock = *clock;
        } else if (arg == "--threads") {
            result.threads = static_cast<unsigned>(parse_count(next(), "--threads"));
        } else if (arg == "--priority") {
            auto p = parse_count(next(), "--priority");
            if (p > 99) {
                throw usage_error("--priority: SCHED_FIFO priorities are 1 to 99");
            }
            result.priority = static_cast<int>(p);
        } else if (arg == "--cpu") {
            result.cpus = parse_cpu_list(next());
        } else if (arg == "--mlockall") {
            result.lock_memory = true;
        } else if (arg == "--slack") {
            result.slack = parse_duration(next(), "--slack");
        } else if (arg == "--hog") {
            result.hogs = static_cast<unsigned>(parse_count(next(), "--hog"));
        } else if (arg == "--pm-qos") {
            result.pm_qos = true;
        } else if (arg == "--modes") {
            result.modes = split(next());
        } else if (arg == "--spin-margin") {
            result.spin_margin = parse_duration(next(), "--spin-margin");
        } else if (arg == "--round") {
            result.round = parse_count(next(), "--round");
        } else if (arg == "--with-cyclictest") {
            result.with_cyclictest = true;
        } else if (arg == "--python") {
            result.python = next();
        } else if (arg == "--json") {
            result.json_file = next();
        } else if (arg == "--svg") {
            result.svg_file = next();
        } else if (arg == "--no-histogram") {
            result.show_histogram = false;
        } else if (arg == "--list-modes") {
            result.list_modes = true;
        } else if (arg == "--help" || arg == "-h") {
            result.help = true;
        } else {
            throw usage_error("unknown option '" + arg + "' (see --help)");
        }
    }
    if (duration) {
        if (count_given) {
            throw usage_error("--count and --duration exclude each other");
        }
        result.count = std::max<std::uint64_t>(
            1, static_cast<std::uint64_t>(duration->count() / result.period.count()));
    }
    return result;
}

}  // namespace tfd::latency
