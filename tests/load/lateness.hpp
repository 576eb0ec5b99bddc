// The server's timer lateness, from its "Timer N expired K times" reports.
#pragma once

#include <cstddef>
#include <vector>

#include "server_process.hpp"

namespace tfd_load {

struct lateness_summary {
    std::size_t reports = 0;
    long ticks = 0;
    double p50_ms = 0, p99_ms = 0, max_ms = 0, min_ms = 0;
};

// Lateness of each report: arrival minus the earliest deadline it covers (timer N's period
// is N * 250 ms).  The schedule's anchor is `anchor` (the "Listening" line's arrival), or
// earlier when a report implies it (the reader may see that line a little after the server
// armed its timers), so no report counts as early and the figures are relative to the
// least-late report.  Arrival includes the pipe and the reader's wake-up, so this bounds the
// server's own lateness from above.
lateness_summary lateness(const std::vector<tick_report>& ticks, clock_type::time_point anchor);

}  // namespace tfd_load
