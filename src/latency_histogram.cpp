#include "tfd/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

namespace tfd {

latency_histogram::latency_histogram() : counts_(bucket_count, 0) {}

std::size_t latency_histogram::bucket_index(std::int64_t value) noexcept {
    value = std::clamp<std::int64_t>(value, 0, max_trackable);
    if (value < exact_limit) {
        return static_cast<std::size_t>(value);
    }
    auto bits = static_cast<std::uint64_t>(value);
    int exponent = std::bit_width(bits) - 1;                   // >= sub_bucket_bits + 1
    int shift = exponent - sub_bucket_bits;                    // >= 1
    auto mantissa = static_cast<std::int64_t>(bits >> shift);  // in [sub_buckets, 2*sub_buckets)
    return static_cast<std::size_t>(exact_limit + (shift - 1) * sub_buckets +
                                    (mantissa - sub_buckets));
}

std::int64_t latency_histogram::bucket_lower(std::size_t index) noexcept {
    auto i = static_cast<std::int64_t>(index);
    if (i < exact_limit) {
        return i;
    }
    std::int64_t offset = i - exact_limit;
    std::int64_t shift = offset / sub_buckets + 1;
    std::int64_t mantissa = offset % sub_buckets + sub_buckets;
    return mantissa << shift;
}

std::int64_t latency_histogram::bucket_upper(std::size_t index) noexcept {
    auto i = static_cast<std::int64_t>(index);
    if (i < exact_limit) {
        return i;
    }
    std::int64_t shift = (i - exact_limit) / sub_buckets + 1;
    return bucket_lower(index) + (std::int64_t{1} << shift) - 1;
}

void latency_histogram::record(std::chrono::nanoseconds value, std::uint64_t times) noexcept {
    if (times == 0) {
        return;
    }
    std::int64_t ns = value.count();
    if (count_ == 0) {
        min_ = max_ = ns;
    } else {
        min_ = std::min(min_, ns);
        max_ = std::max(max_, ns);
    }
    if (ns < 0) {
        negatives_ += times;
    } else if (ns > max_trackable) {
        saturated_ += times;
    }
    counts_[bucket_index(ns)] += times;
    count_ += times;
    sum_ += static_cast<double>(ns) * static_cast<double>(times);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
    if (other.count_ == 0) {
        return;
    }
    for (std::size_t i = 0; i < bucket_count; ++i) {
        counts_[i] += other.counts_[i];
    }
    min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
    max_ = count_ == 0 ? other.max_ : std::max(max_, other.max_);
    count_ += other.count_;
    negatives_ += other.negatives_;
    saturated_ += other.saturated_;
    sum_ += other.sum_;
}

void latency_histogram::reset() noexcept {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = negatives_ = saturated_ = 0;
    min_ = max_ = 0;
    sum_ = 0;
}

std::chrono::nanoseconds latency_histogram::min() const noexcept {
    return std::chrono::nanoseconds(min_);
}

std::chrono::nanoseconds latency_histogram::max() const noexcept {
    return std::chrono::nanoseconds(max_);
}

double latency_histogram::mean_ns() const noexcept {
    return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

std::chrono::nanoseconds latency_histogram::percentile(double percent) const {
    if (!(percent >= 0.0 && percent <= 100.0)) {
        throw std::domain_error("latency_histogram::percentile: percent=" +
                                std::to_string(percent) + " is outside [0, 100]");
    }
    if (count_ == 0) {
        return {};
    }
    if (percent == 0.0) {
        return min();
    }
    // The rank of the wanted value among the sorted samples, 1-based: the smallest value
    // with at least `percent` % of the samples at or below it.
    auto rank =
        static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    if (rank == count_) {
        return max();  // exact, even for a saturated maximum
    }
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            return std::chrono::nanoseconds(std::clamp(bucket_upper(i), min_, max_));
        }
    }
    return max();  // unreachable while count_ equals the sum of the buckets
}

}  // namespace tfd
