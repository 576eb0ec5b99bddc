// The control protocol of examples/timer_server: one command per line.
//
// Kept apart from the server so that tests and fuzzers can drive the parser directly.
#pragma once

#include <string_view>

namespace timer_server {

enum class command_kind {
    stop,          // "stop": reply, then the server exits 0
    status,        // "status": expirations per timer, uptime, clients
    help,          // "help": the list of commands
    empty,         // a blank line: ignored
    unknown,       // anything else: "unknown command"
    invalid_utf8,  // bytes that are not UTF-8: an error reply
};

struct command {
    command_kind kind = command_kind::empty;
    std::string_view word;  // the line without surrounding blanks (empty when invalid_utf8)
};

// True when `bytes` is well-formed UTF-8 (no overlong forms, no surrogates, <= U+10FFFF).
[[nodiscard]] bool valid_utf8(std::string_view bytes) noexcept;

// Classifies one line (without its terminator).  Commands are case-sensitive, as in the
// seed; blanks (spaces, tabs) around the command are ignored.
[[nodiscard]] command parse_command(std::string_view line) noexcept;

}  // namespace timer_server
