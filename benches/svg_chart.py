"""Standalone SVG charts (lines, points or bars, no dependencies) for the benchmark
pictures: benches/cpu/plots.py and benches/gpu/plots.py draw with `chart`."""

COLORS = ["#1f6f3f", "#c0392b", "#2e5fa8", "#b8860b", "#7d3c98"]


def ticks(lo, hi, n=5):
    step = (hi - lo) / n
    return [lo + i * step for i in range(n + 1)]


def chart(title, xlabel, ylabel, series, bars=False):
    """series: [(name, [(x, y), ...])]; x are numbers, or labels when bars=True."""
    w, h, left, right, top, bottom = 560, 340, 70, 150, 40, 50
    pw, ph = w - left - right, h - top - bottom
    ys = [y for _, pts in series for _, y in pts]
    y0, y1 = min(0.0, min(ys)), max(ys) * 1.1
    if bars:
        xs_all = [x for _, pts in series for x, _ in pts]
        x_of = lambda x: left + pw * (xs_all.index(x) + 0.5) / len(xs_all)
    else:
        xs = [x for _, pts in series for x, _ in pts]
        x0, x1 = min(xs) * 0.9, max(xs) * 1.05
        x_of = lambda x: left + pw * (x - x0) / (x1 - x0)
    y_of = lambda y: top + ph * (1 - (y - y0) / (y1 - y0))
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
         '<rect width="100%" height="100%" fill="white"/>', f'<text x="{left}" y="20" font-size="13">{title}</text>',
         f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="black"/>',
         f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="black"/>',
         f'<text x="{left + pw / 2}" y="{h - 10}" text-anchor="middle">{xlabel}</text>',
         f'<text transform="translate(16,{top + ph / 2}) rotate(-90)" text-anchor="middle">{ylabel}</text>']
    for t in ticks(y0, y1):
        s.append(f'<line x1="{left - 4}" y1="{y_of(t):.1f}" x2="{left + pw}" y2="{y_of(t):.1f}" stroke="#eee"/>')
        s.append(f'<text x="{left - 6}" y="{y_of(t) + 4:.1f}" text-anchor="end">{t:.3g}</text>')
    if not bars:
        for t in ticks(x0, x1):
            s.append(f'<text x="{x_of(t):.1f}" y="{top + ph + 16}" text-anchor="middle">{t:.3g}</text>')
    for i, (name, pts) in enumerate(series):
        c = COLORS[i % len(COLORS)]
        if bars:
            for x, y in pts:
                bw = pw / len(xs_all) * 0.6
                s.append(f'<rect x="{x_of(x) - bw / 2:.1f}" y="{y_of(y):.1f}" width="{bw:.1f}" height="{y_of(y0) - y_of(y):.1f}" fill="{c}"/>')
                s.append(f'<text x="{x_of(x):.1f}" y="{top + ph + 16}" text-anchor="middle">{x}</text>')
                s.append(f'<text x="{x_of(x):.1f}" y="{y_of(y) - 4:.1f}" text-anchor="middle">{y:.0f}</text>')
            continue
        if len(pts) > 1:
            path = " ".join(f"{x_of(x):.1f},{y_of(y):.1f}" for x, y in pts)
            s.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y in pts:
            s.append(f'<circle cx="{x_of(x):.1f}" cy="{y_of(y):.1f}" r="4" fill="{c}"/>')
        s.append(f'<circle cx="{left + pw + 16}" cy="{top + 10 + 18 * i}" r="4" fill="{c}"/>')
        s.append(f'<text x="{left + pw + 26}" y="{top + 14 + 18 * i}">{name}</text>')
    s.append("</svg>\n")
    return "\n".join(s)
