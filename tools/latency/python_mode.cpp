#include "python_mode.hpp"

#include <cstdlib>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "subprocess.hpp"

namespace tfd::latency {
namespace {

// Where the build puts the tfd package for interpreter 3.X: <build>/python/3.X (see
// python/CMakeLists.txt).  TFD_LATENCY_PYTHONPATH overrides it.
std::string python_path(const std::string& interpreter) {
    if (const char* forced = std::getenv("TFD_LATENCY_PYTHONPATH")) {
        return forced;
    }
    subprocess ask({interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"}, {});
    std::string version = ask.read_line().value_or("");
    ask.wait();
    return std::string(TFD_LATENCY_BINARY_DIR) + "/python/" + version;
}

std::vector<std::string> python_env(const std::string& interpreter) {
    return {"PYTHONPATH=" + python_path(interpreter), "PYTHONDONTWRITEBYTECODE=1"};
}

class python_mode final : public mode {
  public:
    explicit python_mode(const run_config& config)
        : config_(config),
          child_({config.python, TFD_LATENCY_PROBE_SCRIPT}, python_env(config.python)) {
        if (child_.read_line() != "ready") {
            throw std::runtime_error("the python probe did not start (is tfd importable?)");
        }
    }
    ~python_mode() override {
        try {
            child_.write("quit\n");
            child_.wait();
        } catch (...) {
            // The subprocess destructor ends the child anyway.
        }
    }

    void run_chunk(std::uint64_t periods, mode_stats& stats) override {
        child_.write("run " + std::to_string(static_cast<int>(config_.clock)) + " " +
                     std::to_string(config_.period.count()) + " " + std::to_string(periods) + "\n");
        while (auto line = child_.read_line()) {
            if (*line == "end") {
                return;
            }
            std::istringstream fields(*line);
            long long lateness = 0;
            std::uint64_t covered = 0;
            if (!(fields >> lateness >> covered) || covered == 0) {
                throw std::runtime_error("the python probe said: " + *line);
            }
            stats.add(std::chrono::nanoseconds(lateness), covered);
        }
        throw std::runtime_error("the python probe exited during a chunk");
    }

  private:
    run_config config_;
    subprocess child_;
};

}  // namespace

std::string python_unavailable(const run_config& config) {
    static std::once_flag once;
    static std::string reason;
    std::call_once(once, [&] {
        if (!program_exists(config.python)) {
            reason = "no interpreter '" + config.python + "'";
            return;
        }
        try {
            std::string path = python_path(config.python);
            subprocess check({config.python, "-c", "import tfd; tfd.Timer; print('ok')"},
                             python_env(config.python), /*quiet=*/true);
            std::string answer = check.read_line().value_or("");
            check.wait();
            if (answer != "ok") {
                reason = "'" + config.python + "' cannot import tfd.Timer from " + path +
                         " (build the python package first)";
            }
        } catch (const std::exception& e) {
            reason = e.what();
        }
    });
    return reason;
}

std::unique_ptr<mode> make_python_mode(const run_config& config) {
    return std::make_unique<python_mode>(config);
}

}  // namespace tfd::latency
