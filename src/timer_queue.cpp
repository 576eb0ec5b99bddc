// The timer queue's operations, filing between its tiers, and its invariant checks; the
// tiers themselves are in timer_queue_heap.cpp and timer_queue_wheel.cpp.
#include "tfd/timer_queue.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

#include "timer_queue_detail.hpp"

namespace tfd {
using namespace timer_queue_detail;

timer_entry::~timer_entry() {
    if constexpr (debug_build) {
        TFD_TQ_REQUIRE(idle(), "timer_entry destroyed while queued or due: " +
                                   describe(this, deadline_, order_));
    }
}

timer_queue::timer_queue(kind k) : kind_(k) {}

timer_queue::~timer_queue() {
    // Leave the entries in a state their owners can still cancel (a no-op) or destroy.
    for (heap_node& n : heap_) {
        n.entry->order_ &= ~timer_entry::place_mask;
    }
    for (slot_array& level : slots_) {
        for (slot_lists& lists : level) {
            for (std::uintptr_t head : lists.lane) {
                for (timer_entry* e = entry_at(head); e != nullptr; e = entry_at(e->next_)) {
                    e->order_ &= ~timer_entry::place_mask;
                }
            }
        }
    }
}

std::size_t timer_queue::heap_capacity_bytes() const noexcept {
    return heap_.capacity() * sizeof(heap_node);
}

// ---- public operations -------------------------------------------------------------------

void timer_queue::start(timer_entry& e, std::chrono::nanoseconds deadline) {
    if (!e.idle()) {
        throw std::invalid_argument("timer_queue::start: entry already queued (deadline " +
                                    std::to_string(e.deadline_) + " ns); use refresh()");
    }
    file(e, deadline.count());
    ++size_;
    debug_check();
}

void timer_queue::cancel(timer_entry& e) noexcept {
    if (!e.queued()) {
        return;
    }
    unfile(e);
    --size_;
    debug_check();
}

void timer_queue::refresh(timer_entry& e, std::chrono::nanoseconds deadline) {
    const std::int64_t d = deadline.count();
    if (e.where() == timer_entry::place::heap && (kind_ == kind::heap || belongs_in_heap(d))) {
        // Stays in the heap: re-key in place, one sift instead of an erase and a push.
        e.deadline_ = d;
        e.order_ = (next_seq_++ << timer_entry::place_bits) |
                   static_cast<std::uint64_t>(timer_entry::place::heap);
        heap_rekey(e);
    } else if (e.where() == timer_entry::place::wheel && d >= e.deadline_) {
        // Later, in the wheel: leave the entry in its slot, which still starts no later than
        // the new deadline (I4), and let the slot re-file it when it comes up.  A pushed-back
        // timeout, the common refresh, then touches only its own entry.
        e.deadline_ = d;
        e.order_ = (next_seq_++ << timer_entry::place_bits) |
                   static_cast<std::uint64_t>(timer_entry::place::wheel);
    } else {
        if (e.queued()) {
            unfile(e);
            --size_;
        }
        file(e, d);
        ++size_;
    }
    debug_check();
}

std::optional<std::chrono::nanoseconds> timer_queue::next_deadline() {
    if (heap_.empty() && !refill()) {
        if (cascading()) {
            // The budget ran out: nothing still waiting to be re-filed is before H (I3).
            return std::chrono::nanoseconds(tick_start_ns(elapsed_));
        }
        return std::nullopt;
    }
    return std::chrono::nanoseconds(heap_.front().deadline);
}

timer_entry* timer_queue::pop_due(std::chrono::nanoseconds now) {
    if (heap_.empty()) {
        // Cascade only when the earliest wheel slot has begun, so the horizon stays close
        // to the present and timers started later keep landing in the O(1) wheel.
        const std::optional<std::int64_t> start = earliest_slot_start();
        if (!start || *start > now.count()) {
            follow(now.count());
            return nullptr;
        }
        if (!refill()) {
            return nullptr;
        }
    }
    if (heap_.front().deadline > now.count()) {
        return nullptr;
    }
    timer_entry& e = heap_pop();
    e.order_ &= ~timer_entry::place_mask;
    --size_;
    debug_check();
    return &e;
}

// With the heap empty and nothing in the wheel due by `now`, moves the wheel's reference up to
// `now`: every occupied slot starts after `now` (the earliest does, I4), so this keeps I3 and
// I4, and timers started from now on are filed relative to the present, at lower levels.
void timer_queue::follow(std::int64_t now) noexcept {
    if (now >= 0 && tick_of(now) > elapsed_) {
        advance_to(tick_of(now));
    }
}

void timer_queue::set_origin(std::chrono::nanoseconds now) noexcept {
    if (size_ == 0) {
        elapsed_ = now.count() > 0 ? tick_of(now.count()) : 0;
    }
}

// ---- filing: which tier an entry goes to ---------------------------------------------------

bool timer_queue::belongs_in_heap(std::int64_t deadline) const noexcept {
    return deadline < 0 || tick_of(deadline) < elapsed_;
}

void timer_queue::file(timer_entry& e, std::int64_t deadline) {
    const std::uint64_t seq = next_seq_++;
    if (kind_ == kind::heap || belongs_in_heap(deadline)) {
        heap_reserve(1);  // the only step that can throw; nothing has changed yet
        e.deadline_ = deadline;
        e.order_ = seq << timer_entry::place_bits;
        heap_push(e);
    } else {
        e.deadline_ = deadline;
        e.order_ = seq << timer_entry::place_bits;
        wheel_link(e);
    }
}

void timer_queue::unfile(timer_entry& e) noexcept {
    if (e.where() == timer_entry::place::heap) {
        heap_erase(e);
    } else {
        wheel_unlink(e);
    }
    e.order_ &= ~timer_entry::place_mask;
}

// ---- invariants ---------------------------------------------------------------------------

void timer_queue::debug_check() const {
    if constexpr (debug_build) {
        if (size_ <= debug_full_check_limit) {
            check_invariants();
        }
    }
}

// Checks I3, I4 and I5 over one lane (whose head is `head`) of slot `slot` of `level`, adds
// its entries' start sequences to `seqs` and returns how many entries it holds.
std::size_t timer_queue::check_lane(unsigned level, unsigned slot, const std::uintptr_t* head,
                                    std::vector<std::uint64_t>& seqs) const {
    const unsigned own = slot_of(elapsed_, level);
    std::size_t count = 0;
    const std::uintptr_t* expected_pprev = head;
    for (const timer_entry* e = entry_at(*head); e != nullptr; e = entry_at(e->next_)) {
        const auto ctx = [&] {
            return "elapsed tick " + std::to_string(elapsed_) + ", level " + std::to_string(level) +
                   " slot " + std::to_string(slot) + ", " + describe(e, e->deadline_, e->order_);
        };
        TFD_TQ_REQUIRE(kind_ == kind::wheel, ctx());                     // I3
        TFD_TQ_REQUIRE(e->where() == timer_entry::place::wheel, ctx());  // I5
        TFD_TQ_REQUIRE(e->pprev_ == expected_pprev, ctx());              // I5
        TFD_TQ_REQUIRE(!belongs_in_heap(e->deadline_), ctx());           // I3
        const std::uint64_t tick = tick_of(e->deadline_);
        TFD_TQ_REQUIRE(slot_start(elapsed_, level, slot) <= tick, ctx());  // I4
        TFD_TQ_REQUIRE(slot >= own, ctx());                                // I4
        expected_pprev = &e->next_;
        seqs.push_back(e->order_ >> timer_entry::place_bits);
        ++count;
    }
    return count;
}

void timer_queue::check_invariants() const {
    std::vector<std::uint64_t> seqs;
    seqs.reserve(size_);
    // Contexts are lambdas so that strings are only built for a failure.
    const auto where = [&] {
        return "elapsed tick " + std::to_string(elapsed_) + ", size " + std::to_string(size_) +
               ", heap " + std::to_string(heap_.size());
    };
    for (std::size_t i = 0; i < heap_.size(); ++i) {
        const heap_node& n = heap_[i];
        const timer_entry* e = n.entry;
        const auto ctx = [&] {
            return where() + ", heap[" + std::to_string(i) + "] " +
                   describe(e, e->deadline_, e->order_);
        };
        TFD_TQ_REQUIRE(e->where() == timer_entry::place::heap, ctx());                // I2
        TFD_TQ_REQUIRE(e->next_ == i, ctx());                                         // I2
        TFD_TQ_REQUIRE(n.deadline == e->deadline_, ctx());                            // I2
        TFD_TQ_REQUIRE(i == 0 || !before(n, heap_[(i - 1) / heap_arity]), ctx());     // I2
        TFD_TQ_REQUIRE(kind_ == kind::heap || belongs_in_heap(e->deadline_), ctx());  // I3
        seqs.push_back(e->order_ >> timer_entry::place_bits);
    }
    std::size_t in_wheel = 0;
    for (unsigned level = 0; level < wheel_levels; ++level) {
        for (unsigned slot = 0; slot < wheel_slots; ++slot) {
            const auto sctx = [&] {
                return where() + ", level " + std::to_string(level) + " slot " +
                       std::to_string(slot);
            };
            const bool occupied = ((occupied_[level] >> slot) & 1u) != 0;
            TFD_TQ_REQUIRE(occupied == !slots_[level][slot].empty(), sctx());  // I5
            for (const std::uintptr_t& head : slots_[level][slot].lane) {
                in_wheel += check_lane(level, slot, &head, seqs);
            }
        }
    }
    TFD_TQ_REQUIRE(size_ == heap_.size() + in_wheel, where());  // I1
    std::sort(seqs.begin(), seqs.end());
    TFD_TQ_REQUIRE(std::adjacent_find(seqs.begin(), seqs.end()) == seqs.end(), where());  // I6
    TFD_TQ_REQUIRE(seqs.empty() || seqs.back() < next_seq_, where());                     // I6
}

}  // namespace tfd
