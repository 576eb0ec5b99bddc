// The seed's second and third examples on tfd::event_loop: three periodic timers (every
// 0.25, 0.5 and 0.75 s) and a TCP control port, without the seed's weaknesses: any number of
// clients, line framing, a 1 KiB line limit, non-UTF-8 input answered with an error, clients
// that never read disconnected when their output buffer fills, freed memory given back to
// the system once the last client has gone, a free port on request, and the backend (epoll,
// poll or select) and the clock chosen on the command line.
//
//   timer_server [--port N] [--clock monotonic|realtime|boottime]
//                [--backend epoll|poll|select] [--duration SECONDS]
//
// Commands (one per line): stop, status, help.  SIGINT and SIGTERM stop the server too.  An
// unknown command is echoed (to the client and the log) escaped and cut to 64 bytes.  A
// client the backend cannot watch (select: fd >= 1024) is refused and logged; the others
// go on being served.
#include <arpa/inet.h>
#include <malloc.h>
#include <signal.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "printable.hpp"
#include "server_options.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/tcp_connection.hpp"
#include "tfd/tcp_listener.hpp"
#include "timer_server_protocol.hpp"

namespace {

using namespace std::chrono_literals;
using timer_server::command_kind;

using server_options::settings;

constexpr std::size_t max_line = 1024;
constexpr std::size_t max_output = 64 * 1024;
constexpr int timer_count = 3;
constexpr std::chrono::milliseconds idle_trim_delay = 1s;

class server {
  public:
    explicit server(const settings& config)
        : config_(config),
          loop_(config.backend),
          started_(loop_.now(tfd::clock_id::monotonic)),
          listener_(loop_, "127.0.0.1", config.port,
                    [this](tfd::unique_fd fd, const tfd::tcp_endpoint& peer) {
                        accept(std::move(fd), peer);
                    }) {
        for (int i = 0; i < timer_count; ++i) {
            // Timer i+1 fires every (i+1) * 0.25 s, anchored on its schedule.
            timers_[i] = loop_.every((i + 1) * 250ms,
                                     [this, i](std::uint64_t overruns) { expired(i, overruns); },
                                     {config.clock, tfd::missed_ticks::skip});
        }
        // A client the loop cannot watch (fd >= FD_SETSIZE on the select backend) is closed
        // by the listener, told here, and costs nobody else their connection.
        listener_.on_refused([](const tfd::tcp_endpoint& peer, const std::system_error& error) {
            std::printf("Refused connection from %s: %s\n", peer.to_string().c_str(), error.what());
        });
        // Made now and kept stopped, like the listener's resume timer: a monotonic timer
        // made later could be the loop's first on that clock and open a timer_fd then.
        trim_ = loop_.after(idle_trim_delay, [this](std::uint64_t) { trim_if_idle(); });
        trim_.stop();
        for (int signo : {SIGINT, SIGTERM}) {
            signals_.push_back(loop_.on_signal(signo, [this](const tfd::signal_info& info) {
                std::printf("Signal %d received, stopping server\n", info.signo);
                loop_.stop();
            }));
        }
    }

    int run() {
        // Announced from the first pass, once the loop has armed its timer_fd: tests read
        // the port from this line and then count the server's descriptors as a baseline, so
        // every descriptor the server keeps for its lifetime must exist by then.
        loop_.post([this] {
            std::printf("Listening on 127.0.0.1:%u (backend %s, clock %s)\n", listener_.port(),
                        std::string(tfd::to_string(config_.backend)).c_str(),
                        std::string(tfd::to_string(config_.clock)).c_str());
        });
        if (config_.duration) {
            loop_.run_for(*config_.duration);
            if (!stopping_) {
                std::printf("Ran for %.3f s, stopping server\n",
                            std::chrono::duration<double>(*config_.duration).count());
            }
        } else {
            loop_.run();
        }
        clients_.clear();
        std::printf("Timers expired %" PRIu64 ", %" PRIu64 " and %" PRIu64 " times\n",
                    expirations_[0], expirations_[1], expirations_[2]);
        return 0;
    }

  private:
    struct client {
        int fd;
        std::unique_ptr<tfd::tcp_connection> connection;
    };

    void expired(int index, std::uint64_t overruns) {
        std::uint64_t count = overruns + 1;
        expirations_[index] += count;
        std::printf("Timer %d expired %" PRIu64 " times\n", index + 1, count);
    }

    void accept(tfd::unique_fd fd, const tfd::tcp_endpoint& peer) {
        int number = fd.get();
        std::printf("Accepted connection %d from %s\n", number, peer.to_string().c_str());
        std::uint64_t id = next_id_++;
        tfd::tcp_connection::callbacks handlers{
            [this, id](std::string_view line) { on_line(id, line); },
            [this, id](std::string_view) { reply(id, "ERR line too long (max 1024 bytes)\n"); },
            [this, id](tfd::close_reason reason) { closed(id, reason); },
        };
        auto connection = std::make_unique<tfd::tcp_connection>(
            loop_, std::move(fd), std::move(handlers),
            tfd::tcp_connection::limits{max_line, max_output, 64 * 1024});
        clients_.emplace(id, client{number, std::move(connection)});
    }

    // Sends `text` to client `id`; false when that closed it (its output buffer was full).
    bool reply(std::uint64_t id, std::string_view text) {
        auto it = clients_.find(id);
        return it != clients_.end() && it->second.connection->send(text);
    }

    void on_line(std::uint64_t id, std::string_view line) {
        timer_server::command cmd = timer_server::parse_command(line);
        switch (cmd.kind) {
            case command_kind::stop:
                std::printf("Stopping server\n");
                stopping_ = true;
                reply(id, "OK stopping\n");
                loop_.stop();
                return;
            case command_kind::status:
                reply(id, status_line());
                return;
            case command_kind::help:
                reply(id, "commands: status, stop, help\n");
                return;
            case command_kind::empty:
                return;
            case command_kind::invalid_utf8:
                std::printf("Invalid UTF-8 from connection %d\n", clients_.at(id).fd);
                reply(id, "ERR invalid UTF-8\n");
                return;
            case command_kind::unknown: {
                std::string shown = printable::text(cmd.word);
                std::printf("Unknown command: %s\n", shown.c_str());
                reply(id, "ERR unknown command: " + shown + "\n");
                return;
            }
        }
    }

    std::string status_line() const {
        double uptime =
            std::chrono::duration<double>(loop_.now(tfd::clock_id::monotonic) - started_).count();
        char text[160];
        std::snprintf(text, sizeof text,
                      "timer1=%" PRIu64 " timer2=%" PRIu64 " timer3=%" PRIu64
                      " uptime=%.3f clients=%zu\n",
                      expirations_[0], expirations_[1], expirations_[2], uptime, clients_.size());
        return text;
    }

    void closed(std::uint64_t id, tfd::close_reason reason) {
        auto it = clients_.find(id);
        if (it == clients_.end()) {
            return;
        }
        std::printf("Closing connection %d (%s)\n", it->second.fd, tfd::to_string(reason));
        clients_.erase(it);  // destroys the connection from inside its own callback: allowed
        if (clients_.empty()) {
            trim_.restart_after(idle_trim_delay);
        }
    }

    // Gives the heap's free pages back to the system once the server has had no client for
    // idle_trim_delay.  glibc keeps freed memory for reuse: after a burst of connections the
    // free chunks sit below the buffers and tables still in use, so the heap top cannot
    // shrink and the resident size stays at its high-water mark for good.  malloc_trim(0)
    // walks the free lists and releases every whole free page (madvise), which costs time
    // in proportion to the heap; doing it per close would tax the server under load, so it
    // runs only when the last client has been gone a while, when nothing is waiting on it
    // and the memory is least likely to be needed again soon.
    void trim_if_idle() {
        if (clients_.empty()) {
            (void)::malloc_trim(0);
        }
    }

    settings config_;
    tfd::event_loop loop_;
    std::chrono::nanoseconds started_;
    std::array<std::uint64_t, timer_count> expirations_{};
    std::map<std::uint64_t, client> clients_;
    std::uint64_t next_id_ = 1;
    bool stopping_ = false;
    // Watchers last: they are destroyed first, before the loop and the state they use.
    tfd::tcp_listener listener_;
    std::array<tfd::timer_watcher, timer_count> timers_;
    tfd::timer_watcher trim_;
    std::vector<tfd::signal_watcher> signals_;
};

const server_options::server program{
    .name = "timer_server",
    .summary = "a timer and TCP control server on tfd::event_loop",
    .usage =
        "timer_server [--port N] [--clock monotonic|realtime|boottime]\n"
        "                    [--backend epoll|poll|select] [--duration SECONDS]",
    .default_port = 1234,
    .takes_clock = true,
    .default_idle = std::nullopt,
};

int serve(const settings& config) {
    server instance(config);
    return instance.run();
}

}  // namespace

int main(int argc, char** argv) {
    return server_options::run(argc, argv, program, serve);
}
