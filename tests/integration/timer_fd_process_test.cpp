// timer_fd across process boundaries: fork, exec and capabilities.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "tfd/timer_fd.hpp"

namespace tfd {
namespace {

using namespace std::chrono_literals;

// Runs `child` in a forked process and returns its exit status (or -1 if it died).
template <class F>
int in_child(F&& child) {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::_exit(child());
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(TimerFdProcess, ForkedChildSharesTheSameTimer) {
    timer_fd timer(clock_id::monotonic, open_flags::nonblocking);
    timer.set(10ms);
    int status = in_child([&] {
        std::this_thread::sleep_for(50ms);
        read_result result = timer.read();
        return result.expired() && result.count == 1 ? 0 : 1;
    });
    ASSERT_EQ(status, 0) << "the child did not see the expiry";
    // The child consumed the expiry: it is gone for the parent too.
    EXPECT_EQ(timer.read().status, read_status::would_block);
    // And re-arming in the parent is visible in a child.
    timer.set(1h);
    status = in_child([&] { return timer.get().initial > 59min ? 0 : 1; });
    EXPECT_EQ(status, 0);
}

// Exit status of `sh -c 'test -e /proc/$$/fd/<fd>'` run through execve.
int exec_sees_fd(int fd) {
    return in_child([fd] {
        std::string script = "test -e /proc/$$/fd/" + std::to_string(fd);
        ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
        return 127;
    });
}

TEST(TimerFdProcess, CloseOnExecReallyClosesOnExec) {
    timer_fd closing(clock_id::monotonic);
    timer_fd inherited(clock_id::monotonic, open_flags::inheritable);
    EXPECT_EQ(exec_sees_fd(closing.native_handle()), 1) << "close-on-exec timer leaked into exec";
    EXPECT_EQ(exec_sees_fd(inherited.native_handle()), 0)
        << "inheritable timer did not survive exec";
}

// Clears one capability from the effective and permitted sets of the calling process.
bool drop_capability(int capability) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) != 0) {
        return false;
    }
    unsigned word = static_cast<unsigned>(capability) / 32;
    unsigned bit = 1u << (static_cast<unsigned>(capability) % 32);
    data[word].effective &= ~bit;
    data[word].permitted &= ~bit;
    return ::syscall(SYS_capset, &header, data) == 0;
}

TEST(TimerFdProcess, AlarmClocksNeedWakeAlarmCapability) {
    std::error_code probe;
    (void)timer_fd::create(clock_id::realtime_alarm, open_flags::none, probe);
    if (probe && probe != std::errc::operation_not_permitted) {
        GTEST_SKIP() << "alarm timers unavailable on this kernel: " << probe.message();
    }
    // 0: EPERM as expected; 2: created anyway; 3: other error; 4: could not drop the capability.
    int status = in_child([] {
        if (!drop_capability(CAP_WAKE_ALARM)) {
            return 4;
        }
        for (clock_id clock : {clock_id::realtime_alarm, clock_id::boottime_alarm}) {
            std::error_code ec;
            timer_fd timer = timer_fd::create(clock, open_flags::none, ec);
            if (!ec) {
                return 2;
            }
            if (ec != std::errc::operation_not_permitted) {
                return 3;
            }
        }
        return 0;
    });
    if (status == 4) {
        GTEST_SKIP() << "capset(2) refused to drop CAP_WAKE_ALARM";
    }
    EXPECT_EQ(status, 0);
}

}  // namespace
}  // namespace tfd
