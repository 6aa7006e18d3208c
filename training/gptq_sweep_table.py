#!/usr/bin/env python3
"""The table of a GPTQ sweep (training/gptq_sweep.sh OUT; predictions may be gzipped): for each setting, its accuracy on
the test split, the difference from FP16, its agreement with FP16 (share of test queries
given the same intent), and what its report says of the calibration: the mean relative
output error of the layers and the drift of the last layer's output from the F16 model's.

Usage: training/gptq_sweep_table.py OUT [SETTING ...]   (default: every setting in OUT)
"""

import gzip
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from accuracy_table import agreement  # noqa: E402


def intents(path):
    """The intents of a predictions file (JSON lines), read gzipped when only `path.gz` is there."""
    text = path.read_text(encoding="utf-8") if path.exists() else gzip.decompress(Path(f"{path}.gz").read_bytes()).decode("utf-8")
    return [json.loads(line)["intent"] for line in text.splitlines() if line.strip()]


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    settings = sys.argv[2:] or sorted(p.name for p in out.iterdir() if (p / "gptq-report.json").exists())
    gold = intents(ROOT / "data" / "test.jsonl")
    fp16 = intents(ROOT / "reports" / "accuracy" / "fp16-cuda-predictions.jsonl")
    if len(fp16) != len(gold):
        sys.exit(f"the FP16 predictions hold {len(fp16)} answers for {len(gold)} test queries")
    accuracy = lambda p: 100 * agreement(p, gold)
    print("| setting | calibration tokens | accuracy | vs FP16 | agreement with FP16 | mean layer error | last layer's drift | time to make |")
    print("|---|---|---|---|---|---|---|---|")
    for name in settings:
        predicted = intents(out / name / "gptq-predictions.jsonl")
        if len(predicted) != len(gold):
            sys.exit(f"{name}: {len(predicted)} answers for {len(gold)} test queries")
        report = json.loads((out / name / "gptq-report.json").read_text())
        layers = report["layers"]
        error = sum(l["relative_output_error"] for l in layers) / len(layers)
        drift = layers[-1].get("drift_from_f16")
        log = out / f"{name}.log"
        made = re.search(r"made in (\d+) s", log.read_text()) if log.exists() else None
        print(
            f"| {name} | {report['calibration']['tokens']} | {accuracy(predicted):.2f}% | {accuracy(predicted) - accuracy(fp16):+.2f} "
            f"| {100 * agreement(predicted, fp16):.2f}% | {error:.5f} | {'-' if drift is None else f'{drift:.4f}'} | {made.group(1) + ' s' if made else '-'} |"
        )


if __name__ == "__main__":
    main()
