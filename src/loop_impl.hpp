// The event loop's state and its watcher nodes (private to the library).
//
// Handles (fd_watcher, timer_watcher, signal_watcher) point at nodes owned by loop_impl.
// Dispatch rules this file's invariants serve:
//  * by_fd_[fd] is the node registered for fd, or nullptr: an event for an fd whose slot is
//    empty, or whose node was added in the current pass (added_pass == pass_), is dropped, so
//    events of a watcher removed during dispatch, or of a new watcher that reused its
//    descriptor number, are never delivered;
//  * current_ is the node whose callback is running (nullptr otherwise); a node released
//    while current is only marked, and freed when its callback returns or throws;
//  * due_ holds the timers collected in phase 5 and not yet run (see due_list.hpp); a timer
//    stopped or restarted while due leaves it;
//  * on virtual time (options_.virtual_time) the loop reads clock c as
//    virtual_start_[base c] + virtual_elapsed_, which never decreases; no timer_fd is ever
//    armed, so clock_timers::fired is set by mark_due() instead of a timer_fd;
//  * clock_change_ set, or realtime timers pending: the realtime timer_fd is armed with
//    TFD_TIMER_CANCEL_ON_SET (at far_future when no realtime timer is pending), so a wall-clock
//    change always wakes the loop;
//  * a timer_fd whose readiness callback did not read it (every clock but the realtime
//    ones) stays readable after it expired; its clock_timers has armed == expired and dirty
//    or fired set, so arm_timers() calls timerfd_settime (which clears the expiration count,
//    hence the readiness) before the loop waits on it again.  Without that settime a
//    level-triggered backend would report it ready forever and the loop would spin.  The
//    one pass that skips that settime, because the target is already due (already_due()),
//    sets fired, so it polls instead of blocking and its collection sets dirty again.
#pragma once

#include <signal.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "backend/backend.hpp"
#include "due_list.hpp"
#include "tfd/embedded_timer.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/latency_histogram.hpp"
#include "tfd/loop_options.hpp"
#include "tfd/signal_fd.hpp"
#include "tfd/timer_fd.hpp"
#include "tfd/timer_queue.hpp"
#include "tfd/wake_fd.hpp"

namespace tfd::detail {

class loop_impl;

struct fd_node {
    int fd = -1;
    io_events interest = io_events::none;
    bool internal = false;
    bool released = false;
    std::uint64_t added_pass = 0;
    fd_callback callback;
};

// A timer made by a handle (event_loop::after/at/every): the scheduler's part, then the
// handle's callback.  56 bytes from the loop's pool, so a pending one-shot timer costs 64
// bytes with its 8-byte handle.  A periodic timer adds its period and policy (periodic_node).
struct timer_node : timer_base {
    timer_callback callback;
};
static_assert(sizeof(timer_node) <= 56, "a handle's timer should stay within 56 bytes");

struct periodic_node : timer_node {
    std::int64_t period = 0;  // ns, > 0
    missed_ticks policy = missed_ticks::skip;
};

struct signal_node {
    int signo = 0;
    bool was_blocked = false;  // blocked in the loop thread before the watcher blocked it
    bool released = false;
    signal_callback callback;
};

// The timers of one clock and the timer_fd that wakes the loop for them.
struct clock_timers {
    static constexpr std::int64_t not_armed = INT64_MIN;
    // Cancelled by a change of the wall clock: still armed in the kernel (and readable again
    // at the next change or at its old expiry) until settime; never equal to a target, so
    // the next arm re-arms or disarms it.
    static constexpr std::int64_t cancelled = INT64_MIN + 1;
    // Expired and not read, so still readable: never equal to a target either, so the next
    // arm calls settime, which re-arms or disarms it and clears its readiness.
    static constexpr std::int64_t expired = INT64_MIN + 2;
    clock_timers(clock_id id, loop_impl* loop)
        : clock(id),
          fd(id, open_flags::nonblocking),
          reads_on_fire(base_clock(id) == clock_id::realtime),
          owner(loop) {}
    clock_id clock;
    timer_fd fd;
    // Armed with TFD_TIMER_CANCEL_ON_SET, whose ECANCELED only a read reports: read when it
    // fires.  Other clocks skip the read (one system call per wake-up): see expired.
    bool reads_on_fire;
    timer_queue queue;
    std::int64_t armed = not_armed;  // the absolute deadline the timer_fd is armed with
    bool dirty = false;              // the queue changed since the last arm
    bool fired = false;              // the timer_fd expired; collect due timers in phase 5
    bool changed = false;            // the wall clock was set; tell on_clock_change in phase 5
    std::int64_t now = 0;            // the clock reading used for the last collection
    fd_node* node = nullptr;
    loop_impl* owner = nullptr;

    // The bound record of `unbound`'s callback on this clock (made on first use).
    const timer_binding* bind(const timer_binding* unbound);
    std::vector<std::unique_ptr<timer_binding>> bindings;
    const timer_binding* last_bound = nullptr;  // the last bind() answer: usually the next one
};

// Fixed-size blocks for timer nodes, so a timer costs 64 bytes rather than a malloc chunk
// (64 + 16 bytes of header and rounding).  Memory returns to the pool, and to the system
// when the loop is destroyed.
class timer_pool {
  public:
    void* allocate();
    void deallocate(void* block) noexcept;
    // Grows the pool until at least `count` blocks are free.
    void reserve(std::size_t count);
    // Blocks owned, free or handed out.
    [[nodiscard]] std::size_t capacity() const noexcept { return chunks_.size() * chunk_slots; }
    [[nodiscard]] std::size_t free_blocks() const noexcept { return free_count_; }

  private:
    void add_chunk();

    union slot {
        slot* next;
        alignas(timer_node) unsigned char bytes[sizeof(timer_node)];  // one-shot nodes only
    };
    static constexpr std::size_t chunk_slots = 256;
    std::vector<std::unique_ptr<slot[]>> chunks_;
    slot* free_ = nullptr;
    std::size_t free_count_ = 0;  // length of the free_ list
};

class loop_impl {
  public:
    loop_impl(backend_kind kind, loop_options options);
    ~loop_impl();

    // Watchers.
    fd_watcher watch(int fd, io_events interest, fd_callback callback);
    void release(fd_node* node) noexcept;
    void set_interest(fd_node* node, io_events interest);

    timer_watcher start_timer(clock_id clock, std::int64_t deadline, std::int64_t period,
                              missed_ticks policy, timer_callback callback);
    void release(timer_node* node) noexcept;
    [[nodiscard]] static clock_id clock_of(const timer_base& timer) noexcept;
    // Starts `timer` (idle or active) at `deadline` on `clock`, binding it there.
    void start(timer_base& timer, clock_timers& clock, std::int64_t deadline);
    // Cancels an active timer, queued or due.
    static void stop(timer_base& timer) noexcept;
    clock_timers& timers_for(clock_id clock);

    signal_watcher on_signal(int signo, signal_callback callback);
    void release(signal_node* node) noexcept;

    // Any thread.
    void post(std::function<void()> work);
    void stop() noexcept;
    void hold_work() noexcept { guards_.fetch_add(1, std::memory_order_acq_rel); }
    void release_work() noexcept {
        guards_.fetch_sub(1, std::memory_order_acq_rel);
        wake_.notify();
    }

    // Running.
    void run();
    bool run_once();
    void run_for(std::chrono::nanoseconds duration);
    void run_until_idle();
    void advance(std::chrono::nanoseconds delta);

    // `clock` now, in ns since its epoch: the virtual reading on virtual time.
    [[nodiscard]] std::int64_t read_clock(clock_id clock) const;
    [[nodiscard]] bool virtual_time() const noexcept { return options_.virtual_time; }
    void on_clock_change(std::function<void()> callback);
    [[nodiscard]] const latency_histogram& lateness() const noexcept { return lateness_; }

    [[nodiscard]] backend_kind kind() const noexcept { return backend_->kind(); }
    [[nodiscard]] std::size_t active_watchers() const noexcept;
    void reserve_timers(std::size_t count) { pool_.reserve(count); }

  private:
    class running_guard;
    template <class Node>
    class callback_scope;

    void free_node(fd_node* node) noexcept { delete node; }
    void free_node(timer_node* node) noexcept;
    void unbind_all() noexcept;
    void check_nothing_refers_to_me() const noexcept;
    void free_node(signal_node* node) noexcept { delete node; }

    void pass(std::chrono::nanoseconds timeout);
    void wait(std::chrono::nanoseconds timeout);
    void idle_passes();
    void mark_due();
    [[nodiscard]] std::optional<std::int64_t> virtual_jump(std::chrono::nanoseconds limit) const;
    [[nodiscard]] static std::size_t virtual_index(clock_id clock) noexcept;
    void spin_to_deadline(clock_timers& timers);
    void clock_was_set(clock_timers& timers);
    void arm_fd(clock_timers& timers, std::int64_t target, set_flags flags);
    void apply_timer_slack();
    [[nodiscard]] bool alive() const noexcept;
    [[nodiscard]] bool work_waiting() const noexcept;
    fd_node* register_fd(int fd, io_events interest, bool internal, fd_callback callback);
    [[nodiscard]] int unwatched_number(int fd);
    void dispatch_fds();
    void arm_timers();
    bool already_due(clock_timers& timers, std::int64_t target) const;
    void collect_due_timers();
    void run_due_timers();
    void fire(timer_node* node);
    void run_posted();
    void read_signals();
    static void timer_fd_ready(clock_timers& timers);
    static void fire_one_shot(timer_base& timer);
    static const timer_binding one_shot_unbound;
    static const timer_binding periodic_unbound;
    static void fire_periodic(timer_base& timer);
    void run_node(timer_node& node, std::uint64_t overruns);

    loop_options options_;
    std::unique_ptr<backend> backend_;
    std::vector<fd_node*> by_fd_;
    std::vector<ready_event> ready_;
    std::uint64_t pass_ = 0;
    bool running_ = false;
    void* current_ = nullptr;
    std::size_t user_fds_ = 0;

    // The pool outlives the queues (members are destroyed in reverse order), so a queue's
    // destructor never touches a node in freed memory.
    timer_pool pool_;
    static constexpr std::size_t clock_slots = 5;
    std::array<std::unique_ptr<clock_timers>, clock_slots> clocks_{};
    bool any_clock_ = false;  // some clocks_ entry exists: the timer phases have work to check
    due_list due_;
    std::size_t timers_ = 0;        // live timer nodes, pending or not
    timer_node* firing_ = nullptr;  // the node whose callback runs
    bool firing_released_ = false;  // its handle let go of it meanwhile: free it after

    // Virtual time: the readings of realtime, monotonic and boottime when the loop was made,
    // and how far the loop has moved them since (ns).
    std::array<std::int64_t, 3> virtual_start_{};
    std::int64_t virtual_elapsed_ = 0;

    latency_histogram lateness_;
    std::function<void()> clock_change_;
    std::thread::id slack_thread_{};  // the thread whose slack options_.timer_slack set

    signal_fd signals_;
    sigset_t signal_mask_{};
    std::array<signal_node*, NSIG> by_signal_{};
    std::size_t signal_watchers_ = 0;

    wake_fd wake_;
    std::atomic<bool> stop_requested_{false};
    // The thread inside run()/run_once()/run_for(), or an empty id: stop() from that thread
    // needs no wake-up, since the flag is checked after every pass.
    std::atomic<std::thread::id> owner_{};
    std::mutex posted_mutex_;
    std::deque<std::function<void()>> posted_;  // guarded by posted_mutex_
    std::atomic<bool> has_posted_{false};       // mirrors !posted_.empty()
    std::atomic<std::size_t> guards_{0};        // live work_guards
};

// Marks `node` as the one whose callback runs, and frees it afterwards if it was released
// meanwhile (by its own callback), whether the callback returns or throws.
template <class Node>
class loop_impl::callback_scope {
  public:
    callback_scope(loop_impl& loop, Node* node) noexcept
        : loop_(loop), node_(node), previous_(loop.current_) {
        loop_.current_ = node;
    }
    ~callback_scope() {
        loop_.current_ = previous_;
        if (node_->released) {
            loop_.free_node(node_);
        }
    }
    callback_scope(const callback_scope&) = delete;
    callback_scope& operator=(const callback_scope&) = delete;

  private:
    loop_impl& loop_;
    Node* node_;
    void* previous_;
};

// The library's way from the public façade to its state.
struct event_loop_access {
    static loop_impl& impl(event_loop& loop) noexcept { return *loop.impl_; }
};

}  // namespace tfd::detail
