#include "load_report.hpp"

#include <algorithm>
#include <cstdio>

namespace tfd_load {

bool memory_returned(const footprint& baseline, const footprint& peak, const footprint& after) {
    long growth = peak.anon_kib - baseline.anon_kib;
    long residue = after.anon_kib - baseline.anon_kib;
    return after.rss_kib <= baseline.rss_kib + rss_tolerance_kib &&
           residue <= std::max(anon_residue_floor_kib, growth / 2);
}

void print_report(const load_outcome& o) {
    const counters& c = o.clients;
    std::printf("ran %.1f s: %ld connections (%ld failed to connect), %.1f MB sent\n",
                o.ran_seconds, c.connects, c.connect_failures, c.bytes_sent / 1e6);
    std::printf("  completed: valid %ld, slowloris %ld, oversized %ld, random %ld, reset %ld\n",
                c.completed[0], c.completed[1], c.completed[2], c.completed[3], c.completed[4]);
    std::printf("  replies checked %ld, wrong or missing %ld, closed by the server early %ld\n",
                c.replies_checked, c.reply_errors, c.server_closed);
    std::printf("server up at the end: %s (status: %s)\n", o.up ? "yes" : "NO",
                o.status.empty() ? "no answer" : o.status.substr(0, o.status.size() - 1).c_str());
    std::printf(
        "timer reports %zu covering %ld ticks; lateness vs schedule: p50 %.2f ms, p99 "
        "%.2f ms, max %.2f ms (min %.2f ms)\n",
        o.late.reports, o.late.ticks, o.late.p50_ms, o.late.p99_ms, o.late.max_ms, o.late.min_ms);
    std::printf(
        "VmRSS KiB: baseline %ld, peak %ld, after %ld; RssAnon KiB: baseline %ld, "
        "peak %ld, after %ld\n",
        o.baseline.rss_kib, o.peak.rss_kib, o.after.rss_kib, o.baseline.anon_kib, o.peak.anon_kib,
        o.after.anon_kib);
    std::printf("  (after: read %.1f s after the last client closed)\n", o.settle_seconds);
    std::printf("descriptors: baseline %d, peak %d, after %d\n", o.baseline.fds, o.peak.fds,
                o.after.fds);
    std::printf("server exit status after stop: %d\n", o.exit_status);
}

bool judge(const load_outcome& o) {
    bool ok = true;
    auto check = [&](bool condition, const char* what) {
        if (!condition) {
            std::printf("FAIL: %s\n", what);
            ok = false;
        }
    };
    const counters& c = o.clients;
    check(o.up, "server up and answering status at the end");
    check(o.stop.rfind("OK stopping", 0) == 0 && o.exit_status == 0,
          "server stops cleanly on stop");
    check(c.reply_errors == 0, "every checked reply right");
    check(c.replies_checked > 0, "replies were checked at all");
    check(o.after.fds == o.baseline.fds, "descriptors back to the baseline");
    check(o.baseline.rss_kib > 0 && o.after.anon_kib > 0, "memory readable from /proc");
    check(memory_returned(o.baseline, o.peak, o.after),
          "memory back to the baseline (VmRSS within 512 KiB; of the private memory added at "
          "peak, at most 224 KiB or half kept)");
    check(o.late.reports > 0 && o.late.max_ms < 1000,
          "timers kept running (no report over 1 s late)");
    std::printf("%s\n", ok ? "PASS" : "FAILED");
    return ok;
}

}  // namespace tfd_load
