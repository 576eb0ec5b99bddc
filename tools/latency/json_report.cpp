// write_json: every figure of the run, plus each mode's non-empty histogram buckets, so that
// other tools can redraw or compare runs.
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include "report.hpp"

namespace tfd::latency {
namespace {

std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                    out += escaped;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string number(double value) {
    std::ostringstream text;
    text.precision(15);
    text << value;
    return text.str();
}

void write_mode(std::ostream& out, const mode_result& m, std::chrono::nanoseconds period) {
    summary s = summarize(m, period);
    out << "    {\"name\": " << quoted(s.name)
        << ", \"description\": " << quoted(m.info->description)
        << ",\n     \"periods\": " << s.periods << ", \"samples\": " << s.samples
        << ", \"overruns\": " << s.overruns << ", \"negatives\": " << m.stats.lateness.negatives()
        << ",\n     \"min_ns\": " << number(s.min_ns) << ", \"mean_ns\": " << number(s.mean_ns)
        << ", \"p50_ns\": " << number(s.p50_ns) << ", \"p99_ns\": " << number(s.p99_ns)
        << ", \"p99_9_ns\": " << number(s.p999_ns) << ", \"max_ns\": " << number(s.max_ns)
        << ", \"cpu_percent\": " << (s.cpu_percent >= 0 ? number(s.cpu_percent) : "null")
        << ",\n     \"failed\": " << (m.failed.empty() ? "null" : quoted(m.failed))
        << ",\n     \"histogram\": [";
    bool first = true;
    for (std::size_t b = 0; b < latency_histogram::bucket_count; ++b) {
        if (std::uint64_t c = m.stats.lateness.count_at(b)) {
            out << (first ? "" : ", ") << "[" << latency_histogram::bucket_lower(b) << ", "
                << latency_histogram::bucket_upper(b) << ", " << c << "]";
            first = false;
        }
    }
    out << "]}";
}

}  // namespace

void write_json(const std::string& path, const options& opts, const run_outcome& outcome) {
    std::ofstream out(path);
    if (!out) {
        throw std::system_error(errno, std::system_category(), "--json: cannot write " + path);
    }
    utsname system{};
    ::uname(&system);
    out << "{\n  \"tool\": \"tfd-latency\",\n  \"command\": " << quoted(opts.command_line)
        << ",\n  \"kernel\": " << quoted(system.release)
        << ",\n  \"cpus_online\": " << ::sysconf(_SC_NPROCESSORS_ONLN)
        << ",\n  \"config\": {\"period_ns\": " << opts.period.count()
        << ", \"count\": " << opts.count
        << ", \"clock\": " << quoted(std::string(to_string(opts.clock)))
        << ", \"threads\": " << opts.threads << ", \"round\": " << opts.round
        << ", \"scheduling\": " << quoted(outcome.scheduling)
        << ", \"timer_slack_ns\": " << outcome.slack.count()
        << ", \"mlockall\": " << (outcome.memory_locked ? "true" : "false")
        << ", \"pm_qos\": " << (outcome.pm_qos_held ? "true" : "false")
        << ", \"hogs\": " << opts.hogs << "},\n  \"seconds\": " << number(outcome.seconds)
        << ",\n  \"notes\": [";
    for (std::size_t i = 0; i < outcome.notes.size(); ++i) {
        out << (i ? ", " : "") << quoted(outcome.notes[i]);
    }
    out << "],\n  \"modes\": [\n";
    for (std::size_t i = 0; i < outcome.modes.size(); ++i) {
        write_mode(out, outcome.modes[i], opts.period);
        out << (i + 1 < outcome.modes.size() ? ",\n" : "\n");
    }
    out << "  ]\n}\n";
    if (!out.flush()) {
        throw std::system_error(errno, std::system_category(), "--json: cannot write " + path);
    }
}

}  // namespace tfd::latency
