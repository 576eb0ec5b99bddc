// Shared fixture of the backend contract suite: every test runs once per backend.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "tfd/backend_kind.hpp"
#include "tfd/event_loop.hpp"
#include "tfd/unique_fd.hpp"

namespace tfd::test {

class loop_contract : public ::testing::TestWithParam<backend_kind> {
  protected:
    event_loop loop{GetParam()};
};

// A connected pair of non-blocking stream sockets.  Tests name its ends with references
// (`unique_fd& a = pair.first`) rather than structured bindings, which clang 14 cannot
// capture in lambdas.
inline std::pair<unique_fd, unique_fd> socket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
        ADD_FAILURE() << "socketpair failed";
        return {};
    }
    return {unique_fd(fds[0]), unique_fd(fds[1])};
}

inline void send_byte(const unique_fd& fd, char byte = 'x') {
    ASSERT_EQ(::write(fd.get(), &byte, 1), 1);
}

inline std::string backend_name(const ::testing::TestParamInfo<backend_kind>& info) {
    return std::string(to_string(info.param));
}

#define TFD_ALL_BACKENDS(suite)                                                  \
    INSTANTIATE_TEST_SUITE_P(                                                    \
        AllBackends, suite,                                                      \
        ::testing::Values(::tfd::backend_kind::epoll, ::tfd::backend_kind::poll, \
                          ::tfd::backend_kind::select),                          \
        ::tfd::test::backend_name)

}  // namespace tfd::test
