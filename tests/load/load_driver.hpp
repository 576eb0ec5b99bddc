// The load's clients: N loopback connections to the server, each slot reconnecting as soon
// as its client finishes, all driven from one epoll loop on the calling thread.  Each client,
// when it (re)connects, plays one role:
//
//   valid      status, help, blank and unknown commands (some with blanks and CRLF), checking
//              every reply, then closes;
//   slowloris  a command one byte at a time, 100-400 ms apart, or a line that never ends;
//   oversized  a 2-64 KiB line, expecting "ERR line too long", then a status on the same
//              connection;
//   random     1-4 KiB of random bytes (invalid UTF-8, NULs, newlines), reading what comes;
//   reset      connects, sends half a command and aborts with a TCP reset (SO_LINGER 0).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tfd_load {

enum class role { valid, slowloris, oversized, random_bytes, reset };
inline constexpr int role_count = 5;

struct counters {
    long connects = 0;
    long connect_failures = 0;
    long completed[role_count] = {};  // by role
    long replies_checked = 0;
    long reply_errors = 0;
    long server_closed = 0;  // connections the server closed while we expected more
    long bytes_sent = 0;
};

// One client slot.  `generation` changes at every (re)start, so stale epoll events and
// scheduled actions of a previous client in the slot are recognised and ignored.
struct client_state {
    int fd = -1;
    role kind = role::valid;
    bool connected = false;
    std::string to_send;               // bytes still to write (paced for slowloris)
    std::string backlog;               // bytes the socket would not take yet
    std::deque<std::string> expected;  // reply prefixes, in order
    std::string input;
    int steps_left = 0;     // -1 with fd < 0: restart at the next action
    bool tolerant = false;  // random bytes: replies are not checked
    std::chrono::steady_clock::time_point next_action;
    std::uint64_t generation = 0;
};

class load_driver {
  public:
    using clock_type = std::chrono::steady_clock;

    load_driver(std::uint16_t port, int clients, std::uint64_t seed);
    ~load_driver();
    load_driver(const load_driver&) = delete;
    load_driver& operator=(const load_driver&) = delete;

    // Runs until `end`, keeping every client slot busy; calls `sample` about once a second.
    // Every client is closed when it returns.
    void run(clock_type::time_point end, const std::function<void()>& sample);

    [[nodiscard]] const counters& stats() const { return stats_; }

  private:
    using due = std::pair<clock_type::time_point, std::pair<std::size_t, std::uint64_t>>;

    void schedule(std::size_t i, clock_type::duration after);
    void run_due_actions();
    int pick(int low, int high);
    void start(std::size_t i);
    void schedule_restart(std::size_t i);
    void drop(std::size_t i);
    void finish(std::size_t i);
    void on_event(std::size_t i, std::uint32_t events);
    void begin_role(std::size_t i);
    void act(std::size_t i);
    void act_valid(std::size_t i);
    void act_slowloris(std::size_t i);
    void send_now(std::size_t i, std::string_view data);
    void flush_backlog(std::size_t i);
    void watch(std::size_t i, std::uint32_t events);
    void read_replies(std::size_t i);
    void check_replies(client_state& c);

    std::uint16_t port_;
    std::mt19937_64 random_;
    std::vector<client_state> clients_;
    std::priority_queue<due, std::vector<due>, std::greater<>> actions_;
    std::uint64_t generations_ = 0;
    int epfd_ = -1;
    counters stats_;
};

}  // namespace tfd_load
