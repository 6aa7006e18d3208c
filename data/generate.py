#!/usr/bin/env python3
"""Generates libintent's synthetic multilingual e-commerce intent data.

Deterministic from a seed: the same sources and seed give byte-identical files.

Sources: data/sources/<lang>.json (templates per intent and split, slot values and
fillers per split; see data/sources/SCHEMA.md). Output: data/train.jsonl,
data/validation.jsonl, data/test.jsonl and data/stats.json.

The test split is written only from test templates, test slot values, test fillers and
test styles of noise, so it measures generalisation: none of its templates, slot values
or fillers appears in train or validation (tests/test_dataset.py checks it). Validation
uses train's slot values and fillers but its own templates (every fifth train template,
held out of train), so early stopping sees wording the model was not trained on.

Usage: python3 data/generate.py [--seed N] [--out DIR] [--train-count N]
"""

import argparse
import hashlib
import json
import random
import re
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGS = ["en", "de", "fr", "it", "es", "pt", "hr"]
INTENTS = """place_order cancel_order change_order track_order check_cancellation_fee
delivery_options delivery_period delivery_problem change_shipping_address
set_up_shipping_address return_product check_refund_policy get_refund track_refund
check_payment_methods payment_issue check_invoice get_invoice create_account delete_account
edit_account recover_password registration_problems switch_account contact_customer_service
contact_human_agent complaint review newsletter_subscription search_product product_info
promotions chit_chat out_of_scope""".split()
DEFAULT_SEED = 2026
# Examples per intent and language.
COUNTS = {"train": 240, "validation": 20, "test": 36}
# Values the generator makes itself, split like the slot values of the sources: the test
# split uses ones that train and validation never show. Validation draws from train's.
EMOJIS = {
    "train": ["🙂", "😡", "🙏", "📦", "😭", "👍", "🤔", "😤"],
    "test": ["😅", "🤬", "💸", "🚚", "😩"],
}
EMAIL_DOMAINS = {
    "train": ["gmail.com", "web.de", "outlook.com", "libero.it"],
    "test": ["yahoo.com", "gmx.net", "orange.fr", "t-com.hr"],
}
NAMES = {"train": ["anna", "marko", "lucas", "maria"], "test": ["ivana", "pierre", "giulia", "joao"]}
SLOT_RE = re.compile(r"\{(\w+)\}")


def order_id(rng, split):
    """Order numbers; test uses formats train never shows."""
    if split == "test":
        return rng.choice([f"ORD-{rng.randint(100000, 999999)}", f"A{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"])
    return rng.choice([str(rng.randint(1000, 99999)), f"#{rng.randint(100000, 999999)}"])


def amount(rng, split, lang):
    cents = rng.choice(["45", "50", "15"]) if split == "test" else rng.choice(["90", "99", "00"])
    euros = rng.randint(5, 400)
    if lang == "en":
        return rng.choice([f"${euros}.{cents}", f"£{euros}.{cents}", f"{euros}.{cents} EUR"])
    return rng.choice([f"{euros},{cents} €", f"{euros},{cents}€", f"{euros} EUR"])


def email(rng, split):
    return f"{rng.choice(NAMES[split])}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS[split])}"


def strip_accents(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def typo(rng, text):
    """One keyboard slip in a word of four letters or more: swap, drop or double a letter."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    k = rng.randrange(1, len(w) - 1)
    kind = rng.choice(["swap", "drop", "double"])
    if kind == "swap":
        w = w[: k - 1] + w[k] + w[k - 1] + w[k + 1 :]
    elif kind == "drop":
        w = w[:k] + w[k + 1 :]
    else:
        w = w[:k] + w[k] + w[k:]
    words[i] = w
    return " ".join(words)


def fill(rng, template, slots, split, lang):
    def value(m):
        name = m.group(1)
        if name == "order_id":
            return order_id(rng, split)
        if name == "amount":
            return amount(rng, split, lang)
        if name == "email":
            return email(rng, split)
        return rng.choice(slots[name])

    return SLOT_RE.sub(value, template)


# Wrappers by a uniform draw: (upper bound of the draw, filler list, style, put before the text).
WRAPPERS = [
    (0.12, "polite_prefix", "polite", True),
    (0.20, "polite_suffix", "polite", False),
    (0.26, "rude_prefix", "rude", True),
    (0.31, "rude_suffix", "rude", False),
    (0.37, "greeting", "greeting", True),
    (0.43, "ramble", "rambling", True),
]


def stylise(rng, text, lang, fillers, other_fillers, split):
    """Applies shopper-like noise; returns the text and the names of the styles used."""
    styles = []
    r = rng.random()
    wrapper = next((w for w in WRAPPERS if r < w[0]), None)
    if wrapper:
        _, key, style, prefix = wrapper
        piece = rng.choice(fillers[key])
        if key == "ramble":
            piece = piece.rstrip() + " "
        elif key == "greeting":
            piece = piece + " "
        text = piece + text if prefix else text + piece
        styles.append(style)
    elif r < 0.48 and other_fillers:
        other = rng.choice(other_fillers)
        key = rng.choice(["polite_suffix", "greeting"])
        piece = rng.choice(other[key])
        text = (text + piece) if key == "polite_suffix" else (piece + " " + text)
        styles.append("mixed_language")
    if rng.random() < 0.12:
        text = typo(rng, text)
        styles.append("typo")
    if lang != "en" and rng.random() < 0.15:
        stripped = strip_accents(text)
        if stripped != text:
            text = stripped
            styles.append("no_accents")
    r = rng.random()
    if r < 0.25:
        text = re.sub(r"[^\w\s#@€$£.,'-]", "", text).strip()
        text = text.rstrip(".,")
        styles.append("no_punctuation")
    if rng.random() < 0.30:
        text = text.lower()
        styles.append("lowercase")
    elif rng.random() < 0.05:
        text = text.upper()
        styles.append("all_caps")
    if rng.random() < 0.08:
        e = rng.choice(EMOJIS[split])
        text = f"{text} {e}" if rng.random() < 0.8 else f"{e} {text}"
        styles.append("emoji")
    return re.sub(r"\s+", " ", text).strip(), styles


def load_sources(directory):
    sources = {}
    for lang in LANGS:
        path = directory / f"{lang}.json"
        sources[lang] = json.loads(path.read_text(encoding="utf-8"))
    return sources


def held_out(index):
    """Whether the train template at `index` is kept for validation only (every fifth), so
    that validation measures wording the model was not trained on, as the test split does."""
    return index % 5 == 4


def generate(sources, seed, counts=COUNTS):
    """Returns {split: [example, ...]} in a fixed order; `counts` gives the examples per
    intent and language of each split. Each split, intent and language draws from its own
    random stream, so changing one split's count leaves the others' examples unchanged."""
    out = {split: [] for split in counts}
    for lang in LANGS:
        src = sources[lang]
        for split in counts:
            part = "test" if split == "test" else "train"
            slots = src["slots"][part]
            fillers = src["fillers"][part]
            others = [sources[o]["fillers"][part] for o in LANGS if o != lang]
            for intent in INTENTS:
                templates = src["intents"][intent][part]
                usable = [i for i in range(len(templates)) if split == "test" or held_out(i) == (split == "validation")]
                rng = random.Random(f"{seed}:{lang}:{intent}:{split}")
                seen = set(e["text"] for e in out["train"]) if split == "validation" else set()
                made = 0
                tries = 0
                while made < counts[split] and tries < counts[split] * 50:
                    tries += 1
                    t = usable[rng.randrange(len(usable))]
                    base = fill(rng, templates[t], slots, part, lang)
                    text, styles = stylise(rng, base, lang, fillers, others, part)
                    if not text or text in seen:
                        continue
                    seen.add(text)
                    out[split].append({
                        "text": text,
                        "intent": intent,
                        "lang": lang,
                        "template": f"{lang}/{intent}/{part}/{t}",
                        "style": styles,
                    })
                    made += 1
                if made < counts[split]:
                    raise SystemExit(f"{lang}/{intent}/{split}: only {made} distinct examples; add templates or slot values")
    return out


def stats(data):
    table = {}
    for split, rows in data.items():
        for r in rows:
            key = f"{r['lang']}/{r['intent']}"
            table.setdefault(split, {}).setdefault(key, 0)
            table[split][key] += 1
    styles = {}
    for r in data["train"] + data["test"]:
        for s in r["style"] or ["plain"]:
            styles[s] = styles.get(s, 0) + 1
    return {
        "examples": {split: len(rows) for split, rows in data.items()},
        "per_language_intent": table,
        "styles": dict(sorted(styles.items())),
    }


def write(data, out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    digests = {}
    for split, rows in data.items():
        body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
        path = out_dir / f"{split}.jsonl"
        path.write_text(body, encoding="utf-8")
        digests[split] = hashlib.sha256(body.encode("utf-8")).hexdigest()
    s = stats(data)
    s["sha256"] = digests
    (out_dir / "stats.json").write_text(json.dumps(s, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return digests


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--sources", type=Path, default=HERE / "sources")
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--train-count", type=int, default=COUNTS["train"],
                    help="train examples per intent and language (more draws of the same train templates)")
    args = ap.parse_args()
    if args.train_count < 1:
        ap.error("--train-count must be at least 1")
    data = generate(load_sources(args.sources), args.seed, {**COUNTS, "train": args.train_count})
    digests = write(data, args.out)
    for split, rows in data.items():
        print(f"{split}: {len(rows)} examples, sha256 {digests[split]}")


if __name__ == "__main__":
    main()
