#!/bin/sh
# The reward-hacking study (docs/reward-hacking.md) through `prefopt grpo`: 5 seeds x 3 arms,
# 60 steps each, then the summary table. Run from the repository root:
#   sh docs/studies/reward-hacking.sh [PREFOPT]   (default target/debug/prefopt)
set -eu
P=${1:-target/debug/prefopt}
OUT=target/reward-hacking
for s in 0 1 2 3 4; do
  "$P" toy-world --out "$OUT/world-$s" --seed $((100 + s)) --prompt-seed $((1 + s))
  for arm in pointwise pairwise pairwise0; do
    rm -rf "$OUT/$arm-$s"
    "$P" grpo --config "docs/studies/reward-hacking-$arm.toml" \
      --set grpo.seed=$s \
      --set model.path="$OUT/world-$s/model" \
      --set data.prompts="$OUT/world-$s/prompts.jsonl" \
      --set model.output_dir="$OUT/$arm-$s"
  done
done
python3 docs/studies/reward-hacking-summary.py "$OUT"
