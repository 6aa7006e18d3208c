#!/usr/bin/env bash
# Round 6 on the GPU host, call 2 (run as .stage/b/go6.sh from the root of the carried tree,
# .stage/b holding the base's second part and the previous validation split): the base put together
# from its two staged parts, a copy of the tree with the data regenerated from the new
# templates, and phase6.sh started in its own session.
set -u
cat /tmp/stage/q4p_00 .stage/b/q4p_01 > /tmp/stage/SmolLM2-135M-Instruct.Q4_1.gguf
md5sum /tmp/stage/SmolLM2-135M-Instruct.Q4_1.gguf
rm -rf /tmp/r6 && mkdir -p /tmp/r6 && cp .stage/b/phase6.sh /tmp/r6/
cp .stage/b/previous-validation.jsonl /tmp/r6/
cp -r . /tmp/r6/repo && rm -rf /tmp/r6/repo/.stage /tmp/r6/repo/target
cd /tmp/r6/repo
python3 data/generate.py
setsid nohup bash /tmp/r6/phase6.sh > /tmp/r6/phase.log 2>&1 < /dev/null &
sleep 30
tail -n 2 /tmp/r6/work/*.log 2>/dev/null
