#include "cyclictest_mode.hpp"

#include <sys/wait.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "subprocess.hpp"

namespace tfd::latency {
namespace {

std::optional<long long> parse_field(std::string_view& rest) {
    while (!rest.empty() && rest.front() == ' ') {
        rest.remove_prefix(1);
    }
    long long value = 0;
    auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (error != std::errc{}) {
        return std::nullopt;
    }
    rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
    return value;
}

class cyclictest_mode final : public mode {
  public:
    explicit cyclictest_mode(const run_config& config) : config_(config) {}

    void run_chunk(std::uint64_t periods, mode_stats& stats) override {
        // Its stderr is dropped: with --default-system it warns on every start.
        std::vector<std::string> args = arguments(periods + 1);
        subprocess child(args, {}, /*quiet=*/true);
        bool warm_up = true;  // the first wake-up of a chunk is not counted, as in every mode
        std::uint64_t seen = 0;
        while (auto line = child.read_line()) {
            auto lateness = parse_cyclictest_sample(*line);
            if (!lateness) {
                continue;
            }
            ++seen;
            if (std::exchange(warm_up, false)) {
                continue;
            }
            // cyclictest skips the deadlines that passed while it was late without counting
            // them; they are recovered here from the lateness, exactly as it skips them.
            stats.add(*lateness, periods_covered(*lateness, config_.period));
        }
        int status = child.wait();
        if (status != 0 || seen == 0) {
            std::string command;
            for (const std::string& arg : args) {
                command += (command.empty() ? "" : " ") + arg;
            }
            throw std::runtime_error("cyclictest exited with status " + std::to_string(status) +
                                     " after " + std::to_string(seen) + " samples; run '" +
                                     command + "' to see why");
        }
    }

  private:
    std::vector<std::string> arguments(std::uint64_t loops) const {
        // --default-system: cyclictest must not tune the machine (it would hold
        // /dev/cpu_dma_latency at 0 only while it runs, favouring itself); tfd-latency's
        // --pm-qos does that for every mode alike.
        std::vector<std::string> args{
            "cyclictest",
            "--default-system",
            "-q",
            "-v",
            "-N",
            "-t",
            "1",
            "-i",
            std::to_string(config_.period.count() / 1000),
            "-l",
            std::to_string(loops),
            "-c",
            config_.clock == clock_id::realtime ? "1" : "0",
        };
        if (config_.priority) {
            args.insert(args.end(), {"-p", std::to_string(*config_.priority)});
        }
        if (config_.cpu) {
            args.insert(args.end(), {"-a", std::to_string(*config_.cpu)});
        }
        if (config_.lock_memory) {
            args.emplace_back("-m");
        }
        return args;
    }

    run_config config_;
};

int run_quietly(const char* command) {
    int status = std::system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_cyclictest_sample(const std::string& line) {
    std::string_view rest = line;
    auto thread = parse_field(rest);
    if (!thread || rest.empty() || rest.front() != ':') {
        return std::nullopt;
    }
    rest.remove_prefix(1);
    auto cycle = parse_field(rest);
    if (!cycle || rest.empty() || rest.front() != ':') {
        return std::nullopt;
    }
    rest.remove_prefix(1);
    auto value = parse_field(rest);
    if (!value || !rest.empty()) {
        return std::nullopt;
    }
    return std::chrono::nanoseconds(*value);
}

std::string cyclictest_unavailable(const run_config& config) {
    if (config.clock != clock_id::monotonic && config.clock != clock_id::realtime) {
        return "cyclictest measures only the monotonic and realtime clocks";
    }
    if (config.period.count() % 1000 != 0) {
        return "cyclictest takes whole microseconds; the period is not one";
    }
    if (!program_exists("cyclictest")) {
        return "cyclictest is not installed (Debian package rt-tests)";
    }
    return {};
}

std::unique_ptr<mode> make_cyclictest_mode(const run_config& config) {
    return std::make_unique<cyclictest_mode>(config);
}

std::string ensure_cyclictest_installed() {
    if (program_exists("cyclictest")) {
        return {};
    }
    std::fprintf(stderr, "tfd-latency: cyclictest not found; installing rt-tests with apt-get\n");
    int status = run_quietly("apt-get install -y rt-tests >/dev/null 2>&1");
    if (status != 0) {
        // The package lists may simply be missing or stale.
        run_quietly("apt-get update >/dev/null 2>&1");
        status = run_quietly("apt-get install -y rt-tests >/dev/null 2>&1");
    }
    if (status != 0 || !program_exists("cyclictest")) {
        return "could not install cyclictest: 'apt-get install -y rt-tests' failed (exit " +
               std::to_string(status) +
               "); install it by hand (it needs root and a reachable Debian mirror) or run "
               "without --with-cyclictest";
    }
    return {};
}

}  // namespace tfd::latency
