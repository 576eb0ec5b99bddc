// Fuzzes timer_queue operation sequences, both kinds at once, against an ordered reference
// (a std::set of (deadline, start order)).  Where tests/unit/timer_queue_model_test.cpp runs
// millions of random operations with a fixed distribution, this lets libFuzzer steer towards
// the sequences that reach new code: wheel boundaries, cascades, ties, extreme deadlines,
// and time jumping backwards.
//
// Input: a stream of operations, each an opcode byte followed by its operands (missing bytes
// read as zero).  Opcodes: start, refresh, cancel, advance-and-pop, next_deadline, full
// invariant check.  Deadlines are relative to the current time (small or large offsets, both
// signs), absolute int64 values, or another timer's deadline (ties).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>

#include "tfd/timer_queue.hpp"

namespace {

using std::chrono::nanoseconds;
constexpr std::size_t pool = 32;

class reader {
  public:
    reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    bool done() const { return size_ == 0; }
    std::uint8_t byte() {
        if (size_ == 0) {
            return 0;
        }
        --size_;
        return *data_++;
    }
    std::uint64_t word(int bytes) {
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) {
            v = (v << 8) | byte();
        }
        return v;
    }

  private:
    const std::uint8_t* data_;
    std::size_t size_;
};

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
    std::int64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) {
        return b > 0 ? std::numeric_limits<std::int64_t>::max()
                     : std::numeric_limits<std::int64_t>::min();
    }
    return sum;
}

[[noreturn]] void fail(const char* what, std::size_t op, std::int64_t now) {
    std::fprintf(stderr, "timer_queue_fuzz: %s (operation %zu, now %lld)\n", what, op,
                 static_cast<long long>(now));
    std::abort();
}

// Both kinds of queue with their entries, and the reference they must agree with.
class harness {
  public:
    void run(reader& in) {
        for (std::size_t op = 0; !in.done(); ++op) {
            op_ = op;
            std::uint8_t code = in.byte();
            switch (code % 8) {
                case 0:
                case 1:
                    start(in.byte() % pool, deadline(in));
                    break;
                case 2:
                    refresh(in.byte() % pool, deadline(in));
                    break;
                case 3:
                    cancel(in.byte() % pool);
                    break;
                case 4:
                case 5:
                    advance(in);
                    break;
                case 6:
                    compare_next();
                    break;
                case 7:
                    for (auto& q : queues_) {
                        q.check_invariants();
                    }
                    break;
            }
            compare_sizes();
        }
        // Drain everything: the queues must give every remaining timer, in order.
        pop_all(std::numeric_limits<std::int64_t>::max());
        if (!order_.empty()) {
            fail("a timer survived popping at the end of time", op_, now_);
        }
    }

  private:
    std::int64_t deadline(reader& in) {
        std::uint8_t mode = in.byte();
        switch (mode % 5) {
            case 0:  // near: within ~16 ms either side, at ns resolution
                return saturating_add(now_, static_cast<std::int16_t>(in.word(2)) * 256 +
                                                static_cast<std::int64_t>(in.byte()));
            case 1: {  // far: a log-scale offset, 2^0 .. 2^62 ns ahead (or behind)
                unsigned shift = in.byte() % 63;
                std::int64_t offset = static_cast<std::int64_t>(
                    (std::uint64_t{1} << shift) | (in.word(2) << (shift > 16 ? shift - 16 : 0)));
                offset &= std::numeric_limits<std::int64_t>::max();
                return saturating_add(now_, mode & 0x80 ? -offset : offset);
            }
            case 2:  // any int64
                return static_cast<std::int64_t>(in.word(8));
            case 3: {  // a tie with another timer's deadline (or now)
                std::size_t other = in.byte() % pool;
                return model_[other] ? model_[other]->first : now_;
            }
            default:  // exactly now
                return now_;
        }
    }

    void start(std::size_t i, std::int64_t when) {
        if (model_[i]) {
            // Starting a queued entry is refused, by both kinds, and changes nothing.
            for (std::size_t k = 0; k < 2; ++k) {
                bool threw = false;
                try {
                    queues_[k].start(entries_[k][i], nanoseconds(when));
                } catch (const std::invalid_argument&) {
                    threw = true;
                }
                if (!threw) {
                    fail("start of a queued entry was not refused", op_, now_);
                }
            }
            return;
        }
        for (std::size_t k = 0; k < 2; ++k) {
            queues_[k].start(entries_[k][i], nanoseconds(when));
        }
        enqueue(i, when);
    }

    void refresh(std::size_t i, std::int64_t when) {
        for (std::size_t k = 0; k < 2; ++k) {
            queues_[k].refresh(entries_[k][i], nanoseconds(when));
        }
        dequeue(i);
        enqueue(i, when);
    }

    void cancel(std::size_t i) {
        for (std::size_t k = 0; k < 2; ++k) {
            queues_[k].cancel(entries_[k][i]);
            if (entries_[k][i].queued()) {
                fail("entry still queued after cancel", op_, now_);
            }
        }
        dequeue(i);
    }

    // Moves time (mostly forward, by up to ~2^40 ns; one value in 16 jumps anywhere, backwards
    // included) and pops everything due.
    void advance(reader& in) {
        std::uint8_t how = in.byte();
        if (how % 16 == 15) {
            now_ = static_cast<std::int64_t>(in.word(8));
        } else {
            unsigned shift = in.byte() % 40;
            now_ = saturating_add(now_, static_cast<std::int64_t>(in.word(1) << shift));
        }
        pop_all(now_);
    }

    void pop_all(std::int64_t now) {
        for (;;) {
            std::optional<std::size_t> want;
            if (!order_.empty() && order_.begin()->first <= now) {
                want = index_of_seq_[order_.begin()->second];
            }
            for (std::size_t k = 0; k < 2; ++k) {
                tfd::timer_entry* got = queues_[k].pop_due(nanoseconds(now));
                std::optional<std::size_t> index;
                if (got != nullptr) {
                    index = static_cast<std::size_t>(got - entries_[k].data());
                }
                if (index != want) {
                    fail(k == 0 ? "wheel: pop_due gave the wrong timer"
                                : "heap: pop_due gave the wrong timer",
                         op_, now);
                }
                if (got != nullptr && got->queued()) {
                    fail("a popped entry is still queued", op_, now);
                }
            }
            if (!want) {
                return;
            }
            dequeue(*want);
        }
    }

    void compare_next() {
        std::optional<std::int64_t> want;
        if (!order_.empty()) {
            want = order_.begin()->first;
        }
        for (auto& q : queues_) {
            std::optional<nanoseconds> got = q.next_deadline();
            if (got.has_value() != want.has_value() || (got && got->count() != *want)) {
                fail("next_deadline differs from the reference", op_, now_);
            }
        }
    }

    void compare_sizes() {
        for (auto& q : queues_) {
            if (q.size() != order_.size()) {
                fail("size differs from the reference", op_, now_);
            }
        }
    }

    void enqueue(std::size_t i, std::int64_t when) {
        std::uint64_t seq = next_seq_++;
        model_[i] = std::make_pair(when, seq);
        order_.emplace(when, seq);
        index_of_seq_[seq] = i;
    }

    void dequeue(std::size_t i) {
        if (model_[i]) {
            order_.erase(*model_[i]);
            index_of_seq_.erase(model_[i]->second);
            model_[i].reset();
        }
    }

    std::int64_t now_ = 0;
    std::size_t op_ = 0;
    std::uint64_t next_seq_ = 1;
    std::array<std::optional<std::pair<std::int64_t, std::uint64_t>>, pool> model_{};
    std::set<std::pair<std::int64_t, std::uint64_t>> order_;
    std::map<std::uint64_t, std::size_t> index_of_seq_;
    // Entries before queues: the queues go first, leaving their entries unqueued.
    std::array<std::array<tfd::timer_entry, pool>, 2> entries_;
    std::array<tfd::timer_queue, 2> queues_{tfd::timer_queue(tfd::timer_queue::kind::wheel),
                                            tfd::timer_queue(tfd::timer_queue::kind::heap)};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    reader in(data, size);
    harness h;
    h.run(in);
    return 0;
}
