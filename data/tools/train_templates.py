"""Prints the TRAIN templates of one language (never the test ones), per intent, with
the intent's meaning: what a writer of new training templates may look at.

Usage: python3 data/tools/train_templates.py LANG [INTENT]
"""
import json
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
lang = sys.argv[1]
only = sys.argv[2] if len(sys.argv) > 2 else None
source = json.loads((root / "sources" / f"{lang}.json").read_text(encoding="utf-8"))
schema = (root / "sources" / "SCHEMA.md").read_text(encoding="utf-8")
meanings = dict(re.findall(r"^  ([a-z_]+): (.+)$", schema, re.M))
for intent, parts in source["intents"].items():
    if only and intent != only:
        continue
    print(f"## {intent}: {meanings.get(intent, '')}")
    for t in parts["train"]:
        print(f"  {t}")
