#!/usr/bin/env bash
# From a fresh clone: installs what is needed, builds, and classifies example queries with
# the default model, printing each label and its confidence.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
scripts/build.sh
printf '%s\n' \
  "where is my parcel" \
  "wo ist mein Paket??" \
  "I want to cancel my order 4471" \
  "je voudrais retourner ces chaussures" \
  "nike air max 42 schwarz" \
  "can I talk to a real person please" \
  > target/demo-queries.txt
target/release/intent classify --file target/demo-queries.txt --output target/demo-results.jsonl
python3 - target/demo-results.jsonl <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    res = r.get("result")
    if res:
        print(f'{res["intent"]:<26} {res["confidence"]:.2f}  {r["text"]}')
    else:
        print(f'{"error":<26}       {r["text"]}: {r["error"]["message"]}')
PY
