// Fuzzes the timer server's control protocol (examples/timer_server_protocol.cpp, compiled
// into this fuzzer): the UTF-8 check against an independent reference, and the command
// classifier's promises.
//
// Input: one line, as the server hands it to parse_command (any bytes, "\n" included: the
// parser must not care).
//
// The reference validator follows the Unicode Standard's table of well-formed byte sequences
// (chapter 3, table 3-7) row by row, instead of decoding and range-checking a code point as
// the code under test does, so one cannot share the other's mistake.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "timer_server_protocol.hpp"

namespace {

struct byte_range {
    unsigned char low;
    unsigned char high;
};

// One row of table 3-7: the allowed range of each byte of the sequence.
struct utf8_row {
    int length;
    byte_range bytes[4];
};

constexpr utf8_row table_3_7[] = {
    {1, {{0x00, 0x7F}}},
    {2, {{0xC2, 0xDF}, {0x80, 0xBF}}},
    {3, {{0xE0, 0xE0}, {0xA0, 0xBF}, {0x80, 0xBF}}},
    {3, {{0xE1, 0xEC}, {0x80, 0xBF}, {0x80, 0xBF}}},
    {3, {{0xED, 0xED}, {0x80, 0x9F}, {0x80, 0xBF}}},
    {3, {{0xEE, 0xEF}, {0x80, 0xBF}, {0x80, 0xBF}}},
    {4, {{0xF0, 0xF0}, {0x90, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}}},
    {4, {{0xF1, 0xF3}, {0x80, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}}},
    {4, {{0xF4, 0xF4}, {0x80, 0x8F}, {0x80, 0xBF}, {0x80, 0xBF}}},
};

// The length of the well-formed sequence at the start of `rest`, or 0 when there is none.
std::size_t sequence_at(std::string_view rest) {
    for (const utf8_row& row : table_3_7) {
        if (rest.size() < static_cast<std::size_t>(row.length)) {
            continue;
        }
        bool match = true;
        for (int k = 0; k < row.length && match; ++k) {
            auto b = static_cast<unsigned char>(rest[k]);
            match = b >= row.bytes[k].low && b <= row.bytes[k].high;
        }
        if (match) {
            return static_cast<std::size_t>(row.length);
        }
    }
    return 0;
}

bool reference_utf8(std::string_view bytes) {
    while (!bytes.empty()) {
        std::size_t n = sequence_at(bytes);
        if (n == 0) {
            return false;
        }
        bytes.remove_prefix(n);
    }
    return true;
}

bool blank(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

void fail(const char* what, std::string_view line) {
    std::fprintf(stderr, "timer_server_protocol_fuzz: %s (line of %zu bytes)\n", what, line.size());
    std::abort();
}

void check(std::string_view line) {
    using timer_server::command_kind;
    bool valid = reference_utf8(line);
    if (timer_server::valid_utf8(line) != valid) {
        fail(valid ? "valid_utf8 rejected well-formed UTF-8"
                   : "valid_utf8 accepted ill-formed bytes",
             line);
    }
    timer_server::command cmd = timer_server::parse_command(line);
    if (!valid) {
        if (cmd.kind != command_kind::invalid_utf8 || !cmd.word.empty()) {
            fail("ill-formed UTF-8 not classified invalid_utf8 with an empty word", line);
        }
        return;
    }
    if (cmd.kind == command_kind::invalid_utf8) {
        fail("well-formed UTF-8 classified invalid_utf8", line);
    }
    // The word is the line without surrounding blanks: a view into the line itself.
    std::size_t first = 0;
    while (first < line.size() && blank(line[first])) {
        ++first;
    }
    std::size_t last = line.size();
    while (last > first && blank(line[last - 1])) {
        --last;
    }
    std::string_view expected = line.substr(first, last - first);
    if (cmd.word != expected || (!expected.empty() && cmd.word.data() != line.data() + first)) {
        fail("word is not the line without surrounding blanks", line);
    }
    command_kind want = expected.empty()       ? command_kind::empty
                        : expected == "stop"   ? command_kind::stop
                        : expected == "status" ? command_kind::status
                        : expected == "help"   ? command_kind::help
                                               : command_kind::unknown;
    if (cmd.kind != want) {
        fail("command classified as the wrong kind", line);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
