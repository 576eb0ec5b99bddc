// write_svg: the distributions side by side, one column per mode on a shared logarithmic
// latency axis.  Each column is a violin: its width at a latency is log(1 + count) of the
// samples there, relative to that mode's peak, so both the body and the rare tail show.
// Markers: p50 (solid), p99 (dashed), p99.9 (dotted), max (circle).
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>

#include "report.hpp"
#include "tfd/time_convert.hpp"

namespace tfd::latency {
namespace {

constexpr double column_width = 150;
constexpr double plot_top = 70;
constexpr double plot_height = 420;
constexpr double left_margin = 80;
constexpr int violin_bins = 120;

std::string fixed(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", v);
    return text;
}

std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '<') {
            out += "&lt;";
        } else if (c == '>') {
            out += "&gt;";
        } else if (c == '&') {
            out += "&amp;";
        } else {
            out += c;
        }
    }
    return out;
}

double y_of(const log_axis& axis, double ns) {
    return plot_top + plot_height * (1.0 - axis.fraction(ns));
}

void draw_axis(std::ostream& svg, const log_axis& axis, double width) {
    svg << "<line x1='" << left_margin << "' y1='" << plot_top << "' x2='" << left_margin
        << "' y2='" << plot_top + plot_height << "' stroke='#333'/>\n";
    for (double decade = std::pow(10.0, std::floor(std::log10(axis.lo))); decade <= axis.hi;
         decade *= 10) {
        for (double step : {1.0, 2.0, 5.0}) {
            double v = step * decade;
            if (v < axis.lo * 0.999 || v > axis.hi * 1.001) {
                continue;
            }
            double y = y_of(axis, v);
            svg << "<line x1='" << left_margin << "' y1='" << fixed(y) << "' x2='" << width - 20
                << "' y2='" << fixed(y) << "' stroke='#ddd'/>\n"
                << "<text x='" << left_margin - 6 << "' y='" << fixed(y + 4)
                << "' text-anchor='end'>" << short_duration(v) << "</text>\n";
        }
    }
}

void draw_violin(std::ostream& svg, const log_axis& axis, const mode_result& m, double centre,
                 std::chrono::nanoseconds period) {
    std::vector<double> counts(violin_bins, 0);
    for (std::size_t b = 0; b < latency_histogram::bucket_count; ++b) {
        if (std::uint64_t c = m.stats.lateness.count_at(b)) {
            double mid = 0.5 * static_cast<double>(latency_histogram::bucket_lower(b) +
                                                   latency_histogram::bucket_upper(b));
            int bin = std::min(violin_bins - 1, static_cast<int>(axis.fraction(mid) * violin_bins));
            counts[static_cast<std::size_t>(bin)] += static_cast<double>(c);
        }
    }
    double peak = 0;
    for (double c : counts) {
        peak = std::max(peak, c);
    }
    double half = column_width * 0.4;
    std::ostringstream right;
    std::ostringstream left;
    for (int i = 0; i < violin_bins; ++i) {
        double w = counts[static_cast<std::size_t>(i)] == 0
                       ? 0
                       : half * std::log1p(counts[static_cast<std::size_t>(i)]) / std::log1p(peak);
        double y0 = plot_top + plot_height * (1.0 - static_cast<double>(i) / violin_bins);
        double y1 = plot_top + plot_height * (1.0 - static_cast<double>(i + 1) / violin_bins);
        right << fixed(centre + w) << "," << fixed(y0) << " " << fixed(centre + w) << ","
              << fixed(y1) << " ";
        std::ostringstream point;
        point << fixed(centre - w) << "," << fixed(y1) << " " << fixed(centre - w) << ","
              << fixed(y0) << " ";
        left.str(point.str() + left.str());
    }
    svg << "<polygon points='" << right.str() << left.str()
        << "' fill='#7aa6d8' fill-opacity='0.75' stroke='#2c5d94' stroke-width='0.6'/>\n";
    summary s = summarize(m, period);
    auto mark = [&](double ns, const char* dash, double width) {
        double y = y_of(axis, ns);
        svg << "<line x1='" << fixed(centre - half) << "' y1='" << fixed(y) << "' x2='"
            << fixed(centre + half) << "' y2='" << fixed(y) << "' stroke='#b22' stroke-width='"
            << width << "'" << dash << "/>\n";
    };
    mark(s.p50_ns, "", 2.2);
    mark(s.p99_ns, " stroke-dasharray='6,3'", 1.4);
    mark(s.p999_ns, " stroke-dasharray='2,3'", 1.4);
    svg << "<circle cx='" << fixed(centre) << "' cy='" << fixed(y_of(axis, s.max_ns))
        << "' r='3.5' fill='#b22'/>\n";
    double label_y = plot_top + plot_height + 22;
    svg << "<text x='" << fixed(centre) << "' y='" << fixed(label_y)
        << "' text-anchor='middle' font-weight='bold'>" << escape(s.name) << "</text>\n"
        << "<text x='" << fixed(centre) << "' y='" << fixed(label_y + 16)
        << "' text-anchor='middle'>p50 " << micros(s.p50_ns) << " / p99 " << micros(s.p99_ns)
        << " us</text>\n"
        << "<text x='" << fixed(centre) << "' y='" << fixed(label_y + 32)
        << "' text-anchor='middle'>overruns " << s.overruns << " of " << s.periods << "</text>\n";
}

}  // namespace

void write_svg(const std::string& path, const options& opts, const run_outcome& outcome) {
    std::vector<const mode_result*> shown;
    for (const mode_result& m : outcome.modes) {
        if (m.stats.samples() > 0) {
            shown.push_back(&m);
        }
    }
    // Wide enough for the title line even with one or two modes.
    double width =
        std::max(760.0, left_margin + column_width * static_cast<double>(shown.size()) + 20);
    double height = plot_top + plot_height + 70;
    log_axis axis = axis_for(outcome);
    std::ostringstream svg;
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
        << "' viewBox='0 0 " << width << " " << height
        << "' font-family='sans-serif' font-size='11'>\n"
        << "<rect width='100%' height='100%' fill='white'/>\n"
        << "<text x='" << left_margin << "' y='22' font-size='14' font-weight='bold'>"
        << "Wake-up lateness, period " << format_duration(opts.period) << ", clock "
        << to_string(opts.clock) << ", " << escape(outcome.scheduling) << ", " << opts.count
        << " periods per mode</text>\n"
        << "<text x='" << left_margin << "' y='40'>log(count) violins on a log latency axis; "
        << "red: p50 solid, p99 dashed, p99.9 dotted, max dot</text>\n"
        << "<text x='" << left_margin << "' y='56' fill='#555'>" << escape(opts.command_line)
        << "</text>\n";
    draw_axis(svg, axis, width);
    for (std::size_t i = 0; i < shown.size(); ++i) {
        draw_violin(svg, axis, *shown[i],
                    left_margin + column_width * (static_cast<double>(i) + 0.5), opts.period);
    }
    svg << "</svg>\n";
    std::ofstream out(path);
    out << svg.str();
    if (!out.flush()) {
        throw std::system_error(errno, std::system_category(), "--svg: cannot write " + path);
    }
}

}  // namespace tfd::latency
