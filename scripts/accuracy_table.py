#!/usr/bin/env python3
"""The accuracy table: every format of the fine-tuned model on the test split, side by side.

Runs `intent eval` on the test split for each prepared GGUF format and the run-time LoRA
over the unchanged Q4_1 base (skipping a format
whose predictions are already there unless --rerun), reads the FP16 predictions made on a
GPU by training/evaluate.py and the GPTQ checkpoint's (training/gptq_eval.sh: its weights
decoded by the reference dequantizer, scored in FP16 on the GPU), and writes
reports/accuracy/README.md and accuracy.json: accuracy, macro-F1, per-language accuracy,
invalid outputs, and agreement with FP16 (share of test queries given the same intent).

The zero-shot base row comes from reports/baseline-zero-shot (made by the same
`intent eval`, see reports/README.md).

Usage: scripts/accuracy_table.py [--models models] [--name SmolLM2-135M-intent] [--rerun]
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GGUF_FORMATS = ["F16", "Q8_0", "Q5_K_M", "Q4_K_M"]


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def agreement(a, b):
    """The share of queries two prediction lists give the same intent."""
    return sum(x == y for x, y in zip(a, b)) / len(b)


def metrics(gold, langs, predicted, labels):
    n = len(gold)
    correct = [p == g for p, g in zip(predicted, gold)]
    f1s = []
    for label in labels:
        tp = sum(1 for p, g in zip(predicted, gold) if p == label and g == label)
        fp = sum(1 for p, g in zip(predicted, gold) if p == label and g != label)
        fn = sum(1 for p, g in zip(predicted, gold) if p != label and g == label)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    per_lang = {}
    for lang in sorted(set(langs)):
        idx = [i for i, l in enumerate(langs) if l == lang]
        per_lang[lang] = sum(correct[i] for i in idx) / len(idx)
    return {
        "accuracy": sum(correct) / n,
        "macro_f1": sum(f1s) / len(f1s),
        "per_language": per_lang,
        "invalid_outputs": sum(1 for p in predicted if p not in labels),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=str(ROOT / "models"))
    ap.add_argument("--name", default="SmolLM2-135M-intent")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--rerun", action="store_true")
    args = ap.parse_args()
    out_dir = ROOT / "reports" / "accuracy"
    test = read_jsonl(ROOT / "data" / "test.jsonl")
    gold = [r["intent"] for r in test]
    langs = [r["lang"] for r in test]
    labels = sorted(set(gold))
    intent = ROOT / "target" / "release" / "intent"

    rows = []
    base = json.loads((ROOT / "reports" / "baseline-zero-shot" / "eval.json").read_text())
    rows.append({
        "format": "zero-shot base (Q4_1, GGUF)", "accuracy": base["accuracy"], "macro_f1": base["macro_f1"],
        "per_language": {k: v[0] for k, v in base["per_language"].items()},  # [accuracy, count]
        "invalid_outputs": base["invalid_outputs"], "predictions": None,
    })
    sources = []
    fp16 = out_dir / "fp16-cuda-predictions.jsonl"
    if fp16.exists():
        sources.append(("fine-tuned FP16 (PyTorch, CUDA)", fp16, None, []))
    gptq = out_dir / "gptq-predictions.jsonl"
    if gptq.exists():
        setting = json.loads((out_dir / "gptq-report.json").read_text())["weights"] if (out_dir / "gptq-report.json").exists() else "GPTQ"
        sources.append((f"fine-tuned {setting} (decoded, PyTorch, CUDA)", gptq, Path(args.models) / f"{args.name}-gptq" / "model.safetensors", []))
    for fmt in GGUF_FORMATS:
        model = Path(args.models) / f"{args.name}.{fmt}.gguf"
        sources.append((f"fine-tuned GGUF {fmt} (gguf-cpu)", out_dir / fmt / "predictions.jsonl", model, []))
    # The adapter applied at run time to the unchanged Q4_1 base: its size is both files.
    lora = Path(args.models) / f"{args.name}.LORA.gguf"
    sources.append(("Q4_1 base + run-time LoRA (gguf-cpu)", out_dir / "LORA" / "predictions.jsonl", lora,
                    [lora.parent / json.loads(lora.with_suffix(".intent.json").read_text())["base"]["file"]]))
    for title, pred_path, model, shared in sources:
        if model is not None and model.suffix == ".gguf" and (args.rerun or not pred_path.exists()):
            if not model.exists():
                sys.exit(f"{model} is missing: run `intent model prepare` first (see training/README.md)")
            print(f"evaluating {model.name} ...", flush=True)
            subprocess.run([str(intent), "eval", "--model", str(model), "--threads", args.threads,
                            "--data", str(ROOT / "data" / "test.jsonl"), "--out-dir", str(pred_path.parent)], check=True)
        predicted = [p["intent"] for p in read_jsonl(pred_path)]
        if len(predicted) != len(gold):
            sys.exit(f"{pred_path}: {len(predicted)} predictions for {len(gold)} test examples")
        row = {"format": title, **metrics(gold, langs, predicted, labels), "predictions": predicted}
        if model is not None:
            files = [model, *shared]
            row["size_mb"] = round(sum(f.stat().st_size for f in files) / 1e6, 1) if all(f.exists() for f in files) else None
        rows.append(row)

    reference = next((r for r in rows if r["format"].startswith("fine-tuned FP16")), None)
    for r in rows:
        if reference and r["predictions"] is not None:
            r["agreement_with_fp16"] = agreement(r["predictions"], reference["predictions"])
    lang_cols = sorted(rows[-1]["per_language"])
    lines = [
        "# Accuracy in every format",
        "",
        f"Test split: {len(gold):,} queries in {len(lang_cols)} languages, {len(labels)} intents, written from templates,",
        "slot values and fillers that training never saw (docs/dataset.md). Made by `scripts/accuracy_table.py`.",
        "",
        "| format | size MB | accuracy | macro-F1 | invalid | agreement with FP16 | " + " | ".join(lang_cols) + " |",
        "|---|---|---|---|---|---|" + "---|" * len(lang_cols),
    ]
    for r in rows:
        agree = f"{r['agreement_with_fp16'] * 100:.2f}%" if "agreement_with_fp16" in r else "-"
        size = r.get("size_mb") or "-"
        per = " | ".join(f"{r['per_language'].get(l, 0) * 100:.1f}" for l in lang_cols)
        lines.append(f"| {r['format']} | {size} | {r['accuracy'] * 100:.2f}% | {r['macro_f1']:.4f} | {r['invalid_outputs']} | {agree} | {per} |")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "README.md").write_text("\n".join(lines) + "\n")
    (out_dir / "accuracy.json").write_text(json.dumps([{k: v for k, v in r.items() if k != "predictions"} for r in rows], indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
