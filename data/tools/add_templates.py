"""Adds new TRAIN templates to data/sources/<lang>.json from a JSON file
{"<intent>": ["template", ...], ...}.

Each new template is refused (and counted, not shown) when it is already a train
template, uses an unknown slot, or is close to one of the language's TEST templates
(normalised similarity >= 0.75 or identical after removing slots): the test split must
stay unseen. Writes the source back only with --write.

Usage: python3 data/tools/add_templates.py LANG NEW.json [--write]
"""
import difflib
import json
import re
import sys
from pathlib import Path

SLOTS = {"product", "category", "brand", "color", "size", "city", "date", "carrier", "payment", "order_id", "amount", "email"}


def norm(text: str) -> str:
    return re.sub(r"\W+", " ", re.sub(r"\{\w+\}", " ", text.lower())).strip()


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    lang, new_path = sys.argv[1], Path(sys.argv[2])
    write = "--write" in sys.argv[3:]
    path = root / "sources" / f"{lang}.json"
    source = json.loads(path.read_text(encoding="utf-8"))
    new = json.loads(new_path.read_text(encoding="utf-8"))
    added = refused_dup = refused_slot = refused_test = 0
    unknown = sorted(set(new) - set(source["intents"]))
    if unknown:
        sys.exit(f"unknown intents: {unknown}")
    all_test = [norm(t) for parts in source["intents"].values() for t in parts["test"]]
    for intent, templates in new.items():
        parts = source["intents"][intent]
        have = {norm(t) for t in parts["train"]}
        for t in templates:
            t = t.strip()
            n = norm(t)
            if not n or n in have:
                refused_dup += 1
                continue
            if set(re.findall(r"\{(\w+)\}", t)) - SLOTS or t.count("{") != t.count("}"):
                refused_slot += 1
                continue
            if any(n == x or difflib.SequenceMatcher(None, n, x).ratio() >= 0.75 for x in all_test):
                refused_test += 1
                continue
            parts["train"].append(t)
            have.add(n)
            added += 1
    print(f"{lang}: {added} added; refused: {refused_dup} duplicates, {refused_slot} bad slots, {refused_test} too close to a test template")
    counts = sorted(len(p["train"]) for p in source["intents"].values())
    print(f"train templates per intent now: min {counts[0]}, max {counts[-1]}")
    if write:
        path.write_text(json.dumps(source, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {path}")
    else:
        print("(dry run: add --write to save)")


if __name__ == "__main__":
    main()
