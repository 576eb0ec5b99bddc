#include "support/fault_injection.hpp"

#include <cerrno>

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

}  // namespace

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
