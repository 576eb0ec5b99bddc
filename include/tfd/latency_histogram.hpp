// tfd::latency_histogram: counts of nanosecond latencies in fixed memory, with percentiles.
//
// Theory of operation.  A log-linear ("HDR") layout: values below `exact_limit` each have
// their own bucket; above it, every power-of-two range [2^e, 2^(e+1)) is split into
// `sub_buckets` equal buckets.  So a bucket is never wider than 1/sub_buckets of the values
// it holds, and a percentile read from the histogram is within that relative error of the
// exact one (0.78% with 128 sub-buckets), at any scale from nanoseconds to minutes.
//
//   value v < 256:  bucket v                                   (width 1 ns)
//   value v >= 256: e = floor(log2 v), shift = e - 7, m = v >> shift  (128 <= m < 256)
//                   bucket 256 + (shift - 1) * 128 + (m - 128)   (width 2^shift ns)
//
// The geometry is fixed at compile time, so the memory is too: `bucket_count` counters
// (34 KiB), allocated once by the constructor; recording never allocates and is O(1).
//
// Invariants:
//  * count() == the sum of every bucket's count;
//  * when count() > 0, min() <= every recorded value <= max(), both exact;
//  * a value below zero is counted in bucket 0 and in negatives(); a value above
//    `max_trackable` is counted in the last bucket and in saturated().  Neither is lost,
//    and min()/max()/mean() keep the exact value.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tfd {

class latency_histogram {
  public:
    static constexpr int sub_bucket_bits = 7;
    static constexpr std::int64_t sub_buckets = std::int64_t{1} << sub_bucket_bits;
    // Values below this are counted exactly, one bucket each.
    static constexpr std::int64_t exact_limit = 2 * sub_buckets;
    // Largest value with a bucket of its own: 2^40 - 1 ns, about 18 minutes.
    static constexpr int max_bits = 40;
    static constexpr std::int64_t max_trackable = (std::int64_t{1} << max_bits) - 1;
    static constexpr std::size_t bucket_count =
        static_cast<std::size_t>(exact_limit + (max_bits - sub_bucket_bits - 1) * sub_buckets);

    latency_histogram();

    // Counts `value` once, or `times` times.
    void record(std::chrono::nanoseconds value) noexcept { record(value, 1); }
    void record(std::chrono::nanoseconds value, std::uint64_t times) noexcept;
    // Adds every count of `other` to this histogram.
    void merge(const latency_histogram& other) noexcept;
    // Forgets every value; the memory is kept.
    void reset() noexcept;

    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
    // Exact extremes and mean of the recorded values; zero when nothing was recorded.
    [[nodiscard]] std::chrono::nanoseconds min() const noexcept;
    [[nodiscard]] std::chrono::nanoseconds max() const noexcept;
    [[nodiscard]] double mean_ns() const noexcept;
    [[nodiscard]] std::uint64_t negatives() const noexcept { return negatives_; }
    [[nodiscard]] std::uint64_t saturated() const noexcept { return saturated_; }

    // The value below or at which `percent` % of the recorded values lie (percent in
    // [0, 100]; anything else, NaN included, throws std::domain_error).  Read from the
    // bucket holding that rank: its upper edge, kept within [min(), max()].  So the result
    // is never below the exact percentile and at most one bucket width (<= 1/128 of the
    // value) above it; percentile(0) is min() and percentile(100) is max(), exactly.
    [[nodiscard]] std::chrono::nanoseconds percentile(double percent) const;

    // How many recorded values fell into bucket `index` (< bucket_count).
    [[nodiscard]] std::uint64_t count_at(std::size_t index) const noexcept {
        return counts_[index];
    }

    // The index math, as pure functions.  bucket_index clamps to [0, max_trackable].
    [[nodiscard]] static std::size_t bucket_index(std::int64_t value) noexcept;
    // The smallest and largest value that land in bucket `index`.
    [[nodiscard]] static std::int64_t bucket_lower(std::size_t index) noexcept;
    [[nodiscard]] static std::int64_t bucket_upper(std::size_t index) noexcept;

  private:
    std::vector<std::uint64_t> counts_;  // bucket_count entries, never resized
    std::uint64_t count_ = 0;
    std::uint64_t negatives_ = 0;
    std::uint64_t saturated_ = 0;
    std::int64_t min_ = 0;
    std::int64_t max_ = 0;
    double sum_ = 0;  // exact up to 2^53 ns (104 days) of accumulated latency
};

}  // namespace tfd
