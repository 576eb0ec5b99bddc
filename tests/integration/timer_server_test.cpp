// examples/timer_server driven over real TCP sockets, on every backend.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "example_process.hpp"
#include "support/fd_utils.hpp"
#include "tfd/backend_kind.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// One timer_server on a free port with `backend`, and `extra` arguments after those.
class server_process : public example_process {
  public:
    explicit server_process(backend_kind backend, std::vector<std::string> extra = {})
        : example_process("timer_server", arguments(backend, std::move(extra))) {}

  private:
    static std::vector<std::string> arguments(backend_kind backend,
                                              std::vector<std::string> extra) {
        std::vector<std::string> args = {"--port", "0", "--backend",
                                         std::string(to_string(backend))};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }
};

struct status {
    long timer[3] = {-1, -1, -1};
    double uptime = -1;
    long clients = -1;
};

std::optional<status> parse_status(const std::string& line) {
    status s;
    if (std::sscanf(line.c_str(), "timer1=%ld timer2=%ld timer3=%ld uptime=%lf clients=%ld",
                    &s.timer[0], &s.timer[1], &s.timer[2], &s.uptime, &s.clients) != 5) {
        return std::nullopt;
    }
    return s;
}

// Every period that elapsed is counted, late or not: floor(uptime / period) for each timer.
// Never more (no timer fires early, and the uptime clock starts before the timers); fewer
// only by ticks due but not yet run when the status was answered (descriptors are dispatched
// before timers in a pass), which a loaded machine can make two.
void expect_on_schedule(const status& s) {
    for (int i = 0; i < 3; ++i) {
        long expected = static_cast<long>(s.uptime / (0.25 * (i + 1)));
        EXPECT_LE(s.timer[i], expected) << "timer " << i + 1 << " uptime " << s.uptime;
        EXPECT_GE(s.timer[i], expected - 2) << "timer " << i + 1 << " uptime " << s.uptime;
    }
}

// Asks `client` for the status and checks the timers kept to their schedule.
void expect_timers_on_schedule(const unique_fd& client) {
    send_all(client, "status\n");
    std::optional<status> s = parse_status(read_lines(client, 1));
    ASSERT_TRUE(s);
    expect_on_schedule(*s);
}

class TimerServer : public ::testing::TestWithParam<backend_kind> {
  protected:
    void SetUp() override {
        TFD_SKIP_WITHOUT_EXAMPLE("timer_server");
        server.emplace(GetParam());
        ASSERT_NE(server->port(), 0) << server->output();
    }
    std::optional<server_process> server;
};

INSTANTIATE_TEST_SUITE_P(AllBackends, TimerServer,
                         ::testing::Values(backend_kind::epoll, backend_kind::poll,
                                           backend_kind::select),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST_P(TimerServer, TimerCountsAfterAboutOneAndAHalfSeconds) {
    std::this_thread::sleep_for(1600ms);
    unique_fd client = connect_to(server->port());
    send_all(client, "status\n");
    std::optional<status> s = parse_status(read_lines(client, 1));
    ASSERT_TRUE(s);
    EXPECT_GE(s->uptime, 1.5);
    expect_on_schedule(*s);
    EXPECT_EQ(s->clients, 1);
    std::string out = server->output();
    EXPECT_NE(out.find("Timer 1 expired 1 times"), std::string::npos);
    EXPECT_NE(out.find("Timer 3 expired 1 times"), std::string::npos);
}

TEST_P(TimerServer, FramingSplitAndBatchedCommands) {
    unique_fd client = connect_to(server->port());
    send_all(client, "sta");
    std::this_thread::sleep_for(50ms);
    send_all(client, "tus\r\nhelp\nbogus\n\n   help  \n");
    std::string replies = read_lines(client, 4);
    std::istringstream lines(replies);
    std::string line;
    std::getline(lines, line);
    EXPECT_TRUE(parse_status(line)) << line;
    std::getline(lines, line);
    EXPECT_EQ(line, "commands: status, stop, help");
    std::getline(lines, line);
    EXPECT_EQ(line, "ERR unknown command: bogus");
    std::getline(lines, line);
    EXPECT_EQ(line, "commands: status, stop, help");
}

TEST_P(TimerServer, OverlongLinesAndInvalidUtf8GetErrorsAndTheServerCarriesOn) {
    unique_fd client = connect_to(server->port());
    send_all(client, std::string(1024, 'a') + "\n");  // exactly at the limit: a command
    EXPECT_EQ(read_lines(client, 1),
              "ERR unknown command: " + std::string(64, 'a') + "... (1024 bytes)\n");
    send_all(client, std::string(5000, 'b') + "\nhelp\n");
    EXPECT_EQ(read_lines(client, 2),
              "ERR line too long (max 1024 bytes)\ncommands: status, stop, help\n");
    send_all(client, "st\xff\xfe op\n\xc0\xaf\nhelp\n");
    EXPECT_EQ(read_lines(client, 3),
              "ERR invalid UTF-8\nERR invalid UTF-8\ncommands: status, stop, help\n");
    // An endless line without a newline is cut off once, and never grows the server.
    send_all(client, std::string(300000, 'c'));
    send_all(client, "\nhelp\n");
    EXPECT_EQ(read_lines(client, 2),
              "ERR line too long (max 1024 bytes)\ncommands: status, stop, help\n");
    expect_timers_on_schedule(client);
}

// An unknown command used to be echoed raw, to the client and to the server's log: NUL
// bytes, terminal escape sequences and all of a 1 KiB line.
TEST_P(TimerServer, UnknownCommandsAreEchoedEscapedAndCut) {
    unique_fd client = connect_to(server->port());
    std::string command = std::string("bo") + '\x1b' + "[2Jgus" + '\0' + '\x7f' + "\\x";
    send_all(client, command + "\n");
    const std::string shown = "bo\\x1b[2Jgus\\x00\\x7f\\\\x";
    EXPECT_EQ(read_lines(client, 1), "ERR unknown command: " + shown + "\n");
    send_all(client, "help\n");  // answered after the reply above: the log line is written
    ASSERT_EQ(read_lines(client, 1), "commands: status, stop, help\n");
    std::string out = server->output();
    EXPECT_NE(out.find("Unknown command: " + shown + "\n"), std::string::npos) << out;
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << "an escape sequence reached the log";
    EXPECT_EQ(out.find('\0'), std::string::npos) << "a NUL byte reached the log";
}

TEST_P(TimerServer, ClientThatNeverReadsIsDisconnectedWithoutStallingOthers) {
    int baseline = server->descriptors();
    unique_fd hog = connect_to(server->port(), 4096);
    unique_fd polite = connect_to(server->port());
    ::fcntl(hog.get(), F_SETFL, O_NONBLOCK);
    std::string burst;
    for (int i = 0; i < 1000; ++i) {
        burst += "help\n";
    }
    // Keep sending commands without reading the replies, until the server hangs up.
    bool cut_off = false;
    auto end = clock_type::now() + 20s;
    while (!cut_off && clock_type::now() < end) {
        ssize_t n = ::send(hog.get(), burst.data(), burst.size(), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
            cut_off = true;  // EPIPE or ECONNRESET: the server closed the connection
        }
        if (n < 0 && errno == EAGAIN) {
            std::this_thread::sleep_for(1ms);
        }
        // Meanwhile the other client is served promptly.
        send_all(polite, "status\n");
        auto asked = clock_type::now();
        ASSERT_TRUE(parse_status(read_lines(polite, 1)));
        EXPECT_LT(clock_type::now() - asked, 2s);
        if (server->output().find("output buffer full") != std::string::npos) {
            cut_off = true;
        }
    }
    EXPECT_TRUE(cut_off);
    EXPECT_NE(server->output().find("(output buffer full)"), std::string::npos);
    expect_timers_on_schedule(polite);
    hog.reset();
    polite.reset();
    EXPECT_EQ(server->wait_descriptors(baseline, 5s), baseline);
}

TEST_P(TimerServer, TwoHundredClientsAtOnce) {
    int baseline = server->descriptors();
    std::vector<unique_fd> clients;
    for (int i = 0; i < 200; ++i) {
        clients.push_back(connect_to(server->port()));
    }
    for (auto& client : clients) {
        send_all(client, "status\n");
    }
    int answered = 0;
    long max_clients = 0;
    for (auto& client : clients) {
        if (std::optional<status> s = parse_status(read_lines(client, 1))) {
            ++answered;
            max_clients = std::max(max_clients, s->clients);
        }
    }
    EXPECT_EQ(answered, 200);
    EXPECT_EQ(max_clients, 200);
    EXPECT_EQ(server->descriptors(), baseline + 200);
    clients.clear();
    EXPECT_EQ(server->wait_descriptors(baseline, 5s), baseline);
}

TEST_P(TimerServer, AbruptResetsAndHalfClosedClientsLeaveNoDescriptorBehind) {
    int baseline = server->descriptors();
    for (int i = 0; i < 20; ++i) {
        unique_fd client = connect_to(server->port());
        send_all(client, i % 2 == 0 ? "stat" : "help\nsta");
        if (i % 3 == 0) {
            linger reset{1, 0};  // close with RST instead of FIN
            ::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        } else if (i % 3 == 1) {
            ::shutdown(client.get(), SHUT_WR);
        }
    }
    EXPECT_EQ(server->wait_descriptors(baseline, 5s), baseline);
    unique_fd check = connect_to(server->port());
    expect_timers_on_schedule(check);
}

TEST_P(TimerServer, StopRepliesThenExitsZero) {
    unique_fd other = connect_to(server->port());
    unique_fd client = connect_to(server->port());
    send_all(client, "stop\n");
    EXPECT_EQ(read_lines(client, 1), "OK stopping\n");
    std::optional<int> status = server->wait_exit(5s);
    ASSERT_TRUE(status) << "the server did not exit";
    EXPECT_EQ(*status, 0);
    std::string out = server->output();
    EXPECT_NE(out.find("Stopping server"), std::string::npos);
    EXPECT_NE(out.find("Timers expired"), std::string::npos);
}

TEST_P(TimerServer, SigtermStopsItCleanly) {
    unique_fd client = connect_to(server->port());
    send_all(client, "help\n");
    ASSERT_EQ(read_lines(client, 1), "commands: status, stop, help\n");
    ASSERT_EQ(::kill(server->pid(), SIGTERM), 0);
    std::optional<int> status = server->wait_exit(5s);
    ASSERT_TRUE(status) << "the server did not exit on SIGTERM";
    EXPECT_EQ(*status, 0);
    EXPECT_NE(server->output().find("Signal 15 received"), std::string::npos);
}

// On the select backend a client whose descriptor is FD_SETSIZE (1024) or more cannot be
// watched.  The servers used to die there ("select::add: fd=1024 is >= FD_SETSIZE"), every
// client with them (timer_server exited 1, coro_timer_server 0).  Now each such client is
// refused (closed at once, one log line each) and every other one goes on being served.
class SelectServer : public ::testing::TestWithParam<const char*> {};

INSTANTIATE_TEST_SUITE_P(Examples, SelectServer,
                         ::testing::Values("timer_server", "coro_timer_server"));

TEST_P(SelectServer, ClientsPastFdSetsizeAreRefusedAndTheOthersServed) {
    TFD_SKIP_WITHOUT_EXAMPLE(GetParam());
    constexpr int client_count = 1100;
    // The server inherits the limit: room for its clients past 1024, and for ours.
    if (!raise_fd_limit(2 * client_count + 256)) {
        GTEST_SKIP() << "cannot open " << 2 * client_count << " descriptors here";
    }
    example_process server(GetParam(), {"--port", "0", "--backend", "select"});
    ASSERT_NE(server.port(), 0) << server.output();
    std::vector<unique_fd> clients;
    for (int i = 0; i < client_count; ++i) {
        clients.push_back(connect_to(server.port()));
        ASSERT_TRUE(clients.back().valid());
    }
    for (const unique_fd& client : clients) {
        // Not send_all: a refused client's connection may be reset already.
        (void)::send(client.get(), "status\n", 7, MSG_NOSIGNAL);
    }
    int served = 0;
    int refused = 0;
    for (const unique_fd& client : clients) {
        bool closed = false;
        std::string reply = read_lines(client, 1, 10s, &closed);
        if (reply.rfind("timer1=", 0) == 0) {
            ++served;
        } else if (closed && reply.empty()) {
            ++refused;
        }
    }
    EXPECT_EQ(served + refused, client_count);
    // The server holds about ten descriptors of its own below 1024.
    EXPECT_GE(served, 1000);
    EXPECT_LE(served, 1021);
    // A refused client sees its end of file just before the server writes the line about it.
    auto refusals_logged = [&] {
        std::string out = server.output();
        int count = 0;
        for (std::size_t at = out.find("Refused connection from 127.0.0.1:");
             at != std::string::npos; at = out.find("Refused connection from 127.0.0.1:", at + 1)) {
            ++count;
        }
        return count;
    };
    int logged = refusals_logged();
    for (auto end = clock_type::now() + 5s; logged < refused && clock_type::now() < end;) {
        std::this_thread::sleep_for(10ms);
        logged = refusals_logged();
    }
    EXPECT_EQ(logged, refused) << "one line per refused client";
    std::string out = server.output();
    EXPECT_NE(out.find("is >= FD_SETSIZE (1024)"), std::string::npos) << out.substr(0, 2000);
    // Still serving: the first client asks again, then stops the server, which exits 0.
    send_all(clients.front(), "status\n");
    EXPECT_EQ(read_lines(clients.front(), 1).rfind("timer1=", 0), 0u);
    send_all(clients.front(), "stop\n");
    EXPECT_EQ(read_lines(clients.front(), 1), "OK stopping\n");
    EXPECT_EQ(server.wait_exit(20s), std::optional<int>(0));
}

TEST(TimerServerOptions, OtherClocksAndDurationExitZero) {
    TFD_SKIP_WITHOUT_EXAMPLE("timer_server");
    for (const char* clock : {"realtime", "boottime"}) {
        server_process server(backend_kind::epoll, {"--clock", clock, "--duration", "0.6"});
        ASSERT_NE(server.port(), 0) << server.output();
        std::optional<int> status = server.wait_exit(10s);
        ASSERT_TRUE(status) << clock;
        EXPECT_EQ(*status, 0);
        std::string out = server.output();
        EXPECT_NE(out.find(std::string("clock ") + clock), std::string::npos) << out;
        EXPECT_NE(out.find("Timer 2 expired 1 times"), std::string::npos) << out;
        EXPECT_NE(out.find("Ran for 0.600 s"), std::string::npos) << out;
    }
}

// Runs `command` with sh; returns its exit status and what it wrote to standard output.
std::pair<int, std::string> shell(const std::string& command) {
    std::string text;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        ADD_FAILURE() << "popen: " << command;
        return {-1, text};
    }
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
        text.append(buffer, n);
    }
    int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

// --help used to print to stderr and exit 2, as an error does.
TEST(TimerServerOptions, HelpPrintsUsageToStandardOutputAndExitsZero) {
    TFD_SKIP_WITHOUT_EXAMPLE("timer_server");
    std::string binary = example_binary("timer_server");
    for (const char* option : {"--help", "-h"}) {
        auto [status, out] = shell(binary + " " + option + " 2>/dev/null");
        EXPECT_EQ(status, 0) << option;
        EXPECT_NE(out.find("usage: timer_server [--port N]"), std::string::npos) << out;
        auto [status2, err] = shell(binary + " " + option + " 2>&1 >/dev/null");
        EXPECT_EQ(err, "") << option;
    }
}

// Each message names the option and the value given, and says what is wrong with it.
TEST(TimerServerOptions, ErrorsNameTheValue) {
    TFD_SKIP_WITHOUT_EXAMPLE("timer_server");
    std::string binary = example_binary("timer_server");
    const std::pair<const char*, const char*> cases[] = {
        {"--port abc", "timer_server: --port abc: not a port number (digits only, 0 to 65535)"},
        {"--port 70000", "timer_server: --port 70000: out of range (0 to 65535)"},
        {"--port 99999999999999999999", "--port 99999999999999999999: out of range"},
        {"--duration 1e400", "timer_server: --duration 1e400: out of range"},
        {"--duration 1e-10", "--duration 1e-10: out of range"},
        {"--duration -1", "timer_server: --duration -1: not a positive number of seconds"},
        {"--duration 0", "--duration 0: not a positive number of seconds"},
        {"--backend kqueue", "timer_server: --backend kqueue: not epoll, poll or select"},
        {"--clock realtime_alarm", "--clock realtime_alarm: not monotonic, realtime or boottime"},
        {"--bogus 1", "timer_server: unknown option --bogus"},
        {"--port", "timer_server: missing value after --port"},
    };
    for (const auto& [args, message] : cases) {
        auto [status, err] = shell(binary + " " + args + " 2>&1 >/dev/null");
        EXPECT_EQ(status, 2) << args;
        EXPECT_NE(err.find(message), std::string::npos) << args << ": " << err;
        EXPECT_NE(err.find("usage: timer_server"), std::string::npos) << err;
    }
}

// strtoul() and strtod() skip leading blanks and take a sign, hexadecimal, "inf": all of
// these used to be accepted.  --duration 0.1 comes with each bad --port (and --port 0 with
// each bad --duration) so that a value taken by mistake ends the server quickly.
TEST(TimerServerOptions, PortTakesDigitsAndDurationAPlainDecimalNumber) {
    TFD_SKIP_WITHOUT_EXAMPLE("timer_server");
    std::string binary = example_binary("timer_server");
    const std::pair<const char*, const char*> cases[] = {
        {"--duration 0.1 --port ' 12'", "--port \" 12\": not a port number"},
        {"--duration 0.1 --port +12", "--port +12: not a port number"},
        {"--duration 0.1 --port -0", "--port -0: not a port number"},
        {"--duration 0.1 --port ''", "--port \"\": not a port number"},
        {"--port 0 --duration 0x0.1", "--duration 0x0.1: not a plain decimal number"},
        {"--port 0 --duration ' 0.1'", "--duration \" 0.1\": not a plain decimal number"},
        {"--port 0 --duration +0.1", "--duration +0.1: not a plain decimal number"},
        {"--port 0 --duration inf", "--duration inf: not a plain decimal number"},
        {"--port 0 --duration nan", "--duration nan: not a plain decimal number"},
        {"--port 0 --duration 1e", "--duration 1e: not a plain decimal number"},
    };
    for (const auto& [args, message] : cases) {
        auto [status, err] = shell(binary + " " + args + " 2>&1 >/dev/null");
        EXPECT_EQ(status, 2) << args;
        EXPECT_NE(err.find(message), std::string::npos) << args << ": " << err;
    }
    // Plain decimals, exponents included, are taken.
    for (const char* duration : {"0.1", ".1", "1e-1", "100E-3"}) {
        auto [status, out] = shell(binary + " --port 0 --duration " + duration + " 2>&1");
        EXPECT_EQ(status, 0) << duration << ": " << out;
        EXPECT_NE(out.find("Ran for 0.100 s"), std::string::npos) << duration << ": " << out;
    }
}

TEST(TimerServerOptions, BadArgumentsAndBusyPortFail) {
    TFD_SKIP_WITHOUT_EXAMPLE("timer_server");
    std::string binary = example_binary("timer_server");
    auto exit_status = [&](const std::string& args) {
        int status = std::system((binary + " " + args + " >/dev/null 2>&1").c_str());
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    EXPECT_EQ(exit_status("--port 70000"), 2);
    EXPECT_EQ(exit_status("--backend kqueue"), 2);
    EXPECT_EQ(exit_status("--clock realtime_alarm"), 2);
    EXPECT_EQ(exit_status("--duration -1"), 2);
    EXPECT_EQ(exit_status("--bogus 1"), 2);
    server_process first(backend_kind::epoll);
    ASSERT_NE(first.port(), 0);
    EXPECT_EQ(exit_status("--duration 1 --port " + std::to_string(first.port())), 1)
        << "a second server on a busy port reports it and exits 1";
}

}  // namespace
}  // namespace tfd::test
