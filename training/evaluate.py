"""Scores a fine-tuned model in FP16 on a GPU with PyTorch: the base GGUF, dequantized,
with the adapter merged (the same weights `intent model prepare` writes as F16), in
float16, scored exactly as the engine scores (the answers' first tokens after the
prompt, normalised over the allowed answers).

Writes one {"intent", "confidence"} line per example, in input order, the format of
`intent eval`'s predictions.jsonl, so scripts/accuracy_table.py can set it beside the
engine's formats.

Usage: python3 training/evaluate.py --base BASE.gguf --adapter DIR --data data/test.jsonl --out PRED.jsonl

With --gptq DIR it scores that GPTQ checkpoint instead (`intent model prepare`'s
`<name>-gptq/`), dequantized by the reference dequantizer (gptq_reference.py): the weights
a GPTQ kernel multiplies by, in float16.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer

from gguf_reader import GgufFile
from hf_base import config_from_gguf, tokenizer_json_from_gguf
from train import Batches, answer_logits, load_base_model, model_from_state, prompt_ids, read_jsonl
import gptq_reference


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True)
    p.add_argument("--adapter", required=True, help="adapter folder with intent.json")
    p.add_argument("--data", required=True, help="labelled JSONL")
    p.add_argument("--out", required=True, help="predictions JSONL to write")
    p.add_argument("--device", default="cuda")
    p.add_argument("--gptq", help="score this GPTQ checkpoint directory instead of base + adapter")
    args = p.parse_args()
    from peft import PeftModel

    adapter = Path(args.adapter)
    manifest = json.loads((adapter / "intent.json").read_text())
    g = GgufFile(args.base)
    config = config_from_gguf(g)
    tok = Tokenizer.from_str(tokenizer_json_from_gguf(g))
    prefix_ids, suffix_ids = prompt_ids(g, tok, manifest["system_prompt"])
    labels = list(manifest["answers"])
    answer_first = [tok.encode(manifest["answers"][l], add_special_tokens=False).ids[0] for l in labels]

    if args.gptq:
        model = model_from_state(gptq_reference.load(Path(args.gptq)), config)
    else:
        model = PeftModel.from_pretrained(load_base_model(g, config), str(adapter)).merge_and_unload()
    model = model.to(args.device, torch.float16).eval()
    rows = read_jsonl(Path(args.data), 0)
    label_index = {l: i for i, l in enumerate(labels)}
    data = Batches(rows, prefix_ids, suffix_ids, tok, label_index, normalize=manifest.get("query_normalization", "none"))
    rows_w = model.lm_head.weight[torch.tensor(answer_first, device=args.device)]

    out, correct = [], 0
    started = time.time()
    with torch.no_grad():
        for ids, mask, last, y, _ in data.iterate(256, False, None, config["pad_token_id"], args.device):
            probs = torch.softmax(answer_logits(model.model, ids, mask, last, rows_w), dim=1)
            conf, idx = probs.max(1)
            for c, i, gold in zip(conf.tolist(), idx.tolist(), y.tolist()):
                out.append({"intent": labels[i], "confidence": round(c, 6)})
                correct += i == gold
    Path(args.out).write_text("".join(json.dumps(o) + "\n" for o in out))
    what = "GPTQ, dequantized to FP16" if args.gptq else "FP16"
    print(f"{what} ({torch.cuda.get_device_name(0) if args.device == 'cuda' else 'cpu'}): accuracy {correct / len(out):.4f} "
          f"on {len(out)} examples in {time.time() - started:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
