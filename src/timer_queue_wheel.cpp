// The timer queue's far tier: the hierarchical timing wheel (geometry and invariants in
// include/tfd/timer_queue.hpp), its slot lists, cascades and refills.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "timer_queue_detail.hpp"

namespace tfd {

using namespace timer_queue_detail;

// ---- far tier: hierarchical wheel ---------------------------------------------------------

void timer_queue::wheel_link(timer_entry& e) noexcept {
    const std::uint64_t tick = tick_of(e.deadline_);
    const unsigned level = level_of(tick, elapsed_);
    const unsigned slot = slot_of(tick, level);
    TFD_TQ_DEBUG_REQUIRE(
        e.deadline_ >= 0 && tick >= elapsed_ && level < wheel_levels &&
            (level == 0 || slot != slot_of(elapsed_, level)),
        describe(&e, e.deadline_, e.order_) + ", elapsed tick " + std::to_string(elapsed_));
    std::uintptr_t* const head =
        &slots_[level][slot].lane[(e.order_ >> timer_entry::place_bits) % slot_lanes];
    e.next_ = *head;
    e.pprev_ = head;
    if (*head != 0) {
        entry_at(*head)->pprev_ = &e.next_;
    }
    *head = word_of(&e);
    e.order_ = (e.order_ & ~timer_entry::place_mask) |
               static_cast<std::uint64_t>(timer_entry::place::wheel);
    occupied_[level] |= std::uint64_t{1} << slot;
}

void timer_queue::wheel_unlink(timer_entry& e) noexcept {
    const std::uintptr_t next = e.next_;
    std::uintptr_t* const pprev = e.pprev_;
    TFD_TQ_DEBUG_REQUIRE(*pprev == word_of(&e), describe(&e, e.deadline_, e.order_) +
                                                    ": pprev does not point at the entry");
    *pprev = next;
    if (next != 0) {
        entry_at(next)->pprev_ = pprev;
        return;
    }
    // The entry was last in its lane; if it was also first, `pprev` is the lane's head and the
    // lane is now empty (and maybe the slot).  Heads are one contiguous block, so the address
    // says which.
    const auto base = reinterpret_cast<std::uintptr_t>(slots_.data());
    const auto at = reinterpret_cast<std::uintptr_t>(pprev);
    if (at >= base && at < base + sizeof(slots_)) {
        slot_became_empty(pprev);
    }
}

// `head`, a lane head in slots_, has just become empty: clears the slot's occupied bit when
// its other lanes are empty too.
void timer_queue::slot_became_empty(std::uintptr_t* head) noexcept {
    const auto offset =
        reinterpret_cast<std::uintptr_t>(head) - reinterpret_cast<std::uintptr_t>(slots_.data());
    const std::size_t index = offset / sizeof(slot_lists);
    const std::size_t level = index / wheel_slots;
    const std::size_t slot = index % wheel_slots;
    TFD_TQ_DEBUG_REQUIRE(head >= slots_[level][slot].lane.data() &&
                             head < slots_[level][slot].lane.data() + slot_lanes,
                         "slot head arithmetic");
    if (slots_[level][slot].empty()) {
        occupied_[level] &= ~(std::uint64_t{1} << slot);
    }
}

bool timer_queue::slot_lists::empty() const noexcept {
    std::uintptr_t any = 0;
    for (std::uintptr_t head : lane) {
        any |= head;
    }
    return any == 0;
}

// Empties slot `slot` of `level` and returns its lanes, still linked among themselves (their
// first entries' pprev point at the old heads: the caller relinks or moves every entry).
timer_queue::slot_lists timer_queue::take_slot(unsigned level, unsigned slot) noexcept {
    const slot_lists taken = slots_[level][slot];
    slots_[level][slot] = slot_lists{};
    occupied_[level] &= ~(std::uint64_t{1} << slot);
    return taken;
}

// Calls fn(entry) for every entry of `lists`, walking the lanes in turn, one entry of each
// per round, and prefetching each lane's next entry: hops along different lanes do not depend
// on each other, so their cache misses overlap instead of queueing.  fn may relink the entry
// (its successor has been read already).
template <class Fn>
void timer_queue::for_each_interleaved(const slot_lists& lists, Fn fn) {
    std::array<std::uintptr_t, slot_lanes> cursor = lists.lane;
    for (bool more = true; more;) {
        more = false;
        for (std::uintptr_t& at : cursor) {
            if (at == 0) {
                continue;
            }
            timer_entry* const e = entry_at(at);
            at = e->next_;
            if (at != 0) {
                __builtin_prefetch(entry_at(at));
                more = true;
            }
            fn(*e);
        }
    }
}

void timer_queue::cascade(unsigned level, unsigned slot) noexcept {
    for_each_interleaved(take_slot(level, slot), [this](timer_entry& e) { wheel_link(e); });
}

// Re-files at most `left` entries of slot `slot` of `level`, the first ones of each lane in
// turn (walked side by side, as for_each_interleaved does), and returns how many it moved.
// The lanes keep the rest: their heads are set to the first entry not moved.  Re-filed
// entries never land back in this slot: it is an own slot (see wheel_link).
std::size_t timer_queue::cascade_some(unsigned level, unsigned slot, std::size_t left) noexcept {
    slot_lists& lists = slots_[level][slot];
    std::array<std::uintptr_t, slot_lanes> cursor = lists.lane;
    std::size_t moved = 0;
    for (bool any = true; any && moved < left;) {
        any = false;
        for (std::uintptr_t& at : cursor) {
            if (at == 0 || moved == left) {
                continue;
            }
            timer_entry* const e = entry_at(at);
            at = e->next_;
            if (at != 0) {
                __builtin_prefetch(entry_at(at));
            }
            wheel_link(*e);
            ++moved;
            any = true;
        }
    }
    for (unsigned lane = 0; lane < slot_lanes; ++lane) {
        lists.lane[lane] = cursor[lane];
        if (cursor[lane] != 0) {
            entry_at(cursor[lane])->pprev_ = &lists.lane[lane];
        }
    }
    if (lists.empty()) {
        occupied_[level] &= ~(std::uint64_t{1} << slot);
    }
    return moved;
}

// Moves the wheel's reference to `tick` (never past the start of an occupied slot).  A
// level's own slot that the reference enters is re-filed at once without a cascade budget;
// with one, it keeps its entries until settle() re-files them (I4), and no entry can be due
// before the reference meanwhile (I3).
void timer_queue::advance_to(std::uint64_t tick) noexcept {
    elapsed_ = tick;
    if (cascade_budget_ == 0) {
        std::size_t unlimited = std::numeric_limits<std::size_t>::max();
        (void)settle(unlimited);
    }
}

bool timer_queue::cascading() const noexcept {
    for (unsigned level = 1; level < wheel_levels; ++level) {
        if ((occupied_[level] >> slot_of(elapsed_, level)) & 1u) {
            return true;
        }
    }
    return false;
}

// Re-files the entries of the occupied own slots, top-down, spending at most `left` of them
// (SIZE_MAX: no limit), and returns whether none is left.  A re-filed entry never lands in
// the own slot of a level >= 1 (its group there differs from the reference's), so one pass
// suffices.
bool timer_queue::settle(std::size_t& left) noexcept {
    for (unsigned level = wheel_levels - 1; level >= 1; --level) {
        const unsigned own = slot_of(elapsed_, level);
        if (((occupied_[level] >> own) & 1u) == 0) {
            continue;
        }
        if (left == std::numeric_limits<std::size_t>::max()) {
            cascade(level, own);
            continue;
        }
        left -= cascade_some(level, own, left);
        if ((occupied_[level] >> own) & 1u) {
            return false;
        }
    }
    return true;
}

std::optional<std::int64_t> timer_queue::earliest_slot_start() const noexcept {
    if (cascading()) {
        return tick_start_ns(elapsed_);  // entries wait in an own slot: none is before H
    }
    // Lower levels lie wholly inside the own slot of every higher level (I4), so the lowest
    // occupied level holds the earliest timers, in its lowest occupied slot.
    for (unsigned level = 0; level < wheel_levels; ++level) {
        if (occupied_[level] != 0) {
            const auto slot = static_cast<unsigned>(std::countr_zero(occupied_[level]));
            return tick_start_ns(slot_start(elapsed_, level, slot));
        }
    }
    return std::nullopt;
}

// With the heap empty, moves the earliest wheel timers into it.  Returns false when the
// wheel is empty too, or when the cascade budget ran out first (cascading() then says so).
bool timer_queue::refill() {
    std::size_t left =
        cascade_budget_ == 0 ? std::numeric_limits<std::size_t>::max() : cascade_budget_;
    for (;;) {
        if (!settle(left)) {
            return false;
        }
        unsigned level = 0;
        while (level < wheel_levels && occupied_[level] == 0) {
            ++level;
        }
        if (level == wheel_levels) {
            return false;
        }
        const auto slot = static_cast<unsigned>(std::countr_zero(occupied_[level]));
        const std::uint64_t start = slot_start(elapsed_, level, slot);
        if (level > 0) {
            advance_to(start);  // the slot becomes the own slot: settle() re-files it
            continue;
        }
        drain_slot(slot, start);
        if (!heap_.empty()) {
            return true;
        }
        // Every entry of the slot had been pushed back (refresh) and was re-filed: go on.
    }
}

// Moves the entries of level-0 slot `slot` (tick `tick`) that are due in that tick into the
// heap and re-files the others, which a refresh pushed back to a later tick.
void timer_queue::drain_slot(unsigned slot, std::uint64_t tick) {
    // Reserve first so that nothing is lost if memory runs out.
    std::size_t count = 0;
    for_each_interleaved(slots_[0][slot], [&count, tick](timer_entry& e) {
        count += tick_of(e.deadline_) == tick ? 1 : 0;
    });
    heap_reserve(count);
    const slot_lists taken = take_slot(0, slot);
    advance_to(tick + 1);
    for_each_interleaved(taken, [this, tick](timer_entry& e) {
        if (tick_of(e.deadline_) == tick) {
            heap_push(e);
        } else {
            wheel_link(e);
        }
    });
}

}  // namespace tfd
