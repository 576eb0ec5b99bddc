// Arms a one-shot timer through the installed tfd and waits for it.
#include <tfd/timer_fd.hpp>

#include <chrono>
#include <cstdio>

// Built as C++23 by the pkg-config check: the package's flags must not have lowered it.
// (g++ 12 reports C++23 as 202100L, later compilers as 202302L.)
#ifdef TFD_CONSUMER_EXPECT_CXX23
static_assert(__cplusplus > 202002L, "tfd.pc overrode the user's -std=c++23");
#endif

int main() {
    using namespace std::chrono_literals;
    tfd::timer_fd timer(tfd::clock_id::monotonic);
    timer.set(1ms);
    tfd::read_result result = timer.read();
    std::printf("consumer: expired %llu time(s)\n", static_cast<unsigned long long>(result.count));
    return result.expired() && result.count >= 1 ? 0 : 1;
}
