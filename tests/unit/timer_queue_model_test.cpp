// Randomized model test: tfd::timer_queue (both kinds) against a plain ordered reference,
// over millions of operations with deadlines spread across every wheel level, the past,
// equal deadlines, and int64's extremes, and with cancel, refresh and start performed
// between pops, the way callbacks do.  The wheel runs a second time with a small cascade
// budget (as the event loops set one), so that large slots are re-filed over many calls,
// with operations in between.
//
// TFD_MODEL_OPS=<n> sets the number of operations per kind (default 10,000,000 in optimised
// builds, 600,000 in debug builds, where every operation is slower and small queues are
// fully re-checked after each mutation); TFD_MODEL_SEED=<n> picks the seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tfd/timer_queue.hpp"
#include "timer_queue_math.hpp"

namespace tfd {
namespace {

using std::chrono::nanoseconds;
using kind = timer_queue::kind;

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

#ifdef NDEBUG
constexpr std::uint64_t default_ops = 10'000'000;
#else
constexpr std::uint64_t default_ops = 600'000;
#endif

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
    const char* value = std::getenv(name);
    return value != nullptr ? std::strtoull(value, nullptr, 10) : fallback;
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
    std::int64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) {
        return b > 0 ? int64_max : int64_min;
    }
    return sum;
}

unsigned long long ull(std::uint64_t v) {
    return v;
}

struct model_timer : timer_entry {
    int id = 0;
};

// The reference: an ordered map from (deadline, start sequence) to timer id.
class reference {
  public:
    using key = std::pair<std::int64_t, std::uint64_t>;

    explicit reference(std::size_t n) : keys_(n) {}
    bool queued(int id) const { return keys_[id].has_value(); }
    void set(int id, std::int64_t deadline) {
        cancel(id);
        keys_[id] = key{deadline, next_seq_++};
        order_.emplace(*keys_[id], id);
    }
    void cancel(int id) {
        if (keys_[id]) {
            order_.erase(*keys_[id]);
            keys_[id].reset();
        }
    }
    std::optional<std::int64_t> next_deadline() const {
        if (order_.empty()) {
            return std::nullopt;
        }
        return order_.begin()->first.first;
    }
    int pop_due(std::int64_t now) {
        if (order_.empty() || order_.begin()->first.first > now) {
            return -1;
        }
        const int id = order_.begin()->second;
        order_.erase(order_.begin());
        keys_[id].reset();
        return id;
    }
    std::size_t size() const { return order_.size(); }

  private:
    std::vector<std::optional<key>> keys_;
    std::map<key, int> order_;
    std::uint64_t next_seq_ = 0;
};

// Which queue a run drives: its kind, and for the wheel whether a cascade budget is set.
struct variant {
    kind k;
    bool budgeted;
};
// For gtest's messages (without it, gtest prints the bytes, padding included).
void PrintTo(const variant& v, std::ostream* os) {
    *os << (v.k == kind::heap ? "heap" : "wheel") << (v.budgeted ? " with a cascade budget" : "");
}

class model_run {
  public:
    model_run(variant v, std::uint64_t seed) : kind_(v.k), budgeted_(v.budgeted), rng_(seed) {}

    void run(std::uint64_t ops) {
        while (ops_ < ops && !::testing::Test::HasFailure()) {
            // At least a dozen rounds, so that short (debug) runs still see every pool size.
            const std::uint64_t round = std::clamp<std::uint64_t>(ops / 12, 1000, ops_per_round);
            run_round(std::min<std::uint64_t>(ops - ops_, round));
        }
        std::printf(
            "model: %llu ops: %llu starts, %llu refreshes, %llu cancels, %llu pops, "
            "%llu next_deadline checks, max %zu queued, %llu answers while cascading\n",
            ull(ops_), ull(starts_), ull(refreshes_), ull(cancels_), ull(pops_), ull(peeks_),
            max_queued_, ull(partial_answers_));
        if (budgeted_) {
            EXPECT_GT(partial_answers_, 1000u) << "the budget never cut a cascade short";
        }
        // Deadlines must have reached the span of every wheel level (and beyond the last).
        for (unsigned level = 0; level < timer_queue::wheel_levels; ++level) {
            EXPECT_GT(level_hits_[level], 100u) << "level " << level;
        }
    }

  private:
    // Pool sizes per round: a few timers (many ties, heavy churn), a few thousand, and
    // enough that the wheel's slots hold many timers each.
    static constexpr std::array<std::size_t, 3> pool_sizes{50, 3000, 30000};
    static constexpr std::uint64_t ops_per_round = 200'000;

    // One round: a fresh queue and reference, a random start time and scale, then a random
    // mix of operations, and finally a full drain compared pop by pop.
    void run_round(std::uint64_t ops) {
        timers_ = pool_sizes[rng_() % pool_sizes.size()];
        queue_.emplace(kind_);
        if (budgeted_) {
            static constexpr std::array<std::size_t, 4> budgets{1, 3, 16, 256};
            queue_->set_cascade_budget(budgets[rng_() % budgets.size()]);
        }
        ref_.emplace(timers_);
        pool_ = std::vector<model_timer>(timers_);
        for (std::size_t i = 0; i < timers_; ++i) {
            pool_[i].id = static_cast<int>(i);
        }
        now_ = pick_start_time();
        recent_.fill(now_);
        const std::uint64_t end = ops_ + ops;
        while (ops_ < end) {
            step();
            if (ops_ % 20'000 == 0) {
                queue_->check_invariants();
                ASSERT_EQ(queue_->size(), ref_->size());
            }
            max_queued_ = std::max(max_queued_, ref_->size());
            if (::testing::Test::HasFailure()) {
                return;
            }
        }
        fire(int64_max);
        EXPECT_EQ(queue_->size(), 0u);
        queue_->check_invariants();
        queue_.reset();  // before the pool: entries are unqueued by then
    }

    std::int64_t pick_start_time() {
        switch (rng_() % 4) {
            case 0:
                return 0;
            case 1:
                return static_cast<std::int64_t>(rng_() % (std::uint64_t{1} << 40));
            case 2:
                return static_cast<std::int64_t>(rng_() >> 2);  // anywhere, up to 2^62
            default:
                return -static_cast<std::int64_t>(rng_() % (std::uint64_t{1} << 50));
        }
    }

    // A deadline relative to now: a log-uniform offset so that every level's span gets its
    // share, sometimes in the past, sometimes equal to a recent deadline (ties), sometimes
    // an extreme.
    std::int64_t pick_deadline() {
        const unsigned what = rng_() % 100;
        if (what < 10) {
            return recent_[rng_() % recent_.size()];
        }
        if (what < 12) {
            return what == 10 ? int64_max : int64_min + static_cast<std::int64_t>(rng_() % 1000);
        }
        const unsigned bits = rng_() % 64;  // offset magnitude 2^0 .. 2^63
        const std::uint64_t magnitude = bits == 0 ? 0 : (rng_() >> (64 - bits));
        const auto offset = static_cast<std::int64_t>(magnitude >> 1);
        if (what < 22) {
            return saturating_add(now_, -offset);
        }
        if (offset >= (std::int64_t{1} << timer_queue::tick_shift)) {
            const unsigned width = 64 - std::countl_zero(static_cast<std::uint64_t>(offset));
            const unsigned level = (width - timer_queue::tick_shift) / timer_queue::slot_bits;
            ++level_hits_[std::min(level, timer_queue::wheel_levels - 1)];
        }
        const std::int64_t d = saturating_add(now_, offset);
        recent_[rng_() % recent_.size()] = d;
        return d;
    }

    int pick_timer() { return static_cast<int>(rng_() % timers_); }

    void start_or_refresh(int id, bool refresh) {
        const std::int64_t d = pick_deadline();
        model_timer& t = pool_[id];
        ++(refresh ? refreshes_ : starts_);
        if (refresh) {
            queue_->refresh(t, nanoseconds(d));
        } else if (t.queued()) {
            EXPECT_THROW(queue_->start(t, nanoseconds(d)), std::invalid_argument);
            return;
        } else {
            queue_->start(t, nanoseconds(d));
        }
        ref_->set(id, d);
        ASSERT_EQ(t.deadline(), nanoseconds(d));
    }

    void cancel(int id) {
        queue_->cancel(pool_[id]);
        ref_->cancel(id);
        ++cancels_;
        ASSERT_FALSE(pool_[id].queued());
    }

    // What a callback might do: touch a few random timers, or re-arm itself.
    void mutate() {
        const unsigned what = rng_() % 10;
        const int id = pick_timer();
        if (what < 5) {
            start_or_refresh(id, false);
        } else if (what < 8) {
            start_or_refresh(id, true);
        } else {
            cancel(id);
        }
        ++ops_;
    }

    // With a budget, an answer given while the queue is cascading is a lower bound; half the
    // time the check stops there (leaving the cascade unfinished for what follows), half the
    // time it asks again until the answer is exact.
    void check_next_deadline() {
        ++peeks_;
        std::optional<nanoseconds> got = queue_->next_deadline();
        const std::optional<std::int64_t> want = ref_->next_deadline();
        while (queue_->cascading() && !(got && want && got->count() == *want)) {
            ASSERT_TRUE(budgeted_) << "cascading without a budget";
            ASSERT_TRUE(got.has_value() && want.has_value());
            ASSERT_LE(got->count(), *want) << "a lower bound after the earliest deadline";
            ++partial_answers_;
            if (rng_() % 2 == 0) {
                return;
            }
            got = queue_->next_deadline();
        }
        ASSERT_EQ(got.has_value(), want.has_value());
        if (want) {
            ASSERT_EQ(got->count(), *want) << "now " << now_;
        }
    }

    // pop_due(now_), asked again as a loop would: a budgeted queue that is still cascading
    // may answer nullptr with an entry due, and then its next_deadline() is not after now_
    // (the loop polls and comes back).  Callbacks may act in between, as between passes.
    timer_entry* pop_due_now() {
        timer_entry* e = queue_->pop_due(nanoseconds(now_));
        while (e == nullptr && queue_->cascading()) {
            EXPECT_TRUE(budgeted_) << "cascading without a budget";
            const std::optional<nanoseconds> next = queue_->next_deadline();
            if (!next || next->count() > now_) {
                break;  // nothing is due: the bound says so
            }
            ++partial_answers_;
            if (rng_() % 4 == 0) {
                mutate();
            }
            e = queue_->pop_due(nanoseconds(now_));
        }
        return e;
    }

    // Advance to `now` and pop every due timer, comparing each with the reference; between
    // pops, act like callbacks.
    void fire(std::int64_t now) {
        now_ = std::max(now_, now);
        for (;;) {
            timer_entry* e = pop_due_now();
            const int want = ref_->pop_due(now_);
            ++ops_;
            if (want < 0) {
                ASSERT_EQ(e, nullptr) << "popped a timer the reference does not have due at "
                                      << now_ << ": deadline " << e->deadline().count();
                return;
            }
            ASSERT_NE(e, nullptr) << "missed timer " << want << " (deadline "
                                  << pool_[want].deadline().count() << ") at " << now_;
            const int got = static_cast<model_timer*>(e)->id;
            ++pops_;
            ASSERT_EQ(got, want) << "deadlines " << e->deadline().count() << " vs "
                                 << pool_[want].deadline().count() << " at " << now_;
            ASSERT_FALSE(e->queued());
            ASSERT_LE(e->deadline().count(), now_);
            if (now_ != int64_max) {
                const unsigned callbacks = rng_() % 4;
                for (unsigned i = 0; i < callbacks; ++i) {
                    if (rng_() % 3 == 0) {
                        start_or_refresh(got, rng_() % 2 == 0);  // periodic re-arm
                    } else {
                        mutate();
                    }
                }
            }
        }
    }

    void step() {
        const unsigned what = rng_() % 100;
        if (what < 70) {
            mutate();
        } else if (what < 82) {
            check_next_deadline();
            ++ops_;
        } else if (what < 92) {
            // Time passes a little (within a few ticks).
            fire(saturating_add(now_, static_cast<std::int64_t>(rng_() % (1u << 18))));
        } else if (what < 99) {
            // The loop sleeps until the next deadline.
            const std::optional<nanoseconds> next = queue_->next_deadline();
            if (next) {
                fire(next->count());
            }
        } else {
            // A long sleep: any distance.
            const unsigned bits = rng_() % 63;
            fire(saturating_add(now_, static_cast<std::int64_t>(rng_() >> (64 - bits - 1))));
        }
    }

    kind kind_;
    bool budgeted_;
    std::mt19937_64 rng_;
    std::size_t timers_ = 0;
    std::optional<timer_queue> queue_;
    std::optional<reference> ref_;
    std::vector<model_timer> pool_;
    std::int64_t now_ = 0;
    std::array<std::int64_t, 8> recent_{};
    std::array<std::uint64_t, timer_queue::wheel_levels> level_hits_{};
    std::uint64_t ops_ = 0;
    std::uint64_t starts_ = 0;
    std::uint64_t refreshes_ = 0;
    std::uint64_t cancels_ = 0;
    std::uint64_t pops_ = 0;
    std::uint64_t peeks_ = 0;
    std::size_t max_queued_ = 0;
    std::uint64_t partial_answers_ = 0;
};

class TimerQueueModel : public ::testing::TestWithParam<variant> {};

INSTANTIATE_TEST_SUITE_P(Kinds, TimerQueueModel,
                         ::testing::Values(variant{kind::wheel, false}, variant{kind::heap, false},
                                           variant{kind::wheel, true}),
                         [](const auto& info) {
                             if (info.param.k == kind::heap) {
                                 return "heap";
                             }
                             return info.param.budgeted ? "wheel_with_cascade_budget" : "wheel";
                         });

TEST_P(TimerQueueModel, MatchesAnOrderedReference) {
    const std::uint64_t seed = env_or("TFD_MODEL_SEED", 20261128);
    const std::uint64_t ops = env_or("TFD_MODEL_OPS", default_ops);
    SCOPED_TRACE("seed " + std::to_string(seed) + ", ops " + std::to_string(ops));
    model_run(GetParam(), seed).run(ops);
}

}  // namespace
}  // namespace tfd
