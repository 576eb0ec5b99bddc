#include "tfd/timer_queue.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

#include "timer_queue_math.hpp"

namespace tfd {
namespace {

using namespace timer_math;

#ifdef NDEBUG
constexpr bool debug_build = false;
#else
constexpr bool debug_build = true;
#endif

// Full invariant checks after each mutation are O(n); debug builds run them only while the
// queue is small, which is where unit tests poke at the corner cases.
constexpr std::size_t debug_full_check_limit = 256;
// Keep the heap array's capacity within 4x its size once it is larger than this.
constexpr std::size_t heap_shrink_floor = 4096;

[[noreturn]] void invariant_failed(const char* invariant, const std::string& context) {
    std::fprintf(stderr, "tfd::timer_queue: invariant violated: %s\n  context: %s\n", invariant,
                 context.c_str());
    std::fflush(stderr);
    std::abort();
}

#define TFD_TQ_REQUIRE(cond, context)           \
    do {                                        \
        if (!(cond)) {                          \
            invariant_failed(#cond, (context)); \
        }                                       \
    } while (false)

#define TFD_TQ_DEBUG_REQUIRE(cond, context) \
    do {                                    \
        if constexpr (debug_build) {        \
            TFD_TQ_REQUIRE(cond, context);  \
        }                                   \
    } while (false)

timer_entry* entry_at(std::uintptr_t word) noexcept {
    return reinterpret_cast<timer_entry*>(word);
}
std::uintptr_t word_of(timer_entry* e) noexcept {
    return reinterpret_cast<std::uintptr_t>(e);
}

std::string describe(const timer_entry* e, std::int64_t deadline, std::uint64_t order) {
    return "entry " + std::to_string(reinterpret_cast<std::uintptr_t>(e)) + " deadline " +
           std::to_string(deadline) + " ns, order " + std::to_string(order);
}

}  // namespace

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

// ---- near tier: 4-ary min-heap ------------------------------------------------------------

bool timer_queue::before(const heap_node& a, const heap_node& b) noexcept {
    // The cached deadline decides almost always; only ties read the entries.
    return a.deadline < b.deadline ||
           (a.deadline == b.deadline && a.entry->order_ < b.entry->order_);
}

void timer_queue::place_node(std::size_t i, heap_node n) noexcept {
    heap_[i] = n;
    n.entry->next_ = i;
}

// Makes room for `more` nodes, growing geometrically (a plain reserve(size + 1) would
// reallocate on every push).
void timer_queue::heap_reserve(std::size_t more) {
    const std::size_t need = heap_.size() + more;
    if (need > heap_.capacity()) {
        heap_.reserve(std::max({need, 2 * heap_.capacity(), std::size_t{16}}));
    }
}

// Needs capacity for one more node (reserved by the caller).
void timer_queue::heap_push(timer_entry& e) {
    if (heap_.size() >= std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("timer_queue: more than 2^32-1 timers in the heap");
    }
    e.order_ = (e.order_ & ~timer_entry::place_mask) |
               static_cast<std::uint64_t>(timer_entry::place::heap);
    heap_.push_back(heap_node{e.deadline_, &e});
    e.next_ = heap_.size() - 1;
    sift_up(heap_.size() - 1);
}

void timer_queue::heap_erase(timer_entry& e) noexcept {
    const std::size_t i = e.next_;
    TFD_TQ_DEBUG_REQUIRE(i < heap_.size() && heap_[i].entry == &e,
                         describe(&e, e.deadline_, e.order_) + ", heap index " + std::to_string(i) +
                             " of " + std::to_string(heap_.size()));
    const heap_node last = heap_.back();
    heap_.pop_back();
    if (i < heap_.size()) {
        place_node(i, last);
        if (i > 0 && before(last, heap_[(i - 1) / heap_arity])) {
            sift_up(i);
        } else {
            sift_down(i);
        }
    }
    maybe_shrink();
}

void timer_queue::heap_rekey(timer_entry& e) noexcept {
    const std::size_t i = e.next_;
    heap_[i].deadline = e.deadline_;
    if (i > 0 && before(heap_[i], heap_[(i - 1) / heap_arity])) {
        sift_up(i);
    } else {
        sift_down(i);
    }
}

timer_entry& timer_queue::heap_pop() noexcept {
    timer_entry& top = *heap_.front().entry;
    heap_erase(top);
    return top;
}

void timer_queue::sift_up(std::size_t i) noexcept {
    const heap_node n = heap_[i];
    while (i > 0) {
        const std::size_t parent = (i - 1) / heap_arity;
        if (!before(n, heap_[parent])) {
            break;
        }
        place_node(i, heap_[parent]);
        i = parent;
    }
    place_node(i, n);
}

void timer_queue::sift_down(std::size_t i) noexcept {
    const heap_node n = heap_[i];
    const std::size_t size = heap_.size();
    for (;;) {
        const std::size_t first = i * heap_arity + 1;
        if (first >= size) {
            break;
        }
        const std::size_t end = std::min(first + heap_arity, size);
        std::size_t best = first;
        for (std::size_t c = first + 1; c < end; ++c) {
            if (before(heap_[c], heap_[best])) {
                best = c;
            }
        }
        if (!before(heap_[best], n)) {
            break;
        }
        place_node(i, heap_[best]);
        i = best;
    }
    place_node(i, n);
}

void timer_queue::maybe_shrink() noexcept {
    // Cancelled timers must not pin memory: once the array is mostly empty, halve it.
    const std::size_t cap = heap_.capacity();
    if (cap <= heap_shrink_floor || heap_.size() >= cap / 4) {
        return;
    }
    try {
        std::vector<heap_node> smaller;
        smaller.reserve(cap / 2);
        smaller.assign(heap_.begin(), heap_.end());
        heap_.swap(smaller);
    } catch (const std::bad_alloc&) {
        // Shrinking is an optimisation; keeping the larger array is still correct.
    }
}

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

// Moves the wheel's reference to `tick` (never past the start of an occupied slot) and keeps
// I4: a level's own slot is re-filed as soon as the reference enters it.  Top-down; a
// re-filed entry never lands in the own slot of a level >= 1 (its group there differs from
// the reference's), so one pass suffices.
void timer_queue::advance_to(std::uint64_t tick) noexcept {
    elapsed_ = tick;
    for (unsigned level = wheel_levels - 1; level >= 1; --level) {
        const unsigned own = slot_of(elapsed_, level);
        if ((occupied_[level] >> own) & 1u) {
            cascade(level, own);
        }
    }
}

std::optional<std::int64_t> timer_queue::earliest_slot_start() const noexcept {
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
// wheel is empty too.
bool timer_queue::refill() {
    for (;;) {
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
            advance_to(start);  // cascades the slot, which has become the own slot
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
        TFD_TQ_REQUIRE(level == 0 ? slot >= own : slot > own, ctx());      // I4
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
