"""A dependency-free SVG of lateness distributions (empirical CDFs), for aio_bench.py."""

import math

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#7f7f7f", "#9467bd"]


def _x(value_us, lo, hi, left, width):
    # A symmetric log scale: linear within +-10 us, logarithmic beyond, so early wake-ups
    # (negative) and the long tail both show.
    def f(v):
        return math.copysign(math.log10(1 + abs(v) / 10), v)

    return left + (f(value_us) - f(lo)) / (f(hi) - f(lo)) * width


def write_cdf_svg(path, series, title):
    """series: {name: [lateness in us]}; writes one CDF line per name."""
    width, height, left, right, top, bottom = 820, 440, 70, 20, 40, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for vs in series.values() for v in vs]
    lo = min(-1000.0, min(values))
    hi = max(2000.0, max(values))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">'
           f'Timer lateness, CDF: {title}</text>']
    # axes and grid
    for tick in (-1000, -100, -10, 0, 10, 100, 1000, 10000):
        if lo <= tick <= hi:
            x = _x(tick, lo, hi, left, plot_w)
            out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" '
                       f'stroke="{"#000" if tick == 0 else "#ddd"}"/>')
            out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{tick}</text>')
    for frac in (0, 0.25, 0.5, 0.75, 0.99, 1.0):
        y = top + plot_h * (1 - frac)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{frac:g}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 18}" text-anchor="middle">'
               f'lateness (us; negative = early; log scale beyond +-10 us)</text>')
    out.append(f'<text x="16" y="{top + plot_h / 2}" transform="rotate(-90 16 {top + plot_h / 2})" '
               f'text-anchor="middle">fraction of wake-ups</text>')
    for i, (name, vs) in enumerate(series.items()):
        ordered = sorted(vs)
        n = len(ordered)
        step = max(1, n // 600)
        points = []
        for j in range(0, n, step):
            points.append(f"{_x(ordered[j], lo, hi, left, plot_w):.1f},{top + plot_h * (1 - (j + 1) / n):.1f}")
        points.append(f"{_x(ordered[-1], lo, hi, left, plot_w):.1f},{top:.1f}")
        colour = COLOURS[i % len(COLOURS)]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>')
        out.append(f'<rect x="{left + 10}" y="{top + 8 + i * 18}" width="14" height="4" fill="{colour}"/>')
        out.append(f'<text x="{left + 30}" y="{top + 13 + i * 18}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
