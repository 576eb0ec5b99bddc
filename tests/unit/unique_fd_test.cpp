#include "tfd/unique_fd.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>

#include "support/fault_injection.hpp"
#include "support/fd_utils.hpp"

namespace tfd {
namespace {

int make_pipe_read_end(int& write_end) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    write_end = fds[1];
    return fds[0];
}

TEST(UniqueFd, DefaultIsEmpty) {
    unique_fd fd;
    EXPECT_FALSE(fd.valid());
    EXPECT_EQ(fd.get(), -1);
    EXPECT_NO_THROW(fd.close());
}

TEST(UniqueFd, NegativeValuesMakeAnEmptyOwner) {
    unique_fd fd(-42);
    EXPECT_EQ(fd.get(), -1);
}

TEST(UniqueFd, DestructorCloses) {
    int other = -1;
    int raw = make_pipe_read_end(other);
    { unique_fd fd(raw); }
    EXPECT_FALSE(test::fd_is_open(raw));
    ::close(other);
}

TEST(UniqueFd, MoveTransfersOwnership) {
    int other = -1;
    unique_fd a(make_pipe_read_end(other));
    int raw = a.get();
    unique_fd b(std::move(a));
    EXPECT_EQ(a.get(), -1);  // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(b.get(), raw);
    unique_fd c;
    c = std::move(b);
    EXPECT_EQ(c.get(), raw);
    EXPECT_TRUE(test::fd_is_open(raw));
    ::close(other);
}

TEST(UniqueFd, MoveAssignmentClosesThePreviousDescriptor) {
    int w1 = -1;
    int w2 = -1;
    unique_fd a(make_pipe_read_end(w1));
    unique_fd b(make_pipe_read_end(w2));
    int old = a.get();
    a = std::move(b);
    EXPECT_FALSE(test::fd_is_open(old));
    ::close(w1);
    ::close(w2);
}

TEST(UniqueFd, ReleaseGivesUpOwnership) {
    int other = -1;
    int raw = -1;
    {
        unique_fd fd(make_pipe_read_end(other));
        raw = fd.release();
        EXPECT_FALSE(fd.valid());
    }
    EXPECT_TRUE(test::fd_is_open(raw));
    ::close(raw);
    ::close(other);
}

TEST(UniqueFd, CloseReportsErrorsAndEmptiesTheOwner) {
    int other = -1;
    int raw = make_pipe_read_end(other);
    unique_fd fd(raw);
    ::close(raw);  // behind the owner's back
    try {
        fd.close();
        FAIL() << "close() of a stale descriptor must throw";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EBADF);
        EXPECT_EQ(std::string(e.what()),
                  "unique_fd::close: fd=" + std::to_string(raw) + ": Bad file descriptor");
    }
    EXPECT_FALSE(fd.valid());
    ::close(other);
}

TEST(UniqueFd, CloseIsNotRetriedOnEintr) {
    int other = -1;
    int raw = make_pipe_read_end(other);
    unique_fd fd(raw);
    std::error_code ec;
    {
        test::scoped_fault fault(sys::call::close, -1, EINTR, 1);
        fd.close(ec);
        EXPECT_EQ(fault.fired(), 1);
    }
    EXPECT_EQ(ec.value(), EINTR);
    EXPECT_FALSE(fd.valid());
    ::close(raw);  // the injected failure never reached the kernel
    ::close(other);
}

}  // namespace
}  // namespace tfd
