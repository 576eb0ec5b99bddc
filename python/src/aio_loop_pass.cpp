// _tfd.AioLoopCore's pass (_run_once), phases numbered as in aio_loop.hpp, and the loop state
// behind it: the schedulers per clock and the list of queued TimerHandles.
#include "aio_loop_pass.hpp"

#include <cerrno>
#include <cmath>
#include <limits>
#include <system_error>
#include <thread>

#include "sys/sys.hpp"
#include "tfd/timer_slack.hpp"

namespace tfd::python {
namespace {

constexpr long event_read = 1;   // selectors.EVENT_READ
constexpr long event_write = 2;  // selectors.EVENT_WRITE
// The stock loop's longest wait when it has to wait through a selector (asyncio's
// MAXIMUM_SELECT_TIMEOUT): a day.
constexpr std::int64_t longest_selector_wait_ns = 24LL * 3600 * 1000000000;

PyObject* set_os_error(const std::error_code& ec, const char* what) {
    errno = ec.value();
    PyErr_Format(PyExc_OSError, "tfd.aio: %s: %s", what, ec.message().c_str());
    return nullptr;
}

int register_timer_fd(aio_loop* loop, std::size_t slot) {
    if (!loop->native || loop->registered_in[slot] == loop->epoll_fd) {
        return 0;
    }
    epoll_event ev{};
    // Edge-triggered: an expiry is reported once, so the timer_fd never needs reading.
    ev.events = EPOLLIN | EPOLLET;
    ev.data.fd = loop->clocks[slot]->fd();
    if (sys::epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev) != 0 && errno != EEXIST) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    loop->registered_in[slot] = loop->epoll_fd;
    return 0;
}

// Phase 0: the selector decides how to wait.  tfd/aio/_support.py's wait_plan() answers
// (epoll fd, selector._fd_to_key) for the stock EpollSelector and _process_events, which this
// file then replaces, or (-1, None) for anything else, which is then called as is.
int attach_selector(aio_loop* loop, PyObject* selector) {
    PyObject* plan = PyObject_CallMethod(loop->helpers, "wait_plan", "(OO)",
                                         reinterpret_cast<PyObject*>(loop), selector);
    if (plan == nullptr) {
        return -1;
    }
    int fd = -1;
    PyObject* fd_to_key = nullptr;
    if (!PyArg_ParseTuple(plan, "iO", &fd, &fd_to_key)) {
        Py_DECREF(plan);
        return -1;
    }
    Py_INCREF(selector);
    Py_XSETREF(loop->selector, selector);
    loop->native = fd >= 0 && PyDict_Check(fd_to_key);
    loop->epoll_fd = loop->native ? fd : -1;
    Py_XSETREF(loop->fd_to_key, loop->native ? (Py_INCREF(fd_to_key), fd_to_key) : nullptr);
    Py_DECREF(plan);
    for (std::size_t slot = 0; slot < aio_clock_count; ++slot) {
        if (loop->clocks[slot] && register_timer_fd(loop, slot) < 0) {
            return -1;
        }
    }
    return 0;
}

// The loop's timer_slack on the thread that runs it (once per thread, or after a change).
int apply_timer_slack(aio_loop* loop) {
    std::error_code ec;
    set_timer_slack(std::chrono::nanoseconds(loop->timer_slack), ec);
    if (ec) {
        set_os_error(ec, "setting the thread's timer slack (prctl PR_SET_TIMERSLACK)");
        return -1;
    }
    loop->slack_thread = std::this_thread::get_id();
    return 0;
}

bool is_timer_fd(aio_loop* loop, int fd) {
    for (auto& s : loop->clocks) {
        if (s && s->fd() == fd) {
            s->fired();
            return true;
        }
    }
    return false;
}

// Phase 1: arm every clock's timer_fd; the epoll timeout (0 or -1) and, for a selector
// wait or a timed wait, the nanoseconds to the earliest wake-up (-1: none).
int arm_timers(aio_loop* loop, int& timeout_ms, std::int64_t& wait_ns) {
    timeout_ms = -1;
    wait_ns = -1;
    for (auto& s : loop->clocks) {
        if (!s || s->size() == 0) {
            continue;
        }
        if (!loop->native) {
            if (s->spin_below_deadline()) {
                wait_ns = 0;  // spun up to it: poll
                continue;
            }
            // A virtual clock never waits for a deadline it cannot reach.
            std::optional<std::int64_t> next =
                s->time().is_virtual() ? s->next_reachable_deadline() : s->next_deadline();
            if (!next) {
                continue;
            }
            std::int64_t target = 0;
            const std::int64_t delay = s->cascading() ? 0 : s->coalescing();
            if (__builtin_add_overflow(*next, delay, &target)) {
                target = std::numeric_limits<std::int64_t>::max();
            }
            std::int64_t left = target - s->now();
            if (left < 0 || s->time().is_virtual()) {
                left = 0;
            }
            wait_ns = wait_ns < 0 ? left : std::min(wait_ns, left);
            continue;
        }
        std::error_code ec;
        switch (s->arm(ec)) {
            case aio::scheduler::wait_kind::poll:
                timeout_ms = 0;
                break;
            case aio::scheduler::wait_kind::timed:
                wait_ns = wait_ns < 0 ? s->timed_left() : std::min(wait_ns, s->timed_left());
                break;
            case aio::scheduler::wait_kind::block:
                break;
        }
        if (ec) {
            set_os_error(ec, "arming the loop's timer_fd");
            return -1;
        }
    }
    return 0;
}

// Cleared the first time epoll_pwait2 answers ENOSYS (a kernel before 5.11, or valgrind):
// from then on no loop of the process makes timed waits.
bool pwait2_available = true;

// A timed wait (phase 2): epoll_pwait2 for `wait_ns`, or, without it, whole milliseconds
// rounded up (late, never early) and no more timed waits.
int wait_epoll_timed(aio_loop* loop, int capacity, std::int64_t wait_ns) {
    if (pwait2_available) {
        timespec limit{static_cast<time_t>(wait_ns / 1'000'000'000),
                       static_cast<long>(wait_ns % 1'000'000'000)};
        int n;
        Py_BEGIN_ALLOW_THREADS n =
            sys::epoll_wait(loop->epoll_fd, loop->events.data(), capacity, &limit);
        Py_END_ALLOW_THREADS;
        if (n >= 0 || errno != ENOSYS) {
            return n;
        }
        pwait2_available = false;
        for (auto& s : loop->clocks) {
            if (s) {
                s->set_timed_waits(false);
            }
        }
    }
    auto ms = static_cast<int>(std::min<std::int64_t>((wait_ns + 999'999) / 1'000'000, 1000));
    int n;
    Py_BEGIN_ALLOW_THREADS n =
        sys::epoll_wait_ms(loop->epoll_fd, loop->events.data(), capacity, ms);
    Py_END_ALLOW_THREADS;
    return n;
}

// Phase 2 on the epoll set, for `timeout_ms` (0 or -1) or, when `wait_ns` >= 0 (a timed
// wait), that many nanoseconds; the number of events, or -1 with an exception (a signal
// handler that raised).
int wait_epoll(aio_loop* loop, int timeout_ms, std::int64_t wait_ns) {
    std::size_t want =
        16 + aio_clock_count + static_cast<std::size_t>(PyDict_GET_SIZE(loop->fd_to_key));
    if (loop->events.size() < want) {
        loop->events.resize(want * 2);
    }
    int capacity = static_cast<int>(loop->events.size());
    for (;;) {
        int n;
        if (timeout_ms == 0) {
            n = sys::epoll_wait_ms(loop->epoll_fd, loop->events.data(), capacity, 0);
        } else if (wait_ns >= 0) {
            n = wait_epoll_timed(loop, capacity, wait_ns);
        } else {
            Py_BEGIN_ALLOW_THREADS n =
                sys::epoll_wait_ms(loop->epoll_fd, loop->events.data(), capacity, timeout_ms);
            Py_END_ALLOW_THREADS
        }
        if (n >= 0) {
            return n;
        }
        if (errno != EINTR) {
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        // As select.epoll.poll does (PEP 475): run the signal handlers, retry unless one
        // raised.  A timeout of 0 or forever needs no recomputing; a timed wait ends here
        // (the pass finds its timer due or plans the wait again).
        if (PyErr_CheckSignals() < 0) {
            return -1;
        }
        if (wait_ns >= 0) {
            return 0;
        }
    }
}

int call_remove(PyObject* loop, const char* method, PyObject* fileobj) {
    PyObject* r = PyObject_CallMethod(loop, method, "(O)", fileobj);
    if (r == nullptr) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

int queue_io_handle(aio_loop* loop, PyObject* handle, const char* remove, PyObject* fileobj) {
    if (handle == Py_None) {
        return 0;
    }
    int cancelled = handle_is_cancelled(loop, handle);
    if (cancelled < 0) {
        return -1;
    }
    if (cancelled) {
        return call_remove(reinterpret_cast<PyObject*>(loop), remove, fileobj);
    }
    Py_INCREF(handle);
    loop->ready.push(handle);
    return 0;
}

// Phase 3 for one event, as EpollSelector.select and BaseSelectorEventLoop._process_events
// together do it.
int dispatch_event(aio_loop* loop, const epoll_event& event) {
    PyObject* fd = PyLong_FromLong(event.data.fd);
    if (fd == nullptr) {
        return -1;
    }
    PyObject* key = PyDict_GetItemWithError(loop->fd_to_key, fd);  // borrowed
    Py_DECREF(fd);
    if (key == nullptr) {
        return PyErr_Occurred() ? -1 : 0;  // not the selector's (or unregistered meanwhile)
    }
    Py_INCREF(key);  // a callback below may unregister it
    long events = 0;
    if (event.events & ~static_cast<std::uint32_t>(EPOLLIN)) {
        events |= event_write;
    }
    if (event.events & ~static_cast<std::uint32_t>(EPOLLOUT)) {
        events |= event_read;
    }
    int rc = 0;
    PyObject* data =
        PyTuple_Check(key) && PyTuple_GET_SIZE(key) == 4 ? PyTuple_GET_ITEM(key, 3) : nullptr;
    long interest = data != nullptr ? PyLong_AsLong(PyTuple_GET_ITEM(key, 2)) : -1;
    if (data == nullptr || !PyTuple_Check(data) || PyTuple_GET_SIZE(data) != 2 || interest < 0) {
        // Not what _add_reader registers: let _process_events say what is wrong with it.
        PyErr_Clear();
        PyObject* r = PyObject_CallMethod(reinterpret_cast<PyObject*>(loop), "_process_events",
                                          "([(Ol)])", key, events);
        rc = r == nullptr ? -1 : 0;
        Py_XDECREF(r);
    } else {
        long mask = events & interest;
        PyObject* fileobj = PyTuple_GET_ITEM(key, 0);
        if (mask & event_read) {
            rc = queue_io_handle(loop, PyTuple_GET_ITEM(data, 0), "_remove_reader", fileobj);
        }
        if (rc == 0 && (mask & event_write)) {
            rc = queue_io_handle(loop, PyTuple_GET_ITEM(data, 1), "_remove_writer", fileobj);
        }
    }
    Py_DECREF(key);
    return rc;
}

// Phases 2 and 3 through any other selector: selector.select(timeout) and
// self._process_events(events), the timeout rounded up to whole nanoseconds of seconds.
int wait_selector(aio_loop* loop, PyObject* self, bool poll, std::int64_t wait_ns) {
    PyObject* timeout;
    if (poll) {
        timeout = PyLong_FromLong(0);
    } else if (wait_ns < 0) {
        Py_INCREF(Py_None);
        timeout = Py_None;
    } else {
        timeout = PyFloat_FromDouble(
            static_cast<double>(std::min(wait_ns, longest_selector_wait_ns)) / 1e9);
    }
    if (timeout == nullptr) {
        return -1;
    }
    PyObject* events = PyObject_CallMethod(loop->selector, "select", "(O)", timeout);
    Py_DECREF(timeout);
    if (events == nullptr) {
        return -1;
    }
    PyObject* r = PyObject_CallMethod(self, "_process_events", "(O)", events);
    Py_DECREF(events);
    if (r == nullptr) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

// Phase 4: every due timer of every clock onto the ready queue (the scheduler's reference
// moves to the queue), in (deadline, start order) per clock.
int collect_due(aio_loop* loop) {
    for (std::size_t slot = 0; slot < aio_clock_count; ++slot) {
        aio::scheduler* s = loop->clocks[slot].get();
        if (s == nullptr || s->size() == 0) {
            continue;
        }
        std::int64_t now;
        try {
            now = s->now();
        } catch (const std::system_error& e) {
            set_os_error(e.code(), "reading the clock");
            return -1;
        }
        while (timer_entry* entry = s->pop_due(now)) {
            aio_timer_handle* t = timer_of(entry);
            unlink_queued(loop, t);
            t->scheduled = false;
            loop->ready.push(reinterpret_cast<PyObject*>(t));
        }
    }
    return 0;
}

// Whether a timer of any clock can come due (a `never` deadline cannot): on virtual time,
// what the pass polls and jumps for.
bool has_reachable_timers(aio_loop* loop) {
    for (auto& s : loop->clocks) {
        if (s && s->size() != 0 && s->next_reachable_deadline()) {
            return true;
        }
    }
    return false;
}

// Virtual time, phase 4: nothing happened, so every clock jumps by the time to the
// earliest deadline of any clock that can come due.
void jump_to_next_deadline(aio_loop* loop) {
    std::optional<std::int64_t> delta;
    for (auto& s : loop->clocks) {
        if (!s || s->size() == 0) {
            continue;
        }
        std::optional<std::int64_t> next = s->next_reachable_deadline();
        if (!next) {
            continue;
        }
        std::int64_t left = *next - s->now();
        if (left < 0) {
            left = 0;
        }
        delta = delta ? std::min(*delta, left) : left;
    }
    if (delta) {
        advance_clocks(loop, *delta);
    }
}

bool any_due(aio_loop* loop) {
    for (auto& s : loop->clocks) {
        if (!s || s->size() == 0) {
            continue;
        }
        std::optional<std::int64_t> next = s->next_reachable_deadline();
        if (next && *next <= s->now()) {
            return true;
        }
    }
    return false;
}

// Phase 5 for one handle: ours run in C++; any other asyncio.Handle through its _run().
int run_one(aio_loop* loop, PyObject* handle) {
    if (loop->debug) {
        // The stock debug path (current handle, slow-callback warning), in Python.
        int cancelled = handle_is_cancelled(loop, handle);
        if (cancelled != 0) {
            return cancelled < 0 ? -1 : 0;
        }
        PyObject* r = PyObject_CallMethod(loop->helpers, "run_debug", "(OO)",
                                          reinterpret_cast<PyObject*>(loop), handle);
        Py_XDECREF(r);
        return r == nullptr ? -1 : 0;
    }
    PyTypeObject* type = Py_TYPE(handle);
    if (type == reinterpret_cast<PyTypeObject*>(loop->handle_type) ||
        type == reinterpret_cast<PyTypeObject*>(loop->timer_type)) {
        aio_handle* h = type == reinterpret_cast<PyTypeObject*>(loop->handle_type)
                            ? as_handle(handle)
                            : &as_timer_handle(handle)->base;
        if (h->cancelled) {
            return 0;
        }
        return run_handle(h, loop->report);
    }
    int cancelled = handle_is_cancelled(loop, handle);
    if (cancelled != 0) {
        return cancelled < 0 ? -1 : 0;
    }
    PyObject* r = PyObject_CallMethodObjArgs(handle, loop->str_run, nullptr);
    Py_XDECREF(r);
    return r == nullptr ? -1 : 0;
}

}  // namespace

clock_id kernel_clock(aio_clock clock) {
    switch (clock) {
        case aio_clock::realtime:
            return clock_id::realtime;
        case aio_clock::boottime:
            return clock_id::boottime;
        default:
            return clock_id::monotonic;
    }
}

std::optional<aio_clock> clock_from_id(long id) {
    switch (id) {
        case static_cast<long>(clock_id::monotonic):
            return aio_clock::monotonic;
        case static_cast<long>(clock_id::realtime):
            return aio_clock::realtime;
        case static_cast<long>(clock_id::boottime):
            return aio_clock::boottime;
        default:
            return std::nullopt;
    }
}

aio::scheduler* scheduler_for(aio_loop* loop, aio_clock clock) {
    auto slot = static_cast<std::size_t>(clock);
    if (!loop->clocks[slot]) {
        try {
            loop->clocks[slot] = std::make_unique<aio::scheduler>(
                kernel_clock(clock), std::chrono::nanoseconds(loop->coalescing));
            loop->clocks[slot]->set_spin_below(std::chrono::nanoseconds(loop->spin_below));
            loop->clocks[slot]->set_spin_margin(std::chrono::nanoseconds(loop->spin_margin));
            loop->clocks[slot]->set_timed_waits(timed_waits_wanted(loop));
        } catch (const std::system_error& e) {
            set_os_error(e.code(), "creating the loop's timer_fd");
            return nullptr;
        }
        if (loop->clocks[0] && loop->clocks[0]->time().is_virtual()) {
            // A virtual loop keeps every clock virtual, starting at the kernel's reading.
            loop->clocks[slot]->make_virtual(loop->clocks[slot]->now());
        }
        if (register_timer_fd(loop, slot) < 0) {
            loop->clocks[slot].reset();
            return nullptr;
        }
    }
    return loop->clocks[slot].get();
}

bool timed_waits_wanted(aio_loop* loop) {
    // A virtual clock never gets this far: its scheduler polls before it looks at waits.
    return pwait2_available && loop->timer_slack > 0 &&
           loop->timer_slack <= aio::timed_wait_slack_ns;
}

void advance_clocks(aio_loop* loop, std::int64_t delta) {
    for (auto& s : loop->clocks) {
        if (s) {
            s->time().advance_by(delta);
        }
    }
}

void unlink_queued(aio_loop* loop, aio_timer_handle* t) {
    if (t->prev != nullptr) {
        t->prev->next = t->next;
    } else {
        loop->queued = t->next;
    }
    if (t->next != nullptr) {
        t->next->prev = t->prev;
    }
    t->prev = t->next = nullptr;
}

void clear_work(aio_loop* loop) {
    while (aio_timer_handle* t = loop->queued) {
        loop->clocks[t->clock_slot]->cancel(t->entry);
        unlink_queued(loop, t);
        t->scheduled = false;
        Py_DECREF(reinterpret_cast<PyObject*>(t));
    }
    while (!loop->ready.empty()) {
        PyObject* h = loop->ready.pop();
        Py_DECREF(h);
    }
}

int handle_is_cancelled(aio_loop* loop, PyObject* handle) {
    PyTypeObject* type = Py_TYPE(handle);
    if (type == reinterpret_cast<PyTypeObject*>(loop->handle_type)) {
        return as_handle(handle)->cancelled;
    }
    if (type == reinterpret_cast<PyTypeObject*>(loop->timer_type)) {
        return as_timer_handle(handle)->base.cancelled;
    }
    PyObject* value = PyObject_GetAttr(handle, loop->str_cancelled);
    if (value == nullptr) {
        return -1;
    }
    int truth = PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

PyObject* run_pass_rest(aio_loop* loop);

PyObject* loop_run_once(PyObject* self, PyObject*) {
    aio_loop* loop = as_loop(self);
    PyObject* selector = PyObject_GetAttr(self, loop->str_selector);
    if (selector == nullptr) {
        return nullptr;
    }
    int rc = selector == loop->selector ? 0 : attach_selector(loop, selector);
    Py_DECREF(selector);
    if (rc < 0) {
        return nullptr;
    }
    if (loop->timer_slack > 0 && loop->slack_thread != std::this_thread::get_id() &&
        apply_timer_slack(loop) < 0) {
        return nullptr;
    }
    ++loop->passes;
    // 1. timeout
    bool poll = !loop->ready.empty() || loop->stopping;
    int timeout_ms = -1;
    std::int64_t wait_ns = -1;
    if (!poll && loop->clocks[0]->time().is_virtual()) {
        // Never sleeps for a timer: polls, then jumps (phase 4), unless work outside the
        // loop holds the clock.
        poll = (loop->holds == 0 && has_reachable_timers(loop)) || loop->idle_stop || any_due(loop);
    } else if (!poll && arm_timers(loop, timeout_ms, wait_ns) < 0) {
        // Arming is for blocking: a pass that polls leaves it to the next one.
        return nullptr;
    }
    // 2. wait and 3. descriptors
    bool first = loop->first_pass;
    loop->first_pass = false;
    if (loop->native && poll && !first && !loop->stopping && loop->ready.size() != 0) {
        if (loop->last_pass_waited ||
            clock_now(clock_id::monotonic).count() - loop->last_wait_end < poll_skip_ns) {
            loop->last_pass_waited = false;
            ++loop->polls_skipped;
            return run_pass_rest(loop);
        }
    }
    if (loop->native) {
        int n = wait_epoll(loop, poll ? 0 : timeout_ms, poll ? -1 : wait_ns);
        if (n < 0) {
            return nullptr;
        }
        loop->last_wait_end = clock_now(clock_id::monotonic).count();
        loop->last_pass_waited = true;
        for (int i = 0; i < n; ++i) {
            const epoll_event& event = loop->events[i];
            if (!is_timer_fd(loop, event.data.fd) && dispatch_event(loop, event) < 0) {
                return nullptr;
            }
        }
    } else if (wait_selector(loop, self, poll, wait_ns) < 0) {
        return nullptr;
    }
    return run_pass_rest(loop);
}

// Phases 4 and 5.
PyObject* run_pass_rest(aio_loop* loop) {
    // 4. timers
    if (loop->clocks[0]->time().is_virtual() && loop->ready.empty() && loop->holds == 0 &&
        !loop->idle_stop && !loop->stopping) {
        jump_to_next_deadline(loop);
    }
    if (collect_due(loop) < 0) {
        return nullptr;
    }
    // 5. run what is ready now; what these callbacks queue waits for the next pass
    std::size_t todo = loop->ready.size();
    for (std::size_t i = 0; i < todo && !loop->ready.empty(); ++i) {
        PyObject* handle = loop->ready.pop();
        int failed = run_one(loop, handle);
        Py_DECREF(handle);
        if (failed < 0) {
            return nullptr;
        }
    }
    if (loop->idle_stop && loop->ready.empty() && !any_due(loop)) {
        loop->stopping = true;  // advance(): everything that became due has run
    }
    Py_RETURN_NONE;
}

}  // namespace tfd::python
