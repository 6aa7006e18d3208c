#!/usr/bin/env python3
"""The study's stack: PyTorch + transformers, classifying by free generation of the answer
as the study did, on exactly the prompts the engine evaluates (token ids from
`intent bench --dump-prompts`), on the CPU (benches/cpu/tradeoff.sh) or a GPU
(benches/gpu/gptq_cuda.sh). One query at a time (whole prompt, greedy generation up to one
token past the longest label), then left-padded batches; medians after warm-up, peak
resident memory (and peak GPU memory on a GPU), and how many answers do not start with a
label.

    torch_peer.py --model HF_DIR --prompts prompts.json [--device cpu|cuda] [--dtype float16]
        [--threads 2] [--repeat 10] [--batch 8] [--json out.json]
"""
import argparse
import json
import resource
import statistics
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--dtype", default="float16", help="the study's FP16; float32 for comparison")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    gpu = dev.type == "cuda"
    sync = torch.cuda.synchronize if gpu else (lambda: None)
    spec = json.load(open(a.prompts))
    labels, stops = spec["labels"], spec["stops"]
    longest = max(len(l) for l in labels)
    prompts = [p["tokens"] for p in spec["prompts"]]
    t = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=getattr(torch, a.dtype)).to(dev).eval()
    sync()
    load_ms = (time.perf_counter() - t) * 1e3
    gen = dict(max_new_tokens=longest + 1, do_sample=False, eos_token_id=stops, pad_token_id=stops[0])

    def valid(ids):
        return any(ids[: len(l)] == l for l in labels)

    times, answers, invalid = [], 0, 0
    with torch.inference_mode():
        for rep in range(a.warmup + a.repeat):
            for p in prompts:
                ids = torch.tensor([p], device=dev)
                t = time.perf_counter()
                out = model.generate(ids, attention_mask=torch.ones_like(ids), **gen)
                sync()
                elapsed = (time.perf_counter() - t) * 1e3
                if rep >= a.warmup:
                    times.append(elapsed)
                    answers += 1
                    invalid += not valid(out[0, len(p):].tolist())
        width = max(len(p) for p in prompts)
        batch = prompts[: a.batch]
        ids = torch.tensor([[stops[0]] * (width - len(p)) + p for p in batch], device=dev)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch], device=dev)
        model.generate(ids, attention_mask=mask, **gen)
        sync()
        t = time.perf_counter()
        for _ in range(a.repeat):
            model.generate(ids, attention_mask=mask, **gen)
        sync()
        batch_qps = a.repeat * len(batch) / (time.perf_counter() - t)
    times.sort()
    result = {
        "stack": f"torch {torch.__version__}, transformers, {a.dtype}, "
        + (torch.cuda.get_device_name(dev) if gpu else f"CPU, {a.threads} threads") + ", free greedy generation",
        "single_p50_ms": statistics.median(times),
        "single_p95_ms": times[int(0.95 * (len(times) - 1))],
        "samples": len(times),
        "answers": answers,
        "invalid": invalid,
        "batch": len(batch),
        "batch_queries_per_s": batch_qps,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_ms": load_ms,
        "peak_gpu_mib": torch.cuda.max_memory_allocated(dev) / 2**20 if gpu else None,
    }
    print(json.dumps(result, indent=2))
    if a.json:
        json.dump(result, open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
