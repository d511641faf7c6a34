#!/usr/bin/env python3
"""Seconds per optimizer step of each row of a `prefopt align-real` run, from its log.

The run must log the metric events with timestamps:

    RUST_LOG=info,prefopt_train::metrics=debug prefopt align-real ... > real.log 2>&1
    python3 docs/studies/real-model-steps.py real.log [real_model_out/results.json]

Each training stage logs "precomputing reference log-probs", then one metrics event per
optimizer step (the real-model run logs every step), then "stage finished stage=train <row>".
The time per step is the median gap between consecutive metric events (step 1 excluded, it
follows the reference pass); the reference pass is the time from its start to the first
metric event minus one step. With results.json the table also has each row's peak RSS.
"""

import json
import re
import statistics
import sys
from datetime import datetime

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z")


def stamp(line):
    m = STAMP.match(line)
    return datetime.fromisoformat(m.group(1)).timestamp() if m else None


def main():
    log = sys.argv[1]
    peak = {}
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            for row in json.load(f)["methods"]:
                cost = row.get("training")
                if cost:
                    peak[row["summary"]["method"]] = cost
    rows = []
    ref_start, steps = None, []
    with open(log, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = ANSI.sub("", raw)
            t = stamp(line)
            if t is None:
                continue
            if "precomputing reference log-probs" in line:
                ref_start, steps = t, []
            elif "prefopt_train::metrics" in line:
                steps.append(t)
            elif 'stage finished stage="train ' in line:
                name = line.split('stage="train ', 1)[1].split('"', 1)[0]
                gaps = [b - a for a, b in zip(steps, steps[1:])]
                step = statistics.median(gaps) if gaps else float("nan")
                ref = steps[0] - ref_start - step if steps and ref_start else float("nan")
                seconds = float(line.rsplit("seconds=", 1)[1])
                rows.append((name, len(steps), step, ref, seconds))
    print("| row | steps | s/step (median) | reference pass s | stage s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, step, ref, seconds in rows:
        rss = peak.get(name, {}).get("peak_rss_mib")
        rss = f"{rss:.0f}" if rss is not None else "—"
        print(f"| {name} | {n} | {step:.2f} | {ref:.1f} | {seconds:.1f} | {rss} |")


if __name__ == "__main__":
    main()
