#include "support/fault_injection.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace tfd::test {
namespace {

struct fault_script {
    sys::call which{};
    long result = 0;
    int error = 0;
    std::atomic<int> remaining{0};
    std::atomic<int> fired{0};
};

fault_script script;

bool scripted_answer(sys::call which, long& result) noexcept {
    if (which != script.which) {
        return false;
    }
    int left = script.remaining.load();
    while (left > 0) {
        if (script.remaining.compare_exchange_weak(left, left - 1)) {
            script.fired.fetch_add(1);
            result = script.result;
            if (script.result == -1) {
                errno = script.error;
            }
            return true;
        }
    }
    return false;
}

struct plan_rule {
    fault_rule rule;
    std::atomic<long> calls{0};
    std::atomic<long> fired{0};
};

struct plan_script {
    std::atomic<bool> enabled{false};
    int count = 0;
    plan_rule rules[fault_plan::max_rules];
};

plan_script plan;

// splitmix64 over an atomic counter: every thread draws a distinct, well-mixed number.
std::atomic<std::uint64_t> random_state{0};

std::uint64_t next_random() noexcept {
    std::uint64_t z = random_state.fetch_add(0x9e3779b97f4a7c15ULL) + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Lowers the requested byte count in `result` (see sys::fault_hook) to the rule's cut.
void shorten(const fault_rule& rule, long& result) noexcept {
    long cap = std::min(rule.max_bytes, result);
    if (cap < 1) {
        return;
    }
    if (rule.random_bytes) {
        cap = 1 + static_cast<long>(next_random() % static_cast<std::uint64_t>(cap));
    }
    result = cap;
}

bool planned_answer(sys::call which, long& result) noexcept {
    if (!plan.enabled.load(std::memory_order_acquire)) {
        return false;
    }
    for (int i = 0; i < plan.count; ++i) {
        plan_rule& r = plan.rules[i];
        if (r.rule.which != which) {
            continue;
        }
        long n = r.calls.fetch_add(1);
        if (n % r.rule.every != 0 || r.fired.load() >= r.rule.times) {
            continue;  // not this rule's turn: the next rule of this kind may take it
        }
        r.fired.fetch_add(1);
        if (r.rule.max_bytes > 0) {
            shorten(r.rule, result);
            return false;  // made for real, with fewer bytes
        }
        result = r.rule.result;
        if (r.rule.result == -1) {
            errno = r.rule.error;
        }
        return true;
    }
    return false;
}

}  // namespace

fault_plan::fault_plan(std::initializer_list<fault_rule> rules, bool enabled) noexcept {
    plan.enabled.store(false);
    plan.count = 0;
    random_state.store(20261128);
    for (const fault_rule& rule : rules) {
        if (plan.count == max_rules) {
            break;
        }
        plan_rule& r = plan.rules[plan.count++];
        r.rule = rule;
        r.rule.every = rule.every > 0 ? rule.every : 1;
        r.calls.store(0);
        r.fired.store(0);
    }
    previous_ = sys::set_fault_hook(&planned_answer);
    plan.enabled.store(enabled, std::memory_order_release);
}

fault_plan::~fault_plan() {
    plan.enabled.store(false);
    sys::set_fault_hook(previous_);
}

void fault_plan::enable(bool on) noexcept {
    plan.enabled.store(on, std::memory_order_release);
}

long fault_plan::calls(int index) const noexcept {
    return index < plan.count ? plan.rules[index].calls.load() : 0;
}

long fault_plan::fired(int index) const noexcept {
    return index < plan.count ? plan.rules[index].fired.load() : 0;
}

scoped_fault::scoped_fault(sys::call which, long result, int error, int times) noexcept {
    script.which = which;
    script.result = result;
    script.error = error;
    script.fired.store(0);
    script.remaining.store(times);
    previous_ = sys::set_fault_hook(&scripted_answer);
}

scoped_fault::~scoped_fault() {
    sys::set_fault_hook(previous_);
    script.remaining.store(0);
}

int scoped_fault::fired() const noexcept {
    return script.fired.load();
}

}  // namespace tfd::test
