#include "tfd/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

namespace tfd {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using H = latency_histogram;

TEST(LatencyHistogramIndex, BucketsTileTheRangeWithoutGapsOrOverlap) {
    EXPECT_EQ(H::bucket_lower(0), 0);
    EXPECT_EQ(H::bucket_upper(H::bucket_count - 1), H::max_trackable);
    for (std::size_t i = 0; i < H::bucket_count; ++i) {
        std::int64_t lower = H::bucket_lower(i);
        std::int64_t upper = H::bucket_upper(i);
        ASSERT_LE(lower, upper) << "bucket " << i;
        ASSERT_EQ(H::bucket_index(lower), i) << "lower edge of bucket " << i;
        ASSERT_EQ(H::bucket_index(upper), i) << "upper edge of bucket " << i;
        if (i + 1 < H::bucket_count) {
            ASSERT_EQ(upper + 1, H::bucket_lower(i + 1)) << "after bucket " << i;
        }
    }
}

TEST(LatencyHistogramIndex, SmallValuesAreExactAndWideBucketsStayNarrowRelatively) {
    for (std::int64_t v = 0; v < H::exact_limit; ++v) {
        ASSERT_EQ(H::bucket_index(v), static_cast<std::size_t>(v));
        ASSERT_EQ(H::bucket_lower(H::bucket_index(v)), H::bucket_upper(H::bucket_index(v)));
    }
    for (auto i = static_cast<std::size_t>(H::exact_limit); i < H::bucket_count; ++i) {
        double width = static_cast<double>(H::bucket_upper(i) - H::bucket_lower(i) + 1);
        ASSERT_LE(width / static_cast<double>(H::bucket_lower(i)), 1.0 / H::sub_buckets)
            << "bucket " << i;
    }
}

TEST(LatencyHistogramIndex, OutOfRangeValuesClampToTheEndBuckets) {
    EXPECT_EQ(H::bucket_index(-1), 0u);
    EXPECT_EQ(H::bucket_index(std::numeric_limits<std::int64_t>::min()), 0u);
    EXPECT_EQ(H::bucket_index(H::max_trackable + 1), H::bucket_count - 1);
    EXPECT_EQ(H::bucket_index(std::numeric_limits<std::int64_t>::max()), H::bucket_count - 1);
}

TEST(LatencyHistogram, EmptyReportsZeros) {
    H h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.min(), 0ns);
    EXPECT_EQ(h.max(), 0ns);
    EXPECT_EQ(h.mean_ns(), 0.0);
    EXPECT_EQ(h.percentile(50), 0ns);
}

TEST(LatencyHistogram, ExtremesAndMeanAreExact) {
    H h;
    h.record(70'123ns);
    h.record(1'000'001ns);
    h.record(3ns, 2);
    EXPECT_EQ(h.count(), 4u);
    EXPECT_EQ(h.min(), 3ns);
    EXPECT_EQ(h.max(), 1'000'001ns);
    EXPECT_DOUBLE_EQ(h.mean_ns(), (70'123.0 + 1'000'001.0 + 6.0) / 4);
    EXPECT_EQ(h.percentile(0), 3ns);
    EXPECT_EQ(h.percentile(50), 3ns);
    EXPECT_EQ(h.percentile(100), 1'000'001ns);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < H::bucket_count; ++i) {
        total += h.count_at(i);
    }
    EXPECT_EQ(total, h.count());
}

TEST(LatencyHistogram, PercentilesAreWithinOneBucketAboveTheExactOnes) {
    // Log-normal latencies around 70 us with a long tail, as timer wake-ups look.
    std::mt19937_64 random(12345);
    std::lognormal_distribution<double> latency(std::log(70'000.0), 0.6);
    std::vector<std::int64_t> values;
    H h;
    for (int i = 0; i < 100'000; ++i) {
        auto v = static_cast<std::int64_t>(latency(random));
        values.push_back(v);
        h.record(nanoseconds(v));
    }
    std::sort(values.begin(), values.end());
    for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
        auto rank = static_cast<std::size_t>(std::ceil(p / 100 * values.size()));
        std::int64_t exact = values[rank - 1];
        std::int64_t approx = h.percentile(p).count();
        EXPECT_GE(approx, exact) << "p" << p;
        EXPECT_LE(approx, exact + exact / H::sub_buckets + 1) << "p" << p;
    }
    EXPECT_EQ(h.percentile(100).count(), values.back());
    EXPECT_EQ(h.min().count(), values.front());
}

TEST(LatencyHistogram, NegativeAndHugeValuesAreCountedNotLost) {
    H h;
    h.record(-5ns);
    h.record(nanoseconds(H::max_trackable + 1000));
    h.record(10ns);
    EXPECT_EQ(h.count(), 3u);
    EXPECT_EQ(h.negatives(), 1u);
    EXPECT_EQ(h.saturated(), 1u);
    EXPECT_EQ(h.count_at(0), 1u);
    EXPECT_EQ(h.count_at(H::bucket_count - 1), 1u);
    EXPECT_EQ(h.min(), -5ns);
    EXPECT_EQ(h.max(), nanoseconds(H::max_trackable + 1000));
    EXPECT_EQ(h.percentile(100), h.max());
}

TEST(LatencyHistogram, MergeEqualsRecordingEverythingInOne) {
    H a;
    H b;
    H both;
    for (std::int64_t v : {5, 900, 70'000, 123'456'789}) {
        a.record(nanoseconds(v));
        both.record(nanoseconds(v));
    }
    for (std::int64_t v : {1, 1'000'000, 65'000}) {
        b.record(nanoseconds(v));
        both.record(nanoseconds(v));
    }
    H empty;
    a.merge(empty);
    a.merge(b);
    EXPECT_EQ(a.count(), both.count());
    EXPECT_EQ(a.min(), both.min());
    EXPECT_EQ(a.max(), both.max());
    EXPECT_DOUBLE_EQ(a.mean_ns(), both.mean_ns());
    for (std::size_t i = 0; i < H::bucket_count; ++i) {
        ASSERT_EQ(a.count_at(i), both.count_at(i)) << "bucket " << i;
    }
    empty.merge(b);
    EXPECT_EQ(empty.min(), 1ns);
    EXPECT_EQ(empty.max(), 1'000'000ns);
}

TEST(LatencyHistogram, ResetForgetsEverything) {
    H h;
    h.record(-1ns);
    h.record(42us, 7);
    h.reset();
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.negatives(), 0u);
    EXPECT_EQ(h.count_at(H::bucket_index(42'000)), 0u);
    h.record(9ns);
    EXPECT_EQ(h.min(), 9ns);
    EXPECT_EQ(h.max(), 9ns);
}

TEST(LatencyHistogram, PercentileOutsideZeroToHundredIsRefused) {
    H h;
    h.record(1us);
    EXPECT_THROW((void)h.percentile(-0.1), std::domain_error);
    EXPECT_THROW((void)h.percentile(100.5), std::domain_error);
    EXPECT_THROW((void)h.percentile(std::nan("")), std::domain_error);
    try {
        (void)h.percentile(101);
    } catch (const std::domain_error& e) {
        EXPECT_NE(std::string(e.what()).find("percent=101"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace tfd
