"""QLoRA fine-tuning of the engine's base model for intent classification.

The frozen base is the 4-bit model the engine ships (the Q4_1 GGUF), held as its exact
dequantized values; LoRA adapters on the attention and MLP projections are the only
trained weights. Each example is rendered in exactly the prompt the engine builds at run
time for a fine-tuned model (the model's chat template, a short system prompt, the query
as the user turn, the answer opening), and the loss is the cross-entropy over the first
tokens of the allowed answers: the same distribution the engine's label-constrained
scoring computes. The validation split picks the best checkpoint and stops early.

Writes to --out: adapter_config.json, adapter_model.safetensors (float16), intent.json
(the model manifest: taxonomy, prompt format, answers), report.json, report.md, loss.png.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import random
import time
from pathlib import Path

import jinja2
import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from answers import NORMALIZATIONS, PROMPT_FORMAT, SYSTEM_PROMPT, choose_answers
from gguf_reader import GgufFile
from hf_base import config_from_gguf, state_dict_from_gguf, tokenizer_json_from_gguf

QUERY_MARKER = "\u0001INTENT_QUERY\u0001"
TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="base model GGUF (the engine's default model)")
    p.add_argument("--data", default="data", help="folder with train.jsonl and validation.jsonl")
    p.add_argument("--taxonomy", default="ecommerce-v1", help="taxonomy name the data is labelled with")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16.0)
    p.add_argument("--dropout", type=float, default=0.05)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--warmup", type=int, default=50, help="warm-up steps")
    p.add_argument("--eval-every", type=int, default=100, help="validate every N steps")
    p.add_argument("--patience", type=int, default=4, help="stop after N validations without improvement")
    p.add_argument("--word-dropout", type=float, default=0.1, help="per-word drop probability in augmented examples")
    p.add_argument("--augmented", type=float, default=0.5, help="share of training examples augmented each epoch")
    p.add_argument("--train-on-validation", action="store_true",
                   help="final run: train on train + validation for the full schedule (no early stopping; "
                        "choose --epochs from an earlier run that held validation out)")
    p.add_argument("--normalize", choices=sorted(NORMALIZATIONS), default="none",
                   help="query normalization applied before tokenizing, in training and at run time (stored in the manifest)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--limit", type=int, default=0, help="use only N train/validation examples (smoke test)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return p.parse_args()


def read_jsonl(path: Path, limit: int) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if limit:
        rows = random.Random(0).sample(rows, min(limit, len(rows)))
    return rows


def split_prompt(template: str, system: str, bos: str, eos: str) -> tuple[str, str]:
    """The prompt around the query, rendered as the engine renders it for a fine-tuned
    model: no generation prompt, trailing whitespace of the suffix removed."""
    env = jinja2.Environment()

    def raise_exception(msg):
        raise ValueError(msg)

    env.globals["raise_exception"] = raise_exception
    text = env.from_string(template).render(
        messages=[{"role": "system", "content": system}, {"role": "user", "content": QUERY_MARKER}],
        add_generation_prompt=False, bos_token=bos, eos_token=eos,
    )
    prefix, suffix = text.split(QUERY_MARKER)
    return prefix, suffix.rstrip()


def prompt_ids(g: GgufFile, tok: Tokenizer, system: str) -> tuple[list[int], list[int]]:
    """Token ids of the fixed prefix and of the per-query suffix, as the engine builds them."""
    tokens = g.metadata["tokenizer.ggml.tokens"]
    template = g.metadata.get("tokenizer.chat_template")
    if not template:
        raise SystemExit(f"{g.path}: the model has no chat template")
    bos_id = g.metadata.get("tokenizer.ggml.bos_token_id")
    eos_id = g.metadata.get("tokenizer.ggml.eos_token_id")
    prefix, suffix = split_prompt(template, system, tokens[bos_id] if bos_id is not None else "", tokens[eos_id] if eos_id is not None else "")
    prefix_ids = tok.encode(prefix, add_special_tokens=False).ids
    if g.metadata.get("tokenizer.ggml.add_bos_token") and bos_id is not None and prefix_ids[:1] != [bos_id]:
        prefix_ids = [bos_id] + prefix_ids
    return prefix_ids, tok.encode(suffix, add_special_tokens=False).ids


def load_base_model(g: GgufFile, config: dict):
    """The GGUF's weights, dequantized, in a transformers Llama model (float32, on the CPU)."""
    return model_from_state(state_dict_from_gguf(g, config), config)


def model_from_state(state: dict, config: dict):
    """A transformers Llama model (float32, on the CPU) holding `state` (numpy arrays by
    Hugging Face name)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    model = LlamaForCausalLM(LlamaConfig(**config))
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v).astype(np.float32)) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [m for m in missing if not (config["tie_word_embeddings"] and m == "lm_head.weight")]
    if missing or unexpected:
        raise SystemExit(f"weights do not fit the model: missing {missing}, unexpected {unexpected}")
    if config["tie_word_embeddings"]:
        model.tie_weights()
    return model


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def drop_words(text: str, p: float, rng: random.Random) -> str:
    """Drops each word with probability p (at least one word stays): a model that must
    answer from what is left learns more of the cues than a template's fixed wording."""
    words = text.split()
    kept = [w for w in words if rng.random() >= p]
    return " ".join(kept) if kept else rng.choice(words) if words else text


class Batches:
    """Examples padded per batch; the answer is read after the last token. Queries are
    tokenized per batch, so training can alter them (word dropout) epoch by epoch."""

    def __init__(self, rows, prefix_ids, suffix_ids, tok, label_index, word_dropout=0.0, augmented=0.0, normalize="none"):
        norm = NORMALIZATIONS[normalize]
        self.items = [(norm(r["text"]), label_index[r["intent"]], r["lang"], tuple(r.get("style", ()))) for r in rows]
        self.prefix_ids, self.suffix_ids, self.tok = prefix_ids, suffix_ids, tok
        self.word_dropout, self.augmented = word_dropout, augmented

    def __len__(self):
        return len(self.items)

    def iterate(self, batch, shuffle, rng, pad_id, device):
        order = list(range(len(self.items)))
        if shuffle:
            rng.shuffle(order)
        for s in range(0, len(order), batch):
            chunk = [self.items[i] for i in order[s:s + batch]]
            texts = [t for t, _, _, _ in chunk]
            if self.word_dropout > 0 and rng is not None:
                texts = [drop_words(t, self.word_dropout, rng) if rng.random() < self.augmented else t for t in texts]
            seqs = [self.prefix_ids + e.ids + self.suffix_ids for e in self.tok.encode_batch(texts, add_special_tokens=False)]
            width = max(len(t) for t in seqs)
            ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, t in enumerate(seqs):
                ids[row, :len(t)] = torch.tensor(t)
                mask[row, :len(t)] = 1
            last = mask.sum(1) - 1
            labels = torch.tensor([y for _, y, _, _ in chunk])
            yield ids.to(device), mask.to(device), last.to(device), labels.to(device), [(lang, styles) for _, _, lang, styles in chunk]


def answer_logits(decoder, ids, mask, last, answer_rows):
    """Logits of the answers' first tokens after each sequence's last token: the decoder
    (a transformers `LlamaModel`) runs as usual, the output layer is applied to the
    answer rows only (`answer_rows`: those rows of `lm_head.weight`)."""
    hidden = decoder(input_ids=ids, attention_mask=mask).last_hidden_state
    h = hidden[torch.arange(ids.shape[0], device=ids.device), last]
    return h.float() @ answer_rows.float().T


@torch.no_grad()
def evaluate(model, data, args, pad_id, answer_rows):
    model.eval()
    loss_sum, correct, n = 0.0, 0, 0
    per_lang: dict[str, list[int]] = {}
    per_style: dict[str, list[int]] = {}
    for ids, mask, last, labels, tags in data.iterate(256, False, None, pad_id, args.device):
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=args.device == "cuda"):
            logits = answer_logits(model.get_base_model().model, ids, mask, last, answer_rows)
        loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
        hits = (logits.argmax(1) == labels).tolist()
        correct += sum(hits)
        n += len(hits)
        for (lang, styles), hit in zip(tags, hits):
            for table, key in [(per_lang, lang)] + [(per_style, s) for s in styles or ("plain",)]:
                table.setdefault(key, [0, 0])
                table[key][0] += hit
                table[key][1] += 1
    model.train()
    share = lambda table: {k: v[0] / v[1] for k, v in sorted(table.items())}
    return {"loss": loss_sum / n, "accuracy": correct / n, "per_language": share(per_lang), "per_style": share(per_style)}


def main() -> None:
    args = parse_args()
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
    from safetensors.torch import save_file

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    started = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    base_path = Path(args.base)
    g = GgufFile(base_path)
    config = config_from_gguf(g)
    tok = Tokenizer.from_str(tokenizer_json_from_gguf(g))
    prefix_ids, suffix_ids = prompt_ids(g, tok, SYSTEM_PROMPT)

    data_dir = Path(args.data)
    train_rows = read_jsonl(data_dir / "train.jsonl", args.limit)
    val_rows = read_jsonl(data_dir / "validation.jsonl", args.limit // 4 if args.limit else 0)
    labels: list[str] = []
    for r in read_jsonl(data_dir / "train.jsonl", 0):
        if r["intent"] not in labels:
            labels.append(r["intent"])
    label_index = {l: i for i, l in enumerate(labels)}

    def encode(text: str) -> list[int]:
        return tok.encode(text, add_special_tokens=False).ids

    answers = choose_answers(labels, lambda w: encode(w)[0], lambda w: len(encode(w)))
    answer_first = [encode(answers[l])[0] for l in labels]
    assert len(set(answer_first)) == len(labels)
    print(f"{len(labels)} labels; prefix {len(prefix_ids)} tokens, suffix {len(suffix_ids)} tokens")
    print("answers:", json.dumps(answers))

    model = load_base_model(g, config)
    model.to(args.device)
    for p in model.parameters():
        p.requires_grad_(False)
    lora = LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=args.dropout, target_modules=TARGET_MODULES, bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    print(f"trainable {trainable:,} of {total:,} parameters")
    answer_rows = model.get_base_model().lm_head.weight[torch.tensor(answer_first, device=args.device)].detach()

    pad_id = config["pad_token_id"]
    if args.train_on_validation:
        train_rows = train_rows + val_rows
    train = Batches(train_rows, prefix_ids, suffix_ids, tok, label_index, args.word_dropout, args.augmented, args.normalize)
    val = Batches(val_rows, prefix_ids, suffix_ids, tok, label_index, normalize=args.normalize)
    steps_per_epoch = math.ceil(len(train) / args.batch)
    total_steps = max(1, int(steps_per_epoch * args.epochs))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=args.weight_decay)

    def lr_at(step: int) -> float:
        if step < args.warmup:
            return (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, total_steps - args.warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    rng = random.Random(args.seed)
    history = {"train": [], "validation": []}
    best = {"accuracy": -1.0, "loss": float("inf"), "step": 0}
    best_state = None
    stale = 0
    step = 0
    val0 = evaluate(model, val, args, pad_id, answer_rows)
    history["validation"].append({"step": 0, **val0})
    print(f"step 0: validation loss {val0['loss']:.4f} accuracy {val0['accuracy']:.4f}")
    stop = False
    while step < total_steps and not stop:
        for ids, mask, last, y, _ in train.iterate(args.batch, True, rng, pad_id, args.device):
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=args.device == "cuda"):
                logits = answer_logits(model.get_base_model().model, ids, mask, last, answer_rows)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            opt.step()
            sched.step()
            step += 1
            history["train"].append({"step": step, "loss": loss.item(), "lr": sched.get_last_lr()[0]})
            if step % args.eval_every == 0 or step == total_steps:
                v = evaluate(model, val, args, pad_id, answer_rows)
                history["validation"].append({"step": step, **v})
                print(f"step {step}/{total_steps}: train loss {loss.item():.4f} validation loss {v['loss']:.4f} accuracy {v['accuracy']:.4f}", flush=True)
                if args.train_on_validation or (v["accuracy"], -v["loss"]) > (best["accuracy"], -best["loss"]):
                    best = {"accuracy": v["accuracy"], "loss": v["loss"], "step": step, "per_language": v["per_language"], "per_style": v["per_style"]}
                    best_state = {k: t.detach().to("cpu", torch.float16).clone() for k, t in get_peft_model_state_dict(model).items()}
                    stale = 0
                else:
                    stale += 1
                    if stale >= args.patience:
                        print(f"early stop at step {step}: no improvement in {args.patience} validations")
                        stop = True
                        break
            if step >= total_steps:
                break

    # The held-out test split, scored once with the chosen checkpoint (reported, never tuned on).
    from peft import set_peft_model_state_dict
    set_peft_model_state_dict(model, {k: v.to(args.device, torch.float32) for k, v in best_state.items()})
    test_rows = read_jsonl(data_dir / "test.jsonl", args.limit // 4 if args.limit else 0)
    test_result = evaluate(model, Batches(test_rows, prefix_ids, suffix_ids, tok, label_index, normalize=args.normalize), args, pad_id, answer_rows)
    print(f"test accuracy {test_result['accuracy']:.4f} ({len(test_rows)} examples)")

    # The adapter, in float16, under PEFT's names.
    save_file({f"base_model.model.{k}" if not k.startswith("base_model.") else k: v for k, v in best_state.items()},
              str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    model.peft_config["default"].save_pretrained(str(out))
    cfg_path = out / "adapter_config.json"
    adapter_cfg = json.loads(cfg_path.read_text())
    adapter_cfg["base_model_name_or_path"] = base_path.name
    adapter_cfg["target_modules"] = sorted(adapter_cfg["target_modules"])
    cfg_path.write_text(json.dumps(adapter_cfg, indent=2, sort_keys=True) + "\n")

    manifest = {
        "manifest_version": 1,
        "taxonomy": args.taxonomy,
        "prompt_format": PROMPT_FORMAT,
        "system_prompt": SYSTEM_PROMPT,
        "answers": answers,
        "base": {"file": base_path.name, "sha256": sha256(base_path)},
    }
    if args.normalize != "none":
        manifest["query_normalization"] = args.normalize
    (out / "intent.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")

    wall = time.time() - started
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else platform.processor() or "cpu"
    import peft
    import transformers
    report = {
        "base": manifest["base"],
        "hyper_parameters": {k: v for k, v in vars(args).items() if k not in ("out", "data", "base", "device")},
        "lora": {"rank": args.rank, "alpha": args.alpha, "dropout": args.dropout, "target_modules": TARGET_MODULES,
                 "trainable_parameters": trainable, "total_parameters": total},
        "data": {"train": len(train), "validation": len(val), "labels": len(labels)},
        "prompt": {"format": PROMPT_FORMAT, "prefix_tokens": len(prefix_ids), "suffix_tokens": len(suffix_ids)},
        "steps": step, "steps_per_epoch": steps_per_epoch, "best": best, "test": test_result,
        "device": gpu, "wall_seconds": round(wall, 1),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
                     "python": platform.python_version()},
        "history": history,
    }
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    write_markdown(out, report)
    plot(out, history, best)
    print(f"best validation accuracy {best['accuracy']:.4f} at step {best['step']}; {wall:.0f} s on {gpu}")


def write_markdown(out: Path, r: dict) -> None:
    hp = r["hyper_parameters"]
    lines = [
        "# Fine-tuning report",
        "",
        f"Base `{r['base']['file']}` (sha256 `{r['base']['sha256'][:16]}…`), frozen 4-bit weights; "
        f"LoRA rank {r['lora']['rank']}, alpha {r['lora']['alpha']}, dropout {r['lora']['dropout']} on "
        f"{', '.join(r['lora']['target_modules'])}: {r['lora']['trainable_parameters']:,} trainable of "
        f"{r['lora']['total_parameters']:,} parameters.",
        "",
        f"Data: {r['data']['train']:,} train and {r['data']['validation']:,} validation examples, {r['data']['labels']} intents. "
        f"Prompt `{r['prompt']['format']}`: {r['prompt']['prefix_tokens']} prefix + query + {r['prompt']['suffix_tokens']} suffix tokens.",
        "",
        "| hyper-parameter | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in hp.items()],
        "",
        f"Ran {r['steps']} steps ({r['steps_per_epoch']} per epoch) in {r['wall_seconds']} s on {r['device']} "
        f"(torch {r['versions']['torch']}, transformers {r['versions']['transformers']}, peft {r['versions']['peft']}).",
        "",
        (f"Trained on train + validation for the whole schedule (validation figures below are in-sample); "
         f"the final checkpoint (step {r['best']['step']}) is the adapter."
         if hp.get("train_on_validation") else
         f"Best validation accuracy **{r['best']['accuracy']:.4f}** (loss {r['best']['loss']:.4f}) at step {r['best']['step']}; "
         "that checkpoint is the adapter."),
        "",
        "| language | validation accuracy |",
        "|---|---|",
        *[f"| {k} | {v:.4f} |" for k, v in r["best"].get("per_language", {}).items()],
        "",
        f"Test split ({r['test']['accuracy']:.4f} accuracy, loss {r['test']['loss']:.4f}), scored once with that checkpoint in "
        "PyTorch (bfloat16 autocast over the dequantized base); the engine's own numbers per format are in the accuracy table.",
        "",
        "![loss curves](loss.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))


def plot(out: Path, history: dict, best: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    tr = history["train"]
    k = 20
    smooth = [np.mean([t["loss"] for t in tr[max(0, i - k + 1):i + 1]]) for i in range(len(tr))]
    ax.plot([t["step"] for t in tr], smooth, label=f"train loss ({k}-step mean)", lw=1.2)
    va = history["validation"]
    ax.plot([v["step"] for v in va], [v["loss"] for v in va], "o-", label="validation loss", ms=3)
    ax.axvline(best["step"], color="grey", ls="--", lw=0.8, label=f"best (step {best['step']})")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy over the answers")
    ax2 = ax.twinx()
    ax2.plot([v["step"] for v in va], [v["accuracy"] for v in va], "s:", color="tab:green", ms=3, label="validation accuracy")
    ax2.set_ylabel("validation accuracy")
    ax2.set_ylim(0, 1)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="center right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "loss.png")


if __name__ == "__main__":
    main()
