// Timers at scale: tfd against libev, libuv, libevent, asio and sd-event, each through its
// natural API, in one run with rounds alternating between contenders.  Prints the median of
// each figure and tfd's ratio to the best peer as a Markdown table, and writes every raw
// figure to a JSON file.
//
// Workloads:
//   churn  N timers with random timeouts in [1 s, 100 s] (fixed seed): start all, refresh
//          all in random order, cancel all in random order; ns per operation.
//   fire   M timers at random offsets over 1 s, run until all fired; process CPU ns per
//          fired timer (user + system, waits excluded), and how late callbacks ran.
//   idle   K timers of one duration (30 s), each refreshed P times in connection order;
//          ns per refresh.
//   memory peak RSS growth per pending timer (each with a one-pointer lambda or the
//          library's callback + user-data fields), measured in a fresh process per
//          contender (this binary re-executed), N timers.
//
// Usage: timers_bench [--rounds R] [--churn N] [--fire M] [--idle K] [--idle-passes P]
//                     [--memory N] [--only name,name] [--json path] [--fresh 0|1]
// --fresh 1 runs each contender's round in a fresh process (first use of every page timed,
// as a short-lived program sees it); the default runs every round in one warm process.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "contender.hpp"

namespace tfd::bench::timers {

std::unique_ptr<contender> make_tfd_wheel();
std::unique_ptr<contender> make_tfd_wheel_slack(std::int64_t slack_ns);
std::unique_ptr<contender> make_tfd_heap();
std::unique_ptr<contender> make_tfd_loop(std::int64_t coalescing_ns);
std::unique_ptr<contender> make_tfd_embedded(std::int64_t coalescing_ns, bool spin, bool timed);
std::unique_ptr<contender> make_libev();
std::unique_ptr<contender> make_libuv();
std::unique_ptr<contender> make_libevent();
std::unique_ptr<contender> make_asio();
std::unique_ptr<contender> make_sdevent();

std::vector<std::unique_ptr<contender>> make_contenders() {
    std::vector<std::unique_ptr<contender>> all;
    all.push_back(make_tfd_wheel());
    all.push_back(make_tfd_heap());
    // Coalesced wake-ups: 50 us is the kernel's default timer slack for epoll_wait and
    // nanosleep timeouts; 1 ms is the granularity of libev's and libuv's own clocks.
    all.push_back(make_tfd_wheel_slack(50'000));
    all.push_back(make_tfd_wheel_slack(1'000'000));
    all.push_back(make_tfd_loop(0));
    all.push_back(make_tfd_loop(1'000'000));
    all.push_back(make_tfd_embedded(0, true, false));
    all.push_back(make_tfd_embedded(0, false, false));  // the same without spin_below
    all.push_back(make_tfd_embedded(0, true, true));    // with timed waits
    all.push_back(make_tfd_embedded(1'000'000, true, false));
#ifdef TFD_BENCH_LIBEV
    all.push_back(make_libev());
#endif
#ifdef TFD_BENCH_LIBUV
    all.push_back(make_libuv());
#endif
#ifdef TFD_BENCH_LIBEVENT
    all.push_back(make_libevent());
#endif
#ifdef TFD_BENCH_ASIO
    all.push_back(make_asio());
#endif
#ifdef TFD_BENCH_SDEVENT
    all.push_back(make_sdevent());
#endif
    return all;
}

namespace {

struct options {
    unsigned rounds = 5;
    std::size_t churn = 1'000'000;
    std::size_t fire = 200'000;
    std::size_t idle = 1'000'000;
    unsigned idle_passes = 3;
    std::size_t memory = 1'000'000;
    std::string only;
    std::string json = "timers_bench.json";
    // 1: each contender's round runs in a fresh process (this binary re-executed), so no
    // contender gains from memory an earlier round faulted in; 0: all rounds in this one.
    unsigned fresh = 0;
};

struct round_result {
    churn_result churn;
    fire_result fire;
    double idle = 0;
};

struct samples {
    std::vector<double> start, refresh, cancel, fire_cpu, fire_late, fire_max_late, idle, memory;
    std::size_t early = 0;
};

bool is_tfd(const std::string& name) {
    return name.rfind("tfd", 0) == 0;
}

double median(std::vector<double> v) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const std::size_t mid = v.size() / 2;
    return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

workload make_workload(const options& o) {
    std::mt19937_64 rng(5);  // fixed seed: every contender sees the same timers
    workload w;
    std::uniform_int_distribution<std::int64_t> churn_dist(ns_per_s, 100 * ns_per_s);
    for (std::size_t i = 0; i < o.churn; ++i) {
        w.churn_timeouts.push_back(churn_dist(rng));
        w.churn_refresh_timeouts.push_back(churn_dist(rng));
    }
    w.refresh_order.resize(o.churn);
    std::iota(w.refresh_order.begin(), w.refresh_order.end(), 0u);
    w.cancel_order = w.refresh_order;
    std::shuffle(w.refresh_order.begin(), w.refresh_order.end(), rng);
    std::shuffle(w.cancel_order.begin(), w.cancel_order.end(), rng);
    std::uniform_int_distribution<std::int64_t> fire_dist(0, ns_per_s - 1);
    for (std::size_t i = 0; i < o.fire; ++i) {
        w.fire_offsets.push_back(fire_dist(rng));
    }
    w.idle_n = o.idle;
    w.idle_passes = o.idle_passes;
    return w;
}

long vm_hwm_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::strtol(line.c_str() + 6, nullptr, 10);
        }
    }
    return -1;
}

// In the re-executed child: peak RSS growth per pending timer.
int memory_child(const std::string& name, std::size_t n) {
    for (auto& c : make_contenders()) {
        if (c->name() != name) {
            continue;
        }
        // Reset the high-water mark to the current RSS (Linux >= 4.0), then measure.
        if (FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
            std::fputs("5", f);
            std::fclose(f);
        }
        const long before = vm_hwm_kib();
        c->hold_pending(n);
        const long after = vm_hwm_kib();
        std::printf("%.2f\n",
                    static_cast<double>(after - before) * 1024.0 / static_cast<double>(n));
        std::fflush(stdout);
        std::_Exit(0);  // no teardown: the timers stay pending to the end
    }
    return 2;
}

round_result run_round(contender& c, const workload& w) {
    round_result r;
    r.churn = c.churn(w);
    r.fire = c.fire(w);
    r.idle = c.idle(w);
    return r;
}

// In the re-executed child: one round of one contender, printed as numbers.
int round_child(const std::string& name, const workload& w) {
    for (auto& c : make_contenders()) {
        if (c->name() != name) {
            continue;
        }
        const round_result r = run_round(*c, w);
        std::printf("%.17g %.17g %.17g %.17g %.17g %.17g %zu %.17g\n", r.churn.start_ns,
                    r.churn.refresh_ns, r.churn.cancel_ns, r.fire.cpu_ns_per_timer,
                    r.fire.mean_late_us, r.fire.max_late_us, r.fire.early, r.idle);
        std::fflush(stdout);
        std::_Exit(0);
    }
    return 2;
}

// Runs `args` (this binary's options) in a child and returns what it printed.
std::string run_child(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe(fds) != 0) {
        return {};
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], 1);
        ::close(fds[0]);
        ::close(fds[1]);
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>("timers_bench"));
        for (const std::string& a : args) {
            argv.push_back(const_cast<char*>(a.c_str()));
        }
        argv.push_back(nullptr);
        ::execv("/proc/self/exe", argv.data());
        std::_Exit(127);
    }
    ::close(fds[1]);
    std::string out;
    char buf[256];
    ssize_t got = 0;
    while ((got = ::read(fds[0], buf, sizeof buf)) > 0) {
        out.append(buf, static_cast<std::size_t>(got));
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return out;
}

round_result run_fresh_round(const std::string& name, const options& o) {
    const std::string out =
        run_child({"--round-child", name, "--churn", std::to_string(o.churn), "--fire",
                   std::to_string(o.fire), "--idle", std::to_string(o.idle), "--idle-passes",
                   std::to_string(o.idle_passes)});
    round_result r;
    std::istringstream in(out);
    in >> r.churn.start_ns >> r.churn.refresh_ns >> r.churn.cancel_ns >> r.fire.cpu_ns_per_timer >>
        r.fire.mean_late_us >> r.fire.max_late_us >> r.fire.early >> r.idle;
    if (!in) {
        std::fprintf(stderr, "timers_bench: the fresh process for %s failed\n", name.c_str());
        std::exit(1);
    }
    return r;
}

double run_memory_probe(const std::string& name, std::size_t n) {
    const std::string out = run_child({"--memory-child", name, std::to_string(n)});
    return out.empty() ? -1 : std::strtod(out.c_str(), nullptr);
}

std::string json_array(const std::vector<double>& v) {
    std::ostringstream s;
    s << '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
        s << (i ? "," : "") << v[i];
    }
    s << ']';
    return s.str();
}

std::string json_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

void write_json(const options& o, const std::vector<std::unique_ptr<contender>>& cs,
                const std::map<std::string, samples>& all, const samples& floor) {
    std::ofstream f(o.json);
    f << "{\n  \"config\": {\"rounds\": " << o.rounds << ", \"churn\": " << o.churn
      << ", \"fire\": " << o.fire << ", \"idle\": " << o.idle
      << ", \"idle_passes\": " << o.idle_passes << ", \"memory\": " << o.memory << "},\n"
      << "  \"contenders\": {\n";
    for (std::size_t i = 0; i < cs.size(); ++i) {
        const samples& s = all.at(cs[i]->name());
        f << "    \"" << cs[i]->name() << "\": {\"how\": \"" << json_escape(cs[i]->how())
          << "\", \"start_ns\": " << json_array(s.start)
          << ", \"refresh_ns\": " << json_array(s.refresh)
          << ", \"cancel_ns\": " << json_array(s.cancel)
          << ", \"fire_cpu_ns_per_timer\": " << json_array(s.fire_cpu)
          << ", \"fire_mean_late_us\": " << json_array(s.fire_late)
          << ", \"fire_max_late_us\": " << json_array(s.fire_max_late)
          << ", \"fire_early_callbacks\": " << s.early
          << ", \"idle_refresh_ns\": " << json_array(s.idle)
          << ", \"memory_bytes_per_timer\": " << json_array(s.memory) << "}"
          << (i + 1 < cs.size() ? "," : "") << "\n";
    }
    f << "  },\n  \"floor\": {\"start_ns\": " << json_array(floor.start)
      << ", \"refresh_ns\": " << json_array(floor.refresh)
      << ", \"cancel_ns\": " << json_array(floor.cancel) << "}\n}\n";
}

struct metric {
    const char* label;
    std::vector<double> samples::*field;
    bool ratio;  // lower is better and a ratio to the best peer makes sense
};

// The median over rounds of (tfd's figure / the best peer's figure in the same round): the
// machine's load drifts between rounds, and a ratio within one round cancels most of that.
double round_ratio(const std::vector<std::unique_ptr<contender>>& cs,
                   const std::map<std::string, samples>& all, const std::string& ours,
                   std::vector<double> samples::*field) {
    const std::vector<double>& mine = all.at(ours).*field;
    std::vector<double> ratios;
    for (std::size_t r = 0; r < mine.size(); ++r) {
        double best = 0;
        for (const auto& c : cs) {
            const std::vector<double>& theirs = all.at(c->name()).*field;
            if (!is_tfd(c->name()) && r < theirs.size() && (best == 0 || theirs[r] < best)) {
                best = theirs[r];
            }
        }
        if (best > 0) {
            ratios.push_back(mine[r] / best);
        }
    }
    return median(ratios);
}

void print_table(const std::vector<std::unique_ptr<contender>>& cs,
                 const std::map<std::string, samples>& all) {
    const metric metrics[] = {
        {"churn start (ns/op)", &samples::start, true},
        {"churn refresh (ns/op)", &samples::refresh, true},
        {"churn cancel (ns/op)", &samples::cancel, true},
        {"fire: CPU per fired timer (ns)", &samples::fire_cpu, true},
        {"fire: mean lateness (us)", &samples::fire_late, false},
        {"fire: max lateness (us)", &samples::fire_max_late, false},
        {"idle timeout refresh (ns/op)", &samples::idle, true},
        {"memory per pending timer (B)", &samples::memory, true},
    };
    std::vector<std::string> ours;
    std::printf("\n| metric |");
    for (const auto& c : cs) {
        std::printf(" %s |", c->name().c_str());
        if (is_tfd(c->name())) {
            ours.push_back(c->name());
        }
    }
    for (const std::string& t : ours) {
        std::printf(" %s / best peer |", t.c_str());
    }
    std::printf("\n|---|");
    for (std::size_t i = 0; i < cs.size() + ours.size(); ++i) {
        std::printf("---:|");
    }
    std::printf("\n");
    for (const metric& m : metrics) {
        std::printf("| %s |", m.label);
        double best_peer = 0;
        bool have_peer = false;
        for (const auto& c : cs) {
            const double v = median(all.at(c->name()).*m.field);
            std::printf(v >= 100 ? " %.0f |" : " %.1f |", v);
            if (!is_tfd(c->name()) && (!have_peer || v < best_peer)) {
                best_peer = v;
                have_peer = true;
            }
        }
        for (const std::string& t : ours) {
            if (m.ratio && have_peer && best_peer > 0) {
                std::printf(" %.2f |", round_ratio(cs, all, t, m.field));
            } else {
                std::printf(" - |");
            }
        }
        std::printf("\n");
    }
    std::printf(
        "\nFigures are medians over rounds; a ratio is the median over rounds of tfd's "
        "figure divided by the best peer's in the same round (below 1: tfd is better).\n");
    std::printf("\nEarly callbacks in the fire workload (deadline not yet reached):");
    for (const auto& c : cs) {
        std::printf(" %s %zu;", c->name().c_str(), all.at(c->name()).early);
    }
    std::printf("\n\nWhat was measured:\n");
    for (const auto& c : cs) {
        std::printf("- %s: %s\n", c->name().c_str(), c->how().c_str());
    }
}

// The churn workload's memory floor (churn_floor) and its ratio to the best peer, per row:
// what fraction of the best peer's time any timer library must spend on the first touch of
// the timer alone.
void print_floor(const std::vector<std::unique_ptr<contender>>& cs,
                 const std::map<std::string, samples>& all, const samples& floor) {
    struct row {
        const char* label;
        std::vector<double> samples::*field;
    };
    const row rows[] = {
        {"start", &samples::start}, {"refresh", &samples::refresh}, {"cancel", &samples::cancel}};
    std::printf(
        "\nMemory floor of the churn rows (one load and one store on a 48-byte record per "
        "operation, the same orders, no queue; run first in every round):");
    for (const row& r : rows) {
        std::vector<double> ratios;
        const std::vector<double>& mine = floor.*r.field;
        for (std::size_t k = 0; k < mine.size(); ++k) {
            double best = 0;
            for (const auto& c : cs) {
                const std::vector<double>& theirs = all.at(c->name()).*r.field;
                if (!is_tfd(c->name()) && k < theirs.size() && (best == 0 || theirs[k] < best)) {
                    best = theirs[k];
                }
            }
            if (best > 0) {
                ratios.push_back(mine[k] / best);
            }
        }
        std::printf(" %s %.1f ns", r.label, median(mine));
        if (!ratios.empty()) {
            std::printf(" (%.2f of the best peer)", median(ratios));
        }
        std::printf(r.field == &samples::cancel ? ".\n" : ";");
    }
}

bool parse(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; i += 2) {  // every option takes a value
        const std::string arg = argv[i];
        const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
        if (value == nullptr) {
            return false;
        }
        if (arg == "--rounds") {
            o.rounds = static_cast<unsigned>(std::strtoul(value, nullptr, 10));
        } else if (arg == "--churn") {
            o.churn = std::strtoull(value, nullptr, 10);
        } else if (arg == "--fire") {
            o.fire = std::strtoull(value, nullptr, 10);
        } else if (arg == "--idle") {
            o.idle = std::strtoull(value, nullptr, 10);
        } else if (arg == "--idle-passes") {
            o.idle_passes = static_cast<unsigned>(std::strtoul(value, nullptr, 10));
        } else if (arg == "--memory") {
            o.memory = std::strtoull(value, nullptr, 10);
        } else if (arg == "--only") {
            o.only = value;
        } else if (arg == "--json") {
            o.json = value;
        } else if (arg == "--fresh") {
            o.fresh = static_cast<unsigned>(std::strtoul(value, nullptr, 10));
        } else {
            return false;
        }
    }
    return o.rounds > 0 && o.churn > 0 && o.fire > 0 && o.idle > 0 && o.memory > 0;
}

}  // namespace

int run_bench(int argc, char** argv) {
    if (argc == 4 && std::strcmp(argv[1], "--memory-child") == 0) {
        return memory_child(argv[2], std::strtoull(argv[3], nullptr, 10));
    }
    options o;
    if (argc >= 3 && std::strcmp(argv[1], "--round-child") == 0) {
        const std::string name = argv[2];
        options child;
        std::vector<char*> rest{argv[0]};
        rest.insert(rest.end(), argv + 3, argv + argc);
        if (!parse(static_cast<int>(rest.size()), rest.data(), child)) {
            return 2;
        }
        return round_child(name, make_workload(child));
    }
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr,
                     "usage: %s [--rounds R] [--churn N] [--fire M] [--idle K] "
                     "[--idle-passes P] [--memory N] [--only a,b] [--json path] [--fresh 0|1]\n",
                     argv[0]);
        return 2;
    }
    std::vector<std::unique_ptr<contender>> cs;
    for (auto& c : make_contenders()) {
        if (o.only.empty() ||
            ("," + o.only + ",").find("," + c->name() + ",") != std::string::npos) {
            cs.push_back(std::move(c));
        }
    }
    const workload w = make_workload(o);
    samples floor;  // churn_floor, a reference line: one round each time, first
    std::map<std::string, samples> all;
    for (const auto& c : cs) {
        all[c->name()];
    }
    for (unsigned round = 0; round < o.rounds; ++round) {
        std::fprintf(stderr, "round %u/%u: floor", round + 1, o.rounds);
        const churn_result fl = churn_floor(w);
        floor.start.push_back(fl.start_ns);
        floor.refresh.push_back(fl.refresh_ns);
        floor.cancel.push_back(fl.cancel_ns);
        // Rotate the order so that no contender always runs first (or right after another).
        for (std::size_t k = 0; k < cs.size(); ++k) {
            contender& c = *cs[(k + round) % cs.size()];
            samples& s = all[c.name()];
            std::fprintf(stderr, " %s", c.name().c_str());
            const round_result r = o.fresh != 0 ? run_fresh_round(c.name(), o) : run_round(c, w);
            const churn_result& ch = r.churn;
            s.start.push_back(ch.start_ns);
            s.refresh.push_back(ch.refresh_ns);
            s.cancel.push_back(ch.cancel_ns);
            const fire_result& f = r.fire;
            s.fire_cpu.push_back(f.cpu_ns_per_timer);
            s.fire_late.push_back(f.mean_late_us);
            s.fire_max_late.push_back(f.max_late_us);
            s.early += f.early;
            s.idle.push_back(r.idle);
        }
        std::fprintf(stderr, "\n");
    }
    // Memory: three fresh processes per contender, alternating.
    for (unsigned rep = 0; rep < 3; ++rep) {
        for (const auto& c : cs) {
            all[c->name()].memory.push_back(run_memory_probe(c->name(), o.memory));
        }
    }
    std::printf(
        "timers_bench: %u rounds (%s); churn %zu timers, fire %zu over 1 s, idle %zu x %u "
        "refreshes, memory %zu pending timers\n",
        o.rounds, o.fresh != 0 ? "a fresh process per contender and round" : "warm: one process",
        o.churn, o.fire, o.idle, o.idle_passes, o.memory);
    print_table(cs, all);
    print_floor(cs, all, floor);
    write_json(o, cs, all, floor);
    std::printf("\nRaw figures: %s\n", o.json.c_str());
    return 0;
}

}  // namespace tfd::bench::timers

int main(int argc, char** argv) {
    return tfd::bench::timers::run_bench(argc, argv);
}
