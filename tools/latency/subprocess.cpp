#include "subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

extern char** environ;

namespace tfd::latency {
namespace {

[[noreturn]] void fail(int error, const std::string& what) {
    throw std::system_error(error, std::system_category(), what);
}

}  // namespace

subprocess::subprocess(const std::vector<std::string>& argv,
                       const std::vector<std::string>& extra_env, bool quiet) {
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) {
        fail(errno, "pipe2");
    }
    unique_fd in_read(in[0]);
    to_child_ = unique_fd(in[1]);
    if (::pipe2(out, O_CLOEXEC) != 0) {
        fail(errno, "pipe2");
    }
    from_child_ = unique_fd(out[0]);
    unique_fd out_write(out[1]);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
    if (quiet) {
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    }

    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        env_strings.emplace_back(*e);
    }
    for (const std::string& added : extra_env) {
        std::string name = added.substr(0, added.find('=') + 1);
        std::erase_if(env_strings, [&](const std::string& s) { return s.rfind(name, 0) == 0; });
        env_strings.push_back(added);
    }
    std::vector<char*> env;
    for (std::string& s : env_strings) {
        env.push_back(s.data());
    }
    env.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> arg_pointers;
    for (std::string& s : args) {
        arg_pointers.push_back(s.data());
    }
    arg_pointers.push_back(nullptr);

    int error =
        ::posix_spawnp(&pid_, arg_pointers[0], &actions, nullptr, arg_pointers.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
        pid_ = -1;
        fail(error, "posix_spawnp " + argv[0]);
    }
}

subprocess::~subprocess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

void subprocess::write(const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(to_child_.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            fail(errno, "write to child");
        }
        done += static_cast<std::size_t>(n);
    }
}

std::optional<std::string> subprocess::read_line() {
    for (;;) {
        if (auto newline = buffer_.find('\n'); newline != std::string::npos) {
            std::string line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            return line;
        }
        if (eof_) {
            if (buffer_.empty()) {
                return std::nullopt;
            }
            return std::exchange(buffer_, {});
        }
        char chunk[4096];
        ssize_t n = ::read(from_child_.get(), chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            fail(errno, "read from child");
        }
        if (n == 0) {
            eof_ = true;
        }
        buffer_.append(chunk, static_cast<std::size_t>(n > 0 ? n : 0));
    }
}

int subprocess::wait() {
    to_child_ = unique_fd();
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
        if (errno != EINTR) {
            fail(errno, "waitpid");
        }
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool program_exists(const std::string& program) {
    if (program.find('/') != std::string::npos) {
        return ::access(program.c_str(), X_OK) == 0;
    }
    const char* path = std::getenv("PATH");
    std::string_view rest = path != nullptr ? path : "/usr/bin:/bin";
    while (!rest.empty()) {
        std::string_view dir = rest.substr(0, rest.find(':'));
        rest.remove_prefix(std::min(rest.size(), dir.size() + 1));
        std::string candidate = std::string(dir.empty() ? "." : dir) + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace tfd::latency
