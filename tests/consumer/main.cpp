// Arms a one-shot timer through the installed tfd and waits for it.
#include <tfd/timer_fd.hpp>

#include <chrono>
#include <cstdio>

int main() {
    using namespace std::chrono_literals;
    tfd::timer_fd timer(tfd::clock_id::monotonic);
    timer.set(1ms);
    tfd::read_result result = timer.read();
    std::printf("consumer: expired %llu time(s)\n", static_cast<unsigned long long>(result.count));
    return result.expired() && result.count >= 1 ? 0 : 1;
}
