#!/usr/bin/env python3
"""Query files for the sweeps of benches/cpu/tradeoff.sh, from the test split:
sweep_queries.py TEST.jsonl OUT_DIR. Writes len-W.txt (16 queries of about W words: single
messages of 2-4 and 8-12 words, two or four messages joined for longer ones) and
batch.txt (32 messages of 8-12 words)."""
import json, os, sys

rows = [json.loads(l)["text"].replace("\n", " ") for l in open(sys.argv[1])]
out = sys.argv[2]
words = lambda t: len(t.split())
short = [t for t in rows if 2 <= words(t) <= 4][:16]
medium = [t for t in rows if 8 <= words(t) <= 12]
sets = {
    "len-3": short,
    "len-10": medium[:16],
    "len-20": [" ".join(medium[16 + 2 * i : 18 + 2 * i]) for i in range(16)],
    "len-40": [" ".join(medium[48 + 4 * i : 52 + 4 * i]) for i in range(16)],
    "batch": medium[112:144],
}
for name, queries in sets.items():
    assert len(queries) == (32 if name == "batch" else 16), name
    open(os.path.join(out, f"{name}.txt"), "w").write("\n".join(queries) + "\n")
