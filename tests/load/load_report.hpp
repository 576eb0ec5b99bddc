// What a load run measured, printed, and judged (the test's pass/fail).
#pragma once

#include <string>

#include "footprint.hpp"
#include "lateness.hpp"
#include "load_driver.hpp"

namespace tfd_load {

struct load_outcome {
    double ran_seconds = 0;
    counters clients;
    footprint baseline;         // at rest, after startup
    footprint peak;             // the high water of the once-a-second samples
    footprint after;            // once every client left and the server had time to go idle
    double settle_seconds = 0;  // from the last client's close to that reading
    std::string status;         // the reply to "status" at the end
    bool up = false;            // alive, and that reply was a status line
    lateness_summary late;
    std::string stop;  // the reply to "stop"
    int exit_status = -1;
};

// After the clients leave, the server gives its free heap pages back (timer_server trims
// when idle), but not every page: glibc's per-thread cache (tcache) keeps up to 7 freed
// chunks of each small size for reuse, and malloc_trim does not empty it, so the pages those
// chunks sit on stay; the loop's descriptor-indexed tables keep their high-water size; code
// first run under load stays mapped (VmRSS counts it; it is file-backed and shared).
// Measured after 300 and 1,000 clients: VmRSS +268 and +344-360 KiB, RssAnon +140 and
// +216-232 KiB (+32 KiB after 300 with GLIBC_TUNABLES=glibc.malloc.tcache_count=0: the
// cache is most of it).  None
// of it grows with the number of clients.  So memory "returns" when VmRSS is within this
// many KiB of the baseline ...
inline constexpr long rss_tolerance_kib = 512;
// ... and the private (anonymous) memory the load added is given back except at most this
// floor or half the growth at peak, whichever is larger (without the trim none comes back).
inline constexpr long anon_residue_floor_kib = 224;

// True when `after` meets both memory bounds against `baseline` and `peak`.
bool memory_returned(const footprint& baseline, const footprint& peak, const footprint& after);

void print_report(const load_outcome& outcome);
// Prints a FAIL line for each check that did not hold, then PASS or FAILED; true on PASS.
bool judge(const load_outcome& outcome);

}  // namespace tfd_load
