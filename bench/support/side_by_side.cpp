#include "support/side_by_side.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace tfd::bench {
namespace {

constexpr const char* ours = "tfd";

// Forwards everything to the console reporter and remembers each benchmark's median.
class median_collector : public benchmark::ConsoleReporter {
  public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& run : runs) {
            if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median") {
                std::string name = run.run_name.str();
                medians_[name] = run.GetAdjustedRealTime();
                unit_ = benchmark::GetTimeUnitString(run.time_unit);
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }

    // operation -> contender -> median
    [[nodiscard]] std::map<std::string, std::map<std::string, double>> table() const {
        std::map<std::string, std::map<std::string, double>> result;
        for (const auto& [name, median] : medians_) {
            auto slash = name.find('/');
            if (slash == std::string::npos) {
                continue;
            }
            std::string contender = name.substr(slash + 1);
            auto next = contender.find('/');
            std::string suffix = next == std::string::npos ? "" : contender.substr(next);
            contender = contender.substr(0, next);
            result[name.substr(0, slash) + suffix][contender] = median;
        }
        return result;
    }
    [[nodiscard]] const std::string& unit() const { return unit_; }

  private:
    std::map<std::string, double> medians_;
    std::string unit_ = "ns";
};

void print_table(const median_collector& collector) {
    std::printf("\n| operation | contender | median (%s) | %s / contender |\n|---|---|---:|---:|\n",
                collector.unit().c_str(), ours);
    for (const auto& [operation, contenders] : collector.table()) {
        auto base = contenders.find(ours);
        for (const auto& [contender, median] : contenders) {
            if (base != contenders.end() && base->second > 0) {
                std::printf("| %s | %s | %.1f | %.3f |\n", operation.c_str(), contender.c_str(),
                            median, base->second / median);
            } else {
                std::printf("| %s | %s | %.1f | - |\n", operation.c_str(), contender.c_str(),
                            median);
            }
        }
    }
    std::printf("\nA ratio below 1 means %s is faster than that contender.\n", ours);
}

}  // namespace

int run_side_by_side(int argc, char** argv) {
    std::vector<char*> args(argv, argv + argc);
    std::string repetitions = "--benchmark_repetitions=15";
    std::string interleave = "--benchmark_enable_random_interleaving=true";
    std::string aggregates = "--benchmark_report_aggregates_only=true";
    // Defaults first so flags given on the command line win.
    args.insert(args.begin() + 1, {repetitions.data(), interleave.data(), aggregates.data()});
    int count = static_cast<int>(args.size());
    benchmark::Initialize(&count, args.data());
    if (benchmark::ReportUnrecognizedArguments(count, args.data())) {
        return 2;
    }
    median_collector collector;
    benchmark::RunSpecifiedBenchmarks(&collector);
    benchmark::Shutdown();
    print_table(collector);
    return 0;
}

}  // namespace tfd::bench
