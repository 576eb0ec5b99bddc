// tfd-latency: how late do periodic wake-ups come, through the raw system calls, through tfd,
// and through cyclictest, measured side by side in one run.  See docs/precision.md.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cyclictest_mode.hpp"
#include "options.hpp"
#include "report.hpp"
#include "runner.hpp"

namespace tfd::latency {
namespace {

run_config config_for(const options& opts) {
    run_config config;
    config.clock = opts.clock;
    config.period = opts.period;
    config.python = opts.python;
    config.spin_margin = opts.spin_margin;
    return config;
}

const mode_info* find_mode(const std::string& name) {
    for (const mode_info& m : all_modes()) {
        if (m.name == name) {
            return &m;
        }
    }
    return nullptr;
}

void list_modes(const options& opts) {
    run_config config = config_for(opts);
    for (const mode_info& m : all_modes()) {
        std::string why = m.unavailable(config);
        std::printf("%-15s %s%s\n", m.name.c_str(), m.description.c_str(),
                    why.empty() ? "" : ("  [unavailable: " + why + "]").c_str());
    }
}

// The modes to run, in catalogue order.  Without --modes: every available one, cyclictest
// only with --with-cyclictest.  An unavailable mode that was asked for by name is an error
// for the user to see, not a silent omission; one left out by default is a note.
std::vector<const mode_info*> choose_modes(const options& opts, std::vector<std::string>& notes) {
    run_config config = config_for(opts);
    std::vector<std::string> wanted = opts.modes;
    for (const std::string& name : wanted) {
        if (find_mode(name) == nullptr) {
            throw usage_error("--modes: unknown mode '" + name + "' (see --list-modes)");
        }
    }
    bool by_name = !wanted.empty();
    if (opts.with_cyclictest) {
        if (std::string failure = ensure_cyclictest_installed(); !failure.empty()) {
            std::fprintf(stderr, "tfd-latency: %s\n", failure.c_str());
            notes.push_back(failure);
        }
        if (by_name) {
            wanted.emplace_back("cyclictest");
        }
    }
    std::vector<const mode_info*> chosen;
    for (const mode_info& m : all_modes()) {
        bool asked = by_name ? std::find(wanted.begin(), wanted.end(), m.name) != wanted.end()
                             : (m.name != "cyclictest" || opts.with_cyclictest);
        if (!asked) {
            continue;
        }
        if (std::string why = m.unavailable(config); !why.empty()) {
            notes.push_back(m.name + " not measured: " + why);
            std::fprintf(stderr, "tfd-latency: %s\n", notes.back().c_str());
            continue;
        }
        chosen.push_back(&m);
    }
    return chosen;
}

int run(int argc, char** argv) {
    options opts = parse_options(argc, argv);
    if (opts.help) {
        std::fputs(usage_text(), stdout);
        return 0;
    }
    if (opts.list_modes) {
        list_modes(opts);
        return 0;
    }
    std::vector<std::string> notes;
    std::vector<const mode_info*> modes = choose_modes(opts, notes);
    if (modes.empty()) {
        std::fprintf(stderr, "tfd-latency: no mode can run here\n");
        return 1;
    }
    run_outcome outcome = run_measurement(opts, modes);
    outcome.notes.insert(outcome.notes.begin(), notes.begin(), notes.end());
    print_header(stdout, opts, outcome);
    print_table(stdout, outcome, opts.period);
    if (opts.show_histogram) {
        print_histogram(stdout, outcome);
    }
    print_ratios(stdout, outcome, opts.period);
    if (!opts.json_file.empty()) {
        write_json(opts.json_file, opts, outcome);
    }
    if (!opts.svg_file.empty()) {
        write_svg(opts.svg_file, opts, outcome);
    }
    for (const mode_result& m : outcome.modes) {
        if (!m.failed.empty()) {
            return 1;  // the table shows what failed
        }
    }
    return 0;
}

}  // namespace
}  // namespace tfd::latency

int main(int argc, char** argv) {
    try {
        return tfd::latency::run(argc, argv);
    } catch (const tfd::latency::usage_error& e) {
        std::fprintf(stderr, "tfd-latency: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tfd-latency: %s\n", e.what());
        return 1;
    }
}
