#!/usr/bin/env python3
"""The study's stack on the GPU: PyTorch + transformers, FP16, on exactly the prompts the
engine evaluates (token ids written by fp16-cuda's gpu_check). One forward pass of the
whole prompt per query, logits kept for the last position only (transformers'
`logits_to_keep`), answer = best of the answer tokens. Times one query at a time and
left-padded batches, medians after warm-up, and reports accuracy and peak GPU memory.

    torch_baseline.py --model DIR --prompts prompts.jsonl --candidates candidates.json \
        [--single 300] [--batch 32] [--json out.json]
"""
import argparse
import json
import statistics
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--candidates", required=True)
    ap.add_argument("--single", type=int, default=300, help="queries timed one at a time")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=30, help="batches timed")
    ap.add_argument("--json")
    a = ap.parse_args()

    rows = [json.loads(l) for l in open(a.prompts)]
    cand = json.load(open(a.candidates))
    labels, cand_ids = cand["labels"], torch.tensor(cand["tokens"], device="cuda")
    torch.cuda.reset_peak_memory_stats()
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float16).cuda().eval()

    def answer(ids):
        with torch.inference_mode():
            out = model(input_ids=ids, logits_to_keep=1)
            return out.logits[:, -1, :].index_select(1, cand_ids).argmax(-1)

    singles = [torch.tensor([r["tokens"]], device="cuda") for r in rows[: a.single]]
    for ids in singles[:30]:
        answer(ids)
    torch.cuda.synchronize()
    times, correct = [], 0
    for ids, r in zip(singles, rows):
        t = time.perf_counter()
        best = answer(ids).item()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1e3)
        correct += labels[best] == r["label"]
    times.sort()

    pad = model.config.eos_token_id if isinstance(model.config.eos_token_id, int) else 0
    def batch_of(chunk):
        n = max(len(r["tokens"]) for r in chunk)
        ids = torch.full((len(chunk), n), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), n), dtype=torch.long)
        for i, r in enumerate(chunk):
            ids[i, n - len(r["tokens"]):] = torch.tensor(r["tokens"])
            mask[i, n - len(r["tokens"]):] = 1
        return ids.cuda(), mask.cuda()
    chunks = [rows[i : i + a.batch] for i in range(0, a.batch * a.batches, a.batch)]
    prepared = [batch_of(c) for c in chunks]
    with torch.inference_mode():
        for ids, mask in prepared[:3]:
            model(input_ids=ids, attention_mask=mask, logits_to_keep=1)
        torch.cuda.synchronize()
        t = time.perf_counter()
        for ids, mask in prepared:
            out = model(input_ids=ids, attention_mask=mask, logits_to_keep=1)
            out.logits[:, -1, :].index_select(1, cand_ids).argmax(-1).cpu()
        torch.cuda.synchronize()
        qps = sum(len(c) for c in chunks) / (time.perf_counter() - t)

    result = {
        "stack": f"torch {torch.__version__}, transformers, FP16, eager",
        "gpu": torch.cuda.get_device_name(0),
        "single_p50_ms": statistics.median(times),
        "single_p95_ms": times[int(0.95 * (len(times) - 1))],
        "single_queries": len(times),
        "single_accuracy": correct / len(times),
        "batch": a.batch,
        "batch_queries_per_s": qps,
        "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20,
        "mean_prompt_tokens": statistics.mean(len(r["tokens"]) for r in rows),
    }
    print(json.dumps(result, indent=2))
    if a.json:
        json.dump(result, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
