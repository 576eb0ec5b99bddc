// The message with_timeout and with_stop give for an operation on another loop than theirs,
// as the tests expect it.
#pragma once

#include <cstdio>
#include <string>

#include "tfd/event_loop.hpp"

namespace tfd::test {

inline std::string loop_mismatch_message(const char* wrapper, const event_loop& operation,
                                         const event_loop& given) {
    char text[200];
    std::snprintf(text, sizeof text,
                  "%s: the operation waits on event_loop %p, but %s was given event_loop %p "
                  "(pass the operation's own loop): Invalid argument",
                  wrapper, static_cast<const void*>(&operation), wrapper,
                  static_cast<const void*>(&given));
    return text;
}

}  // namespace tfd::test
