#!/usr/bin/env bash
# Round 6 on the GPU host, in its own session: training/run.sh (P held out, B kept), the new
# P scored on the previous validation split (its templates are still held out of train),
# then every format prepared and scored on the test split by training/formats_eval.sh once
# call 3 has unpacked the binaries to /tmp/bin/bin.
set -u
repo=/tmp/r6/repo
base=/tmp/stage/SmolLM2-135M-Instruct.Q4_1.gguf
adapter=$repo/models/smollm2-135m-ecommerce-v1-lora
cd "$repo"
training/run.sh "$base" "$adapter" /tmp/r6/work > /tmp/r6/run.log 2>&1
echo $? > /tmp/r6/run.rc
(cd training && python3 evaluate.py --base "$base" --adapter /tmp/r6/work/P --data /tmp/r6/previous-validation.jsonl \
   --out /tmp/r6/P-previous-validation.jsonl) > /tmp/r6/P-previous-validation.log 2>&1
touch /tmp/r6/trained
while [ ! -x /tmp/bin/bin/intent ]; do sleep 5; done
training/formats_eval.sh "$base" "$adapter" /tmp/bin/bin /tmp/r6/formats > /tmp/r6/formats.log 2>&1
echo $? > /tmp/r6/formats.rc
touch /tmp/r6/scored
