// The seed's first example: a blocking timer, first after 1 s, then twice a second.
//
// Prints "Timer expired" four times (at about 1.0, 1.5, 2.0 and 2.5 s) and exits 0.
#include <tfd/timer_fd.hpp>

#include <chrono>
#include <cstdio>
#include <exception>

int main() {
    using namespace std::chrono_literals;
    try {
        tfd::timer_fd timer(tfd::clock_id::realtime);
        timer.set(1s, 500ms);
        for (int i = 0; i < 4; ++i) {
            timer.read();  // blocks until the timer expires
            std::puts("Timer expired");
            std::fflush(stdout);
        }
        timer.close();  // the destructor would close too, but silently
    } catch (const std::exception& e) {
        std::fprintf(stderr, "blocking_timer: %s\n", e.what());
        return 1;
    }
    return 0;
}
