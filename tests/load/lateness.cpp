#include "lateness.hpp"

#include <algorithm>
#include <chrono>

namespace tfd_load {

using std::chrono::milliseconds;

lateness_summary lateness(const std::vector<tick_report>& ticks, clock_type::time_point anchor) {
    long counted[4] = {};
    for (const tick_report& t : ticks) {
        if (t.timer >= 1 && t.timer <= 3) {
            anchor =
                std::min(anchor, t.arrival - milliseconds(250 * t.timer) * (counted[t.timer] + 1));
            counted[t.timer] += t.count;
        }
    }
    long seen[4] = {};
    std::vector<double> late;
    for (const tick_report& t : ticks) {
        if (t.timer < 1 || t.timer > 3) {
            continue;
        }
        auto period = milliseconds(250 * t.timer);
        auto first_deadline = anchor + period * (seen[t.timer] + 1);
        seen[t.timer] += t.count;
        late.push_back(
            std::chrono::duration<double, std::milli>(t.arrival - first_deadline).count());
    }
    lateness_summary s;
    s.reports = late.size();
    s.ticks = seen[1] + seen[2] + seen[3];
    if (late.empty()) {
        return s;
    }
    std::sort(late.begin(), late.end());
    s.min_ms = late.front();
    s.p50_ms = late[late.size() / 2];
    s.p99_ms = late[std::min(late.size() - 1, late.size() * 99 / 100)];
    s.max_ms = late.back();
    return s;
}

}  // namespace tfd_load
