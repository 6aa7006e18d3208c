#!/usr/bin/env python3
"""The pictures of the CPU trade-off table, as standalone SVG, from the JSON files of
benches/cpu/tradeoff.sh: plots.py OUT_DIR. Writes latency-accuracy.svg, memory.svg,
latency-length.svg and throughput-batch.svg (2 threads)."""
import json, os, sys

out = sys.argv[1]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
load = lambda name: json.load(open(os.path.join(out, name))) if os.path.exists(os.path.join(out, name)) else None
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


def write(name, text):
    open(os.path.join(out, name), "w").write(text)


accuracy = {r["format"]: r["accuracy"] for r in json.load(open(os.path.join(root, "reports/accuracy/accuracy.json")))}
points, memory = [], []
for fmt in ["F16", "Q8_0", "Q5_K_M", "Q4_K_M"]:
    b = load(f"bench-{fmt}-t2.json")
    if b:
        points.append((f"GGUF {fmt}", [(b["cached"]["p50_ms"], 100 * accuracy[f"fine-tuned GGUF {fmt} (gguf-cpu)"])]))
        memory.append((f"GGUF {fmt}", b["peak_rss_mib"]))
torch = load("torch-fp16-t2.json")
if torch:
    points.append(("PyTorch FP16", [(torch["single_p50_ms"], 100 * accuracy["fine-tuned FP16 (PyTorch, CUDA)"])]))
    memory.append(("PyTorch FP16", torch["peak_rss_mib"]))
if points:
    write("latency-accuracy.svg", chart("One query (p50, 2 threads) against test-split accuracy", "ms per query", "accuracy, %", points))
    write("memory.svg", chart("Peak resident memory per process", "", "MiB", [("peak RSS", memory)], bars=True))
lengths = [load(f"sweep-len-{n}.json") for n in (3, 10, 20, 40)]
lengths = [b for b in lengths if b]
if lengths:
    write("latency-length.svg", chart("Cost against query length (GGUF Q4_K_M, 2 threads)", "query tokens (median)", "ms per query (p50)",
                                      [("prefix cached", [(b["median_query_tokens"], b["cached"]["p50_ms"]) for b in lengths]),
                                       ("prompt recomputed", [(b["median_query_tokens"], b["uncached"]["p50_ms"]) for b in lengths])]))
batches = [(n, load(f"sweep-batch-{n}.json")) for n in (1, 2, 4, 8, 16, 32)]
batches = [(n, b) for n, b in batches if b]
if batches:
    write("throughput-batch.svg", chart("Throughput against batch size (GGUF Q4_K_M, 2 threads)", "queries per batch", "queries/s",
                                        [("classify_batch", [(n, b["batch_queries_per_s"]) for n, b in batches])]))
