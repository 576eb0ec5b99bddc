// tfd::timer_queue: the pending timers of one clock, ordered by deadline, exact to the
// nanosecond, with O(1) amortised start, cancel and refresh.
//
// Theory of operation (the `wheel` kind, the default)
// ----------------------------------------------------
// Most timers are timeouts that are cancelled or pushed back before they fire, so starting
// and cancelling must be cheap, while firing must still be exact.  The queue is two tiers
// split at a moving boundary, the horizon H:
//
//   near tier  every timer with deadline < H, in a 4-ary min-heap keyed by (deadline, start
//              order): exact order, O(log n_near), and n_near is small because H moves
//              only to the end of the earliest occupied level-0 slot, or up to the clock
//              when nothing is due (follow()).
//   far tier   every timer with deadline >= H, in a hierarchical timing wheel of
//              `wheel_levels` levels of `wheel_slots` slots.  A slot of level 0 spans one
//              tick (2^tick_shift ns); a slot of level k spans wheel_slots^k ticks.  A timer
//              sits at the level of the highest 6-bit group in which its tick differs from
//              H's tick, so it is filed and unfiled in O(1) without ever being compared.
//
// When the near tier runs empty and the earliest deadline is asked for, the earliest
// occupied wheel slot is found with one bit scan per level; a slot of a higher level is
// spread ("cascaded") over the lower levels (in steps, given a cascade budget: see
// set_cascade_budget), and the level-0 slot's timers due in its tick
// are moved into the heap (those a refresh pushed later are filed again), H becoming the end
// of that slot.  Each timer therefore moves at most
// `wheel_levels` times before it fires (amortised O(1)), and never when it is cancelled
// first, which is the common case.  Refreshing a wheel timer to a later deadline (a
// pushed-back timeout) does not move it at all: its slot starts before the new deadline
// too, so it stays a valid lower bound, and the slot re-files the timer when it comes up.
// When pop_due(now) finds nothing due and the heap empty, H also follows the clock up to
// `now`, so that new timers are filed relative to the present (at lower levels).  This
// follows Varghese & Lauck's hierarchical wheel (as in Linux's timer wheel and Tokio's driver), but
// departs from them in that slots are never rounded: the heap below decides the exact nanosecond
// and the tie order.
//
// The `heap` kind is the plain baseline: one 4-ary heap of (cached deadline, entry) pairs
// with the heap index kept in the entry, like libev's.  Both kinds behave identically.
//
// Contract: deadlines are absolute nanoseconds of one clock, any int64 value (years away, in
// the past, negative).  pop_due(now) returns timers in (deadline, start order) order and
// never one whose deadline is after `now`.  Starting or refreshing a timer gives it a new
// place in the start order.  Entries are intrusive: the queue never allocates per timer and
// never owns an entry; an entry must be cancelled (or the queue destroyed) before the entry
// is destroyed.  Not thread-safe: one queue belongs to one loop thread.
#pragma once

#include "tfd/requires_cxx20.hpp"  // first: a plain error for an older C++

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tfd {

class timer_queue;
namespace detail {
class due_list;
}  // namespace detail

// The intrusive hook a timer embeds (or derives from).  32 bytes; address is identity, so it
// cannot be copied or moved.
class timer_entry {
  public:
    timer_entry() noexcept = default;
    timer_entry(const timer_entry&) = delete;
    timer_entry& operator=(const timer_entry&) = delete;
    ~timer_entry();

    // The deadline the entry was last started or refreshed with.
    [[nodiscard]] std::chrono::nanoseconds deadline() const noexcept {
        return std::chrono::nanoseconds(deadline_);
    }
    [[nodiscard]] bool queued() const noexcept {
        return where() == place::heap || where() == place::wheel;
    }
    // Neither queued nor held in an event loop's list of collected, not yet run, timers (the
    // loop keeps that list in the entry's links once the queue has handed the entry over).
    [[nodiscard]] bool idle() const noexcept { return where() == place::none; }

  private:
    friend class timer_queue;
    friend class detail::due_list;
    // due: collected by an event loop and waiting to run; never set by a timer_queue.
    enum class place : std::uint64_t { none = 0, heap = 1, wheel = 2, due = 3 };
    static constexpr unsigned place_bits = 2;
    static constexpr std::uint64_t place_mask = (1u << place_bits) - 1;

    place where() const noexcept { return static_cast<place>(order_ & place_mask); }

    // (start sequence << place_bits) | place.  Comparing whole values compares start order,
    // since no two starts share a sequence number.
    std::uint64_t order_ = 0;
    // In a wheel slot's list, (next entry's address or 0, address of the word that points at
    // this entry: the previous entry's next_ or the slot head), Linux "hlist" style, so that
    // unlinking needs no slot lookup.  In the heap, next_ holds the heap index.  Every link
    // word, slot heads included, is a std::uintptr_t: one type, so no union punning.
    std::uintptr_t next_ = 0;
    std::uintptr_t* pprev_ = nullptr;
    // Last: a cancel touches only the three words above (see detail::timer_base).
    std::int64_t deadline_ = 0;
};

class timer_queue {
  public:
    enum class kind { wheel, heap };  // wheel: tiered default; heap: 4-ary baseline

    // Geometry of the wheel.  A tick is 2^16 ns = 65.536 us, so the near heap holds the
    // timers of (about) one 65 us slot; 8 levels of 64 slots cover 2^(16+48) ns, every
    // non-negative int64 deadline.  Slot spans: level 0 65.5 us, 1 4.2 ms, 2 268 ms,
    // 3 17.2 s, 4 18.3 min, 5 19.5 h, 6 52 days, 7 9.1 years.
    static constexpr unsigned tick_shift = 16;
    static constexpr unsigned slot_bits = 6;
    static constexpr unsigned wheel_slots = 1u << slot_bits;
    static constexpr unsigned wheel_levels = 8;
    static_assert(tick_shift + slot_bits * wheel_levels >= 63, "the wheel must span int64");
    // Each wheel slot is this many independent lists ("lanes"), filled in turn.  Moving a
    // slot's timers (a cascade) walks the lanes side by side, so the processor waits for up
    // to this many cache misses at once instead of one pointer hop after another: timers
    // that waited long in a slot have usually left the cache.  Measured on the fire workload
    // (docs/timer-queue.md): 4 lanes cut the CPU per fired timer by about 40%; 8 gained
    // little more and slowed refreshes, whose links then land on colder list heads.
    static constexpr unsigned slot_lanes = 4;
    // The 4-ary heap's fan-out.
    static constexpr unsigned heap_arity = 4;
    // The cascade budget tfd's event loops set (set_cascade_budget): 4096 entries re-file in
    // 0.3 to 0.8 ms when none is in the cache, and a pass in between serves descriptors
    // (bench/cascade_stall_bench.cpp).
    static constexpr std::size_t loop_cascade_budget = 4096;

    explicit timer_queue(kind k = kind::wheel);
    // Leaves every still-queued entry unqueued (but does not touch its owner).
    ~timer_queue();
    timer_queue(const timer_queue&) = delete;
    timer_queue& operator=(const timer_queue&) = delete;

    // Queues `e` (which must not be queued: std::invalid_argument) at `deadline`.
    void start(timer_entry& e, std::chrono::nanoseconds deadline);
    // Unqueues `e`; a no-op when it is not queued.
    void cancel(timer_entry& e) noexcept;
    // Moves `e` to `deadline`, queuing it if needed; counts as a new start for tie order.
    // Cheaper than cancel + start: a later deadline in the wheel only rewrites the entry,
    // and an entry that stays in the heap is re-keyed in place.
    void refresh(timer_entry& e, std::chrono::nanoseconds deadline);
    // The earliest deadline, exact; nullopt when empty.  Not const: it may cascade.  With a
    // cascade budget, while cascading() it may instead return a lower bound.
    [[nodiscard]] std::optional<std::chrono::nanoseconds> next_deadline();
    // Unqueues and returns the earliest entry whose deadline is <= now (ties in start
    // order), or nullptr.  With a cascade budget, while cascading() it may return nullptr
    // although an entry is due.
    [[nodiscard]] timer_entry* pop_due(std::chrono::nanoseconds now);

    // Cascading a wheel slot costs a cache miss or more per timer in it, and a slot of a
    // high level can hold a large share of all the timers (a 17-second slot of level 3 holds
    // one in six of a million timeouts spread over 100 s): re-filing it in one go stalls
    // the caller for milliseconds.  With a budget of n > 0 entries, one call of
    // next_deadline() or pop_due() re-files at most about n entries and leaves the rest for
    // the next call; meanwhile cascading() is true, next_deadline() may answer a lower bound
    // (never later than the earliest deadline, so a caller that wakes for it is never
    // late), and pop_due(now) may answer nullptr although an entry is due, in which case
    // next_deadline() answers a time <= now: ask again.  Order and exactness are unchanged:
    // nothing is popped before every earlier entry is.  0, the default, is no limit: every
    // call gives the exact answer (and the first one after a budget is lifted finishes what
    // was left).
    void set_cascade_budget(std::size_t entries) noexcept { cascade_budget_ = entries; }
    // Tells an empty queue what time it is, so that its first timers are filed relative to
    // the present.  Otherwise the wheel starts at the clock's epoch, every timer of a clock
    // that has run for hours is filed at a high level, and the first refill re-files all of
    // them once per level on the way down.  Ignored unless empty().
    void set_origin(std::chrono::nanoseconds now) noexcept;
    [[nodiscard]] std::size_t cascade_budget() const noexcept { return cascade_budget_; }
    // True while a slot's entries are still being re-filed (see set_cascade_budget): the next
    // next_deadline() or pop_due() goes on with it.
    [[nodiscard]] bool cascading() const noexcept;

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] kind get_kind() const noexcept { return kind_; }
    // Bytes the queue itself holds beyond sizeof(timer_queue) (the heap array).
    [[nodiscard]] std::size_t heap_capacity_bytes() const noexcept;

    // Checks every invariant over the whole queue (O(n)); on a violation prints the broken
    // invariant with its context and aborts.  Debug builds also run it after mutations of
    // small queues.
    void check_invariants() const;

  private:
    struct heap_node {
        std::int64_t deadline;  // cached so sifting rarely touches the entry
        timer_entry* entry;
    };
    // One slot's lane heads (entry addresses, 0 for an empty lane), never split across two
    // cache lines.
    struct alignas(sizeof(std::uintptr_t) * slot_lanes) slot_lists {
        std::array<std::uintptr_t, slot_lanes> lane{};
        [[nodiscard]] bool empty() const noexcept;
    };
    using slot_array = std::array<slot_lists, wheel_slots>;

    // Near heap.
    static bool before(const heap_node& a, const heap_node& b) noexcept;
    void heap_reserve(std::size_t more);
    void heap_push(timer_entry& e);
    void heap_erase(timer_entry& e) noexcept;
    void heap_rekey(timer_entry& e) noexcept;
    timer_entry& heap_pop() noexcept;
    void sift_up(std::size_t i) noexcept;
    void sift_down(std::size_t i) noexcept;
    void place_node(std::size_t i, heap_node n) noexcept;
    void maybe_shrink() noexcept;

    // Wheel.
    bool belongs_in_heap(std::int64_t deadline) const noexcept;
    void wheel_link(timer_entry& e) noexcept;
    void wheel_unlink(timer_entry& e) noexcept;
    slot_lists take_slot(unsigned level, unsigned slot) noexcept;
    void slot_became_empty(std::uintptr_t* head) noexcept;
    void advance_to(std::uint64_t tick) noexcept;
    bool settle(std::size_t& left) noexcept;
    void cascade(unsigned level, unsigned slot) noexcept;
    std::size_t cascade_some(unsigned level, unsigned slot, std::size_t left) noexcept;
    bool refill();
    void follow(std::int64_t now) noexcept;
    void drain_slot(unsigned slot, std::uint64_t tick);
    std::optional<std::int64_t> earliest_slot_start() const noexcept;

    void file(timer_entry& e, std::int64_t deadline);
    void unfile(timer_entry& e) noexcept;
    void debug_check() const;
    std::size_t check_lane(unsigned level, unsigned slot, const std::uintptr_t* head,
                           std::vector<std::uint64_t>& seqs) const;
    template <class Fn>
    static void for_each_interleaved(const slot_lists& lists, Fn fn);

    // Invariants (check_invariants() verifies each):
    //  I1 size_ == heap_.size() + the number of entries in wheel slots.
    //  I2 heap_: heap_[i].entry->next_ == i, heap_[i].deadline == its entry's
    //     deadline_, the entry's place is heap, and no child is before() its parent.
    //  I3 kind heap: no entry is in the wheel.  kind wheel: every heap entry has a deadline
    //     < H (negative, or tick < elapsed_), and every wheel entry has tick >= elapsed_;
    //     hence the heap's top is the global minimum whenever the heap is not empty.
    //  I4 an entry in slot s of level k lies in a slot that starts no later than its tick:
    //     slot s of level k, in the block of elapsed_'s groups above k, starts at or before
    //     the entry's tick (it is exactly the entry's slot unless a refresh pushed the
    //     deadline back; the slot re-files it when it comes up).  s >= elapsed_'s group k.
    //     For k >= 1, s == that group (the level's "own" slot, which elapsed_ has entered)
    //     only while cascading(): its entries wait to be re-filed (settle()), and no entry is
    //     ever filed there.  Every level lies inside the own slot of each level above it, so
    //     when no own slot is occupied, the lowest occupied level's lowest occupied slot
    //     starts no later than any wheel timer; while one is, elapsed_ is that bound (I3).
    //  I5 occupied_[k] bit s is set iff some lane of slot s of level k is not empty; each
    //     lane's pprev links are consistent and its entries' place is wheel.  (Which lane
    //     an entry joins is its start sequence modulo slot_lanes at the time it is linked:
    //     spread evenly, with no state to keep; it carries no meaning.)
    //  I6 start sequences are unique and below next_seq_.
    kind kind_;
    std::size_t size_ = 0;
    std::uint64_t next_seq_ = 1;
    std::uint64_t elapsed_ = 0;       // H in ticks: the wheel's reference time
    std::size_t cascade_budget_ = 0;  // entries one call may re-file; 0: no limit
    std::vector<heap_node> heap_;
    std::array<std::uint64_t, wheel_levels> occupied_{};
    std::array<slot_array, wheel_levels> slots_{};
};

}  // namespace tfd
