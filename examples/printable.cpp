#include "printable.hpp"

namespace printable {

std::string text(std::string_view bytes, std::size_t limit) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string_view shown = bytes.substr(0, limit);
    std::string out;
    out.reserve(shown.size() + 16);
    for (char c : shown) {
        auto byte = static_cast<unsigned char>(c);
        if (byte == '\\') {
            out += "\\\\";
        } else if (byte >= 0x20 && byte <= 0x7e) {
            out += c;
        } else {
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 0xf];
        }
    }
    if (shown.size() < bytes.size()) {
        out += "... (" + std::to_string(bytes.size()) + " bytes)";
    }
    return out;
}

}  // namespace printable
