#include "report.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cmath>

#include "tfd/time_convert.hpp"

namespace tfd::latency {

summary summarize(const mode_result& result, std::chrono::nanoseconds period) {
    const mode_stats& s = result.stats;
    summary out;
    out.name = result.info->name;
    out.periods = s.periods;
    out.samples = s.samples();
    out.overruns = s.overruns;
    if (s.samples() > 0) {
        out.min_ns = static_cast<double>(s.lateness.min().count());
        out.mean_ns = s.lateness.mean_ns();
        out.p50_ns = static_cast<double>(s.lateness.percentile(50).count());
        out.p99_ns = static_cast<double>(s.lateness.percentile(99).count());
        out.p999_ns = static_cast<double>(s.lateness.percentile(99.9).count());
        out.max_ns = static_cast<double>(s.lateness.max().count());
    }
    if (s.cpu && s.periods > 0) {
        out.cpu_percent = 100.0 * static_cast<double>(s.cpu->count()) /
                          (static_cast<double>(s.periods) * static_cast<double>(period.count()));
    }
    return out;
}

double log_axis::fraction(double ns) const {
    double f = std::log(std::max(ns, lo) / lo) / std::log(hi / lo);
    return std::clamp(f, 0.0, 1.0);
}

log_axis axis_for(const run_outcome& outcome) {
    double lo = 0;
    double hi = 0;
    for (const mode_result& m : outcome.modes) {
        if (m.stats.samples() == 0) {
            continue;
        }
        // A wake-up 0 ns late cannot sit on a log axis; 100 ns is below anything measured.
        double mn = std::max(100.0, static_cast<double>(m.stats.lateness.min().count()));
        double mx = std::max(mn, static_cast<double>(m.stats.lateness.max().count()));
        lo = lo == 0 ? mn : std::min(lo, mn);
        hi = std::max(hi, mx);
    }
    if (lo == 0) {
        return {};
    }
    // Round outwards to 1-2-5 steps so the axis labels are round numbers.
    auto down = [](double v) {
        double decade = std::pow(10.0, std::floor(std::log10(v)));
        for (double step : {5.0, 2.0, 1.0}) {
            if (step * decade <= v) {
                return step * decade;
            }
        }
        return decade;
    };
    auto up = [](double v) {
        double decade = std::pow(10.0, std::floor(std::log10(v)));
        for (double step : {1.0, 2.0, 5.0, 10.0}) {
            if (step * decade >= v) {
                return step * decade;
            }
        }
        return 10 * decade;
    };
    log_axis axis{down(lo), up(hi)};
    if (axis.hi <= axis.lo * 1.01) {
        axis.hi = axis.lo * 10;
    }
    return axis;
}

std::string micros(double ns) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", ns / 1000.0);
    return text;
}

std::string short_duration(double ns) {
    char text[32];
    if (ns < 1e3) {
        std::snprintf(text, sizeof text, "%gns", ns);
    } else if (ns < 1e6) {
        std::snprintf(text, sizeof text, "%gus", ns / 1e3);
    } else if (ns < 1e9) {
        std::snprintf(text, sizeof text, "%gms", ns / 1e6);
    } else {
        std::snprintf(text, sizeof text, "%gs", ns / 1e9);
    }
    return text;
}

void print_header(std::FILE* out, const options& opts, const run_outcome& outcome) {
    utsname system{};
    ::uname(&system);
    std::fprintf(out,
                 "tfd-latency: period %s, %llu periods per mode and thread, clock %s, %u "
                 "thread(s), %s, timer slack %s%s, rounds of %llu periods, %.1f s\n",
                 format_duration(opts.period).c_str(), static_cast<unsigned long long>(opts.count),
                 std::string(to_string(opts.clock)).c_str(), opts.threads,
                 outcome.scheduling.c_str(), format_duration(outcome.slack).c_str(),
                 opts.slack ? "" : " (default)", static_cast<unsigned long long>(opts.round),
                 outcome.seconds);
    std::string hogs = opts.hogs ? ", " + std::to_string(opts.hogs) + " CPU hog(s)" : "";
    std::fprintf(
        out, "kernel %s %s, %ld CPUs online%s%s%s%s\n", system.release, system.machine,
        ::sysconf(_SC_NPROCESSORS_ONLN), hogs.c_str(), outcome.memory_locked ? ", mlockall" : "",
        outcome.pm_qos_held ? ", cpu_dma_latency 0" : "", opts.cpus.empty() ? "" : ", pinned");
    for (const std::string& note : outcome.notes) {
        std::fprintf(out, "note: %s\n", note.c_str());
    }
}

void print_table(std::FILE* out, const run_outcome& outcome, std::chrono::nanoseconds period) {
    std::fprintf(out,
                 "\nlateness in microseconds (wake-up time - deadline); cpu%%: CPU time of "
                 "the measuring thread per period\n");
    std::fprintf(out, "%-15s %8s %8s %8s %8s %8s %8s %8s %8s %9s %6s\n", "mode", "periods",
                 "samples", "overruns", "min", "mean", "p50", "p99", "p99.9", "max", "cpu%");
    for (const mode_result& m : outcome.modes) {
        summary s = summarize(m, period);
        if (s.samples == 0) {
            std::fprintf(out, "%-15s %s\n", s.name.c_str(),
                         m.failed.empty() ? "no samples" : ("failed: " + m.failed).c_str());
            continue;
        }
        char cpu[16] = "-";
        if (s.cpu_percent >= 0) {
            std::snprintf(cpu, sizeof cpu, "%.1f", s.cpu_percent);
        }
        std::fprintf(out, "%-15s %8llu %8llu %8llu %8s %8s %8s %8s %8s %9s %6s\n", s.name.c_str(),
                     static_cast<unsigned long long>(s.periods),
                     static_cast<unsigned long long>(s.samples),
                     static_cast<unsigned long long>(s.overruns), micros(s.min_ns).c_str(),
                     micros(s.mean_ns).c_str(), micros(s.p50_ns).c_str(), micros(s.p99_ns).c_str(),
                     micros(s.p999_ns).c_str(), micros(s.max_ns).c_str(), cpu);
        if (!m.failed.empty()) {
            std::fprintf(out, "%-15s   (stopped early: %s)\n", "", m.failed.c_str());
        }
    }
}

void print_histogram(std::FILE* out, const run_outcome& outcome) {
    constexpr int bins = 60;
    static const char* const levels[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    log_axis axis = axis_for(outcome);
    std::fprintf(out, "\nhistogram: lateness on a log axis, bar height ~ log(count)\n");
    for (const mode_result& m : outcome.modes) {
        if (m.stats.samples() == 0) {
            continue;
        }
        std::vector<std::uint64_t> counts(bins, 0);
        for (std::size_t b = 0; b < latency_histogram::bucket_count; ++b) {
            if (std::uint64_t c = m.stats.lateness.count_at(b)) {
                double mid = 0.5 * static_cast<double>(latency_histogram::bucket_lower(b) +
                                                       latency_histogram::bucket_upper(b));
                int bin = std::min(bins - 1, static_cast<int>(axis.fraction(mid) * bins));
                counts[static_cast<std::size_t>(bin)] += c;
            }
        }
        std::uint64_t peak = *std::max_element(counts.begin(), counts.end());
        std::string bar;
        for (std::uint64_t c : counts) {
            int level = 0;
            if (c > 0) {
                double scaled =
                    std::log1p(static_cast<double>(c)) / std::log1p(static_cast<double>(peak));
                level = std::clamp(static_cast<int>(std::ceil(scaled * 8)), 1, 8);
            }
            bar += levels[level];
        }
        std::fprintf(out, "%-15s |%s|\n", m.info->name.c_str(), bar.c_str());
    }
    std::string left = short_duration(axis.lo);
    // The middle label names the 1-2-5 value nearest the middle of the axis, placed where
    // that value falls.
    double centre = std::sqrt(axis.lo * axis.hi);
    double decade = std::pow(10.0, std::floor(std::log10(centre)));
    double round_centre = decade;
    for (double step : {2.0, 5.0, 10.0}) {
        if (std::abs(std::log(step * decade / centre)) <
            std::abs(std::log(round_centre / centre))) {
            round_centre = step * decade;
        }
    }
    std::string middle = short_duration(round_centre);
    auto middle_at = static_cast<std::size_t>(axis.fraction(round_centre) * bins) + 1;
    std::string right = short_duration(axis.hi);
    std::string labels(bins + 2, ' ');
    labels.replace(0, left.size(), left);
    labels.replace(middle_at - std::min(middle_at, middle.size() / 2), middle.size(), middle);
    labels.replace(labels.size() - right.size(), right.size(), right);
    std::fprintf(out, "%-15s %s\n", "", labels.c_str());
}

namespace {

// The lowest figure any baseline reached, and which one; nullptr when there is none.
std::pair<double, const char*> best_baseline(const std::vector<summary>& all,
                                             const std::vector<const mode_result*>& modes,
                                             double summary::*figure) {
    std::pair<double, const char*> best{0, nullptr};
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (modes[i]->info->role == mode_role::baseline && all[i].samples > 0 &&
            (best.second == nullptr || all[i].*figure < best.first)) {
            best = {all[i].*figure, modes[i]->info->name.c_str()};
        }
    }
    return best;
}

}  // namespace

void print_ratios(std::FILE* out, const run_outcome& outcome, std::chrono::nanoseconds period) {
    std::vector<summary> all;
    std::vector<const mode_result*> modes;
    for (const mode_result& m : outcome.modes) {
        all.push_back(summarize(m, period));
        modes.push_back(&m);
    }
    auto p50 = best_baseline(all, modes, &summary::p50_ns);
    auto p99 = best_baseline(all, modes, &summary::p99_ns);
    if (p50.second == nullptr) {
        return;
    }
    std::fprintf(out,
                 "\nagainst the best raw baseline of this run (p50: %s %s us, p99: %s %s us); "
                 "goal <= 1.10\n",
                 p50.second, micros(p50.first).c_str(), p99.second, micros(p99.first).c_str());
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (modes[i]->info->role != mode_role::tfd || all[i].samples == 0) {
            continue;
        }
        double r50 = all[i].p50_ns / p50.first;
        double r99 = all[i].p99_ns / p99.first;
        std::string twin;
        for (std::size_t j = 0; j < all.size(); ++j) {
            if (all[j].name == modes[i]->info->twin && all[j].samples > 0) {
                char text[96];
                std::snprintf(text, sizeof text, "   vs its raw twin %s: p50 %.2fx  p99 %.2fx",
                              all[j].name.c_str(), all[i].p50_ns / all[j].p50_ns,
                              all[i].p99_ns / all[j].p99_ns);
                twin = text;
            }
        }
        std::fprintf(out, "%-15s p50 %.2fx  p99 %.2fx%s%s\n", all[i].name.c_str(), r50, r99,
                     r50 <= 1.10 && r99 <= 1.10 ? "" : " (above 1.10)", twin.c_str());
    }
}

}  // namespace tfd::latency
