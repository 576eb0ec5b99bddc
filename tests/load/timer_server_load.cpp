// Load test for examples/timer_server: many concurrent loopback clients mixing valid
// commands with hostile behaviour, while the server's periodic timers keep running.
//
//   timer_server_load --server PATH [--clients N] [--seconds S] [--soak]
//
// It starts the server on a free port (--port 0; server_process.hpp), measures its memory
// and descriptor count at rest (footprint.hpp), then keeps N clients connected for S seconds,
// each playing one of five roles, valid or hostile (load_driver.hpp).  Timers' lateness comes
// from the server's own "Timer N expired" lines, timestamped as they arrive (lateness.hpp).
//
// Pass/fail (exit status 0/1; load_report.hpp): the server is still up and answers status at
// the end, every checked reply was right, its descriptor count returns to the baseline once
// the clients are gone and its memory to within a small bound of it, and it exits 0 on
// "stop".  --soak runs for an hour and prints the server's memory and descriptors every
// minute, so a creep shows.
// Loopback only; bounded in clients and time; stops by itself.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "footprint.hpp"
#include "lateness.hpp"
#include "load_driver.hpp"
#include "load_report.hpp"
#include "server_process.hpp"

namespace {

using namespace std::chrono_literals;
using tfd_load::clock_type;

struct settings {
    std::string server;
    int clients = 1000;
    double seconds = 60;
    bool soak = false;
};

[[noreturn]] void usage(const char* problem) {
    std::fprintf(stderr,
                 "timer_server_load: %s\n"
                 "usage: timer_server_load --server PATH [--clients N] [--seconds S] [--soak]\n"
                 "  environment: TFD_LOAD_CLIENTS, TFD_LOAD_SECONDS override the defaults\n",
                 problem);
    std::exit(2);
}

settings parse(int argc, char** argv) {
    settings s;
    if (const char* v = std::getenv("TFD_LOAD_CLIENTS")) {
        s.clients = std::atoi(v);
    }
    if (const char* v = std::getenv("TFD_LOAD_SECONDS")) {
        s.seconds = std::atof(v);
    }
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--soak") {
            s.soak = true;
            s.seconds = 3600;
        } else if (i + 1 < argc && a == "--server") {
            s.server = argv[++i];
        } else if (i + 1 < argc && a == "--clients") {
            s.clients = std::atoi(argv[++i]);
        } else if (i + 1 < argc && a == "--seconds") {
            s.seconds = std::atof(argv[++i]);
        } else {
            usage(("unknown argument " + std::string(a)).c_str());
        }
    }
    if (s.server.empty()) {
        usage("--server is required");
    }
    if (s.clients < 1 || s.clients > 20000 || !(s.seconds > 0) || s.seconds > 4 * 3600) {
        usage("--clients takes 1..20000 and --seconds 0..14400");
    }
    return s;
}

// Waits (up to 10 s each) for the server's descriptors to come back to the baseline, then
// for its memory: it gives free heap pages back 1 s after its last client left.
tfd_load::footprint settle(pid_t pid, const tfd_load::footprint& baseline,
                           const tfd_load::footprint& peak) {
    tfd_load::footprint after = tfd_load::measure(pid);
    for (auto end = clock_type::now() + 10s; after.fds > baseline.fds && clock_type::now() < end;) {
        std::this_thread::sleep_for(50ms);
        after = tfd_load::measure(pid);
    }
    for (auto end = clock_type::now() + 10s;
         !tfd_load::memory_returned(baseline, peak, after) && clock_type::now() < end;) {
        std::this_thread::sleep_for(100ms);
        after = tfd_load::measure(pid);
    }
    return after;
}

}  // namespace

int main(int argc, char** argv) {
    settings config = parse(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    ::signal(SIGPIPE, SIG_IGN);
    // The server inherits the raised limit: it needs a descriptor per client too.
    tfd_load::raise_descriptor_limit(config.clients);

    tfd_load::server_process server(config.server, config.seconds);
    std::this_thread::sleep_for(1s);
    tfd_load::load_outcome outcome;
    outcome.baseline = tfd_load::measure(server.pid());
    std::printf(
        "server pid %d on 127.0.0.1:%u; baseline VmRSS %ld KiB (RssAnon %ld), %d "
        "descriptors\n",
        server.pid(), server.port(), outcome.baseline.rss_kib, outcome.baseline.anon_kib,
        outcome.baseline.fds);
    std::printf(
        "%d clients for %.0f s (valid 40%%, slowloris 20%%, oversized 15%%, random 15%%, "
        "reset 10%%)\n",
        config.clients, config.seconds);

    int sample_count = 0;
    auto started = clock_type::now();
    tfd_load::load_driver driver(server.port(), config.clients, 20261128);
    driver.run(started + std::chrono::duration_cast<clock_type::duration>(
                             std::chrono::duration<double>(config.seconds)),
               [&] {
                   tfd_load::footprint now = tfd_load::measure(server.pid());
                   outcome.peak = tfd_load::high_water(outcome.peak, now);
                   if (++sample_count % (config.soak ? 60 : 10) == 0) {
                       std::printf("  t=%3ds VmRSS %ld KiB (RssAnon %ld), %d descriptors\n",
                                   sample_count, now.rss_kib, now.anon_kib, now.fds);
                   }
               });
    outcome.ran_seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    outcome.clients = driver.stats();

    auto left = clock_type::now();
    outcome.after = settle(server.pid(), outcome.baseline, outcome.peak);
    outcome.settle_seconds = std::chrono::duration<double>(clock_type::now() - left).count();
    outcome.status = tfd_load::ask(server.port(), "status\n");
    outcome.up = server.alive() && outcome.status.rfind("timer1=", 0) == 0;
    outcome.late = tfd_load::lateness(server.ticks(), server.anchor());
    outcome.stop = tfd_load::ask(server.port(), "stop\n");
    outcome.exit_status = server.wait_exit(10s);

    tfd_load::print_report(outcome);
    return tfd_load::judge(outcome) ? 0 : 1;
}
