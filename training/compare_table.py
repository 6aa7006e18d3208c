#!/usr/bin/env python3
"""Prints the table of a training/compare.sh run: for each variant, validation accuracy and
loss at its best step, per language and per style of noise, and the test accuracy of that
checkpoint (reported, never used to choose). A variant whose run did not finish (no
report.json) gets a row saying so.

Usage: training/compare_table.py WORK_DIR VARIANT...
"""

import json
import sys
from pathlib import Path


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    work, names = Path(sys.argv[1]), sys.argv[2:]
    reports = {n: json.loads((work / n / "report.json").read_text()) for n in names if (work / n / "report.json").is_file()}
    if not reports:
        sys.exit(f"no report.json under {work} for {', '.join(names)}")
    langs = sorted({l for r in reports.values() for l in r["best"]["per_language"]})
    styles = sorted({s for r in reports.values() for s in r["best"].get("per_style", {})})
    print("| variant | validation | loss | best step | test | wall s | " + " | ".join(langs + styles) + " |")
    print("|---" * (6 + len(langs) + len(styles)) + "|")
    for n in names:
        if n not in reports:
            print(f"| {n} | not finished |" + " |" * (5 + len(langs) + len(styles)))
            continue
        r = reports[n]
        b = r["best"]
        cells = [f"{100 * b['per_language'][l]:.1f}" if l in b["per_language"] else "-" for l in langs] + [f"{100 * b['per_style'][s]:.1f}" if s in b.get("per_style", {}) else "-" for s in styles]
        print(f"| {n} | {100 * b['accuracy']:.2f}% | {b['loss']:.4f} | {b['step']} of {r['steps']} | {100 * r['test']['accuracy']:.2f}% | "
              f"{r['wall_seconds']:.0f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
