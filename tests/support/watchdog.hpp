// A watchdog for tests whose regression is a hang: aborts the test program, with a message,
// if the scope it guards takes longer than its limit.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace tfd::test {

class watchdog {
  public:
    explicit watchdog(std::chrono::seconds limit)
        : thread_([this, limit] {
              const auto end = std::chrono::steady_clock::now() + limit;
              while (!done_.load()) {
                  if (std::chrono::steady_clock::now() > end) {
                      std::fprintf(stderr, "watchdog: the test hung\n");
                      std::abort();
                  }
                  std::this_thread::sleep_for(std::chrono::milliseconds(10));
              }
          }) {}
    ~watchdog() {
        done_.store(true);
        thread_.join();
    }

  private:
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace tfd::test
