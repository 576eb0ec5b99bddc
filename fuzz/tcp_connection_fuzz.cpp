// Fuzzes tcp_connection's line framing: bytes arrive over a real socket pair in the chunks
// the input chooses, and the lines and overlong reports the connection delivers must be
// exactly those of a reference that sees the whole stream at once, so framing can never
// depend on how the bytes were split into reads.
//
// Input: byte 0 picks max_line (1..48, or 1024, the server's limit), byte 1 the read budget,
// then chunks, each a length byte followed by that many bytes (a short last chunk is cut).
// Each chunk is sent, then the loop runs one pass; at the end the peer shuts its side and
// the connection must close with close_reason::peer_closed.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tfd/event_loop.hpp"
#include "tfd/tcp_connection.hpp"
#include "tfd/unique_fd.hpp"

namespace {

struct event {
    bool overlong;
    std::string text;
    bool operator==(const event&) const = default;
};

// The framing contract, applied to the whole stream.  A terminated line loses its "\n" and
// one "\r" before it; one longer than max_line is reported overlong with its first max_line
// bytes.  An unterminated tail is dropped at end of file, but is reported overlong once it
// can no longer become a line within the limit (more than max_line bytes, not counting a
// final "\r" that a "\n" may still follow).
std::vector<event> reference(std::string_view stream, std::size_t max_line) {
    std::vector<event> out;
    for (;;) {
        std::size_t end = stream.find('\n');
        if (end == std::string_view::npos) {
            break;
        }
        std::string_view line = stream.substr(0, end);
        stream.remove_prefix(end + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.size() > max_line) {
            out.push_back({true, std::string(line.substr(0, max_line))});
        } else {
            out.push_back({false, std::string(line)});
        }
    }
    std::size_t tail = stream.size();
    if (tail > max_line + 1 || (tail == max_line + 1 && stream.back() != '\r')) {
        out.push_back({true, std::string(stream.substr(0, max_line))});
    }
    return out;
}

[[noreturn]] void fail(const char* what, const std::vector<event>& got,
                       const std::vector<event>& want) {
    std::fprintf(stderr, "tcp_connection_fuzz: %s\n", what);
    std::size_t n = std::max(got.size(), want.size());
    for (std::size_t i = 0; i < n; ++i) {
        auto show = [](const std::vector<event>& v, std::size_t k) {
            return k < v.size() ? (v[k].overlong ? "overlong " : "line ") +
                                      std::to_string(v[k].text.size()) + " bytes"
                                : std::string("-");
        };
        std::fprintf(stderr, "  #%zu got %s, want %s%s\n", i, show(got, i).c_str(),
                     show(want, i).c_str(),
                     i < got.size() && i < want.size() && !(got[i] == want[i]) ? "  <--" : "");
    }
    std::abort();
}

tfd::event_loop& shared_loop() {
    // One loop for every input (creating one per input would dominate the run time); never
    // destroyed, so no exit-time ordering with libFuzzer's own teardown.
    static auto* loop = new tfd::event_loop();
    return *loop;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    tfd::tcp_connection::limits limits;
    limits.max_line = data[0] >= 240 ? 1024 : 1 + data[0] % 48;
    limits.read_budget = 1 + std::size_t{data[1]} * 64;
    data += 2;
    size -= 2;

    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) {
        std::perror("socketpair");
        std::abort();
    }
    tfd::unique_fd peer(pair[1]);
    std::vector<event> got;
    bool closed = false;
    tfd::close_reason reason{};
    tfd::tcp_connection::callbacks handlers{
        [&](std::string_view line) {
            got.push_back({false, std::string(line)});
        },
        [&](std::string_view prefix) {
            got.push_back({true, std::string(prefix)});
        },
        [&](tfd::close_reason r) { closed = true, reason = r; },
    };
    tfd::event_loop& loop = shared_loop();
    tfd::tcp_connection connection(loop, tfd::unique_fd(pair[0]), std::move(handlers), limits);

    std::string stream;
    while (size > 0) {
        std::size_t length = std::min<std::size_t>(data[0], size - 1);
        std::string_view chunk(reinterpret_cast<const char*>(data + 1), length);
        data += 1 + length;
        size -= 1 + length;
        if (chunk.empty()) {
            continue;
        }
        stream.append(chunk);
        if (::send(peer.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(chunk.size())) {
            std::perror("send");
            std::abort();
        }
        (void)loop.run_once();
    }
    ::shutdown(peer.get(), SHUT_WR);
    for (int pass = 0; pass < 10'000 && !closed; ++pass) {
        (void)loop.run_once();
    }
    std::vector<event> want = reference(stream, limits.max_line);
    if (!closed || reason != tfd::close_reason::peer_closed) {
        fail("the connection did not close as peer_closed at end of file", got, want);
    }
    if (got != want) {
        fail("delivered lines differ from the reference framing", got, want);
    }
    return 0;
}
