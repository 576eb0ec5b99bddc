// Fuzzes the time conversions in tfd/time_convert.hpp against independent references.
//
// Input: 8 bytes read as a double (float seconds) and 8 bytes read as an int64 (nanoseconds);
// shorter inputs are zero-padded.  The references use 128-bit integers and long double, not
// the code under test's arithmetic.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tfd/time_convert.hpp"

namespace {

__extension__ using wide = __int128;

void fail(const char* what, double seconds, std::int64_t ns) {
    std::fprintf(stderr, "time_convert_fuzz: %s (seconds=%.17g ns=%lld)\n", what, seconds,
                 static_cast<long long>(ns));
    std::abort();
}

// seconds_to_ns: accepted exactly when the double product floors into the int64 range, and
// then the result r satisfies r <= product < r + 1.
void check_seconds(double seconds) {
    std::optional<std::chrono::nanoseconds> ns = tfd::seconds_to_ns(seconds);
    double product = seconds * 1e9;
    bool representable =
        std::isfinite(product) && std::floor(product) >= -0x1p63 && std::floor(product) < 0x1p63;
    if (ns.has_value() != representable) {
        fail("seconds_to_ns accepted/rejected the wrong value", seconds, ns ? ns->count() : 0);
    }
    if (!ns) {
        return;
    }
    long double r = static_cast<long double>(ns->count());
    long double p = static_cast<long double>(product);
    if (!(r <= p && p < r + 1.0L)) {
        fail("seconds_to_ns is not the floor of seconds * 1e9", seconds, ns->count());
    }
    // Monotone: a larger input never gives a smaller result.
    double next = std::nextafter(seconds, INFINITY);
    if (std::optional<std::chrono::nanoseconds> up = tfd::seconds_to_ns(next); up && *up < *ns) {
        fail("seconds_to_ns is not monotone", seconds, ns->count());
    }
}

// ns_to_timespec / timespec_to_ns: nsec in [0, 1e9), sec * 1e9 + nsec == ns, round trip.
void check_timespec(std::int64_t ns) {
    timespec ts = tfd::ns_to_timespec(std::chrono::nanoseconds(ns));
    if (ts.tv_nsec < 0 || ts.tv_nsec >= 1'000'000'000) {
        fail("ns_to_timespec: tv_nsec out of range", 0, ns);
    }
    if (static_cast<wide>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec != static_cast<wide>(ns)) {
        fail("ns_to_timespec: sec * 1e9 + nsec != ns", 0, ns);
    }
    if (tfd::timespec_to_ns(ts).count() != ns) {
        fail("timespec_to_ns(ns_to_timespec(ns)) != ns", 0, ns);
    }
    double seconds = tfd::timespec_to_seconds(ts);
    if (seconds != static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9) {
        fail("timespec_to_seconds differs from sec + nsec * 1e-9", seconds, ns);
    }
}

// to_nanoseconds for milliseconds and picoseconds against a 128-bit floor division.
void check_integer_units(std::int64_t count) {
    wide ms = static_cast<wide>(count) * 1'000'000;
    std::optional<std::chrono::nanoseconds> got =
        tfd::to_nanoseconds(std::chrono::milliseconds(count));
    bool fits = ms >= INT64_MIN && ms <= INT64_MAX;
    if (got.has_value() != fits || (got && got->count() != static_cast<std::int64_t>(ms))) {
        fail("to_nanoseconds(milliseconds) wrong", 0, count);
    }
    using picoseconds = std::chrono::duration<std::int64_t, std::pico>;
    got = tfd::to_nanoseconds(picoseconds(count));
    wide floor_ns = count >= 0 ? count / 1000 : -((-static_cast<wide>(count) + 999) / 1000);
    if (!got || got->count() != static_cast<std::int64_t>(floor_ns)) {
        fail("to_nanoseconds(picoseconds) is not the floor", 0, count);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    unsigned char buffer[16] = {};
    std::memcpy(buffer, data, size < sizeof buffer ? size : sizeof buffer);
    double seconds = 0;
    std::int64_t ns = 0;
    std::memcpy(&seconds, buffer, sizeof seconds);
    std::memcpy(&ns, buffer + 8, sizeof ns);
    check_seconds(seconds);
    check_timespec(ns);
    check_integer_units(ns);
    return 0;
}
