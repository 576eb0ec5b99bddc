// Untrusted bytes (a client's command, a command-line argument) made safe to echo to a client,
// a terminal or a log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace printable {

// How many bytes of the input text() shows by default.
inline constexpr std::size_t default_limit = 64;

// `bytes` as plain ASCII: the printable characters (0x20 to 0x7e) as they are, except the
// backslash, written "\\"; every other byte as "\xHH" (NUL is "\x00", ESC "\x1b", and each
// byte of a UTF-8 sequence is escaped too, since some code points are terminal controls).
// Shows at most the first `limit` bytes of the input; a longer input ends with
// "... (N bytes)", N its full length.  So the result is at most 4 * limit + 32 characters,
// whatever came in, and no escape sequence, NUL or newline reaches the reader.
[[nodiscard]] std::string text(std::string_view bytes, std::size_t limit = default_limit);

}  // namespace printable
