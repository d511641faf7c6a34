"""Summary table of the reward-hacking study from the runs' metrics.jsonl files.

Usage: python3 docs/studies/reward-hacking-summary.py target/reward-hacking
Means over the first 10 and the last 10 steps of each run (proxy in units of its 0.01 scale).
"""

import json
import sys
from pathlib import Path

ARMS = ["pointwise", "pairwise", "pairwise0"]
COLUMNS = [
    ("proxy / 0.01", "rewards/toy_proxy/mean", 100.0),
    ("ground truth", "rewards/toy_ground_truth/mean", 1.0),
    ("`x` fraction", "rewards/toy_x_fraction/mean", 1.0),
    ("task score", "rewards/toy_task/mean", 1.0),
]


def mean(rows, key, start, stop, scale):
    values = [r[key] * scale for r in rows[start:stop]]
    return sum(values) / len(values)


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "target/reward-hacking")
    header = ["seed", "run"] + [c[0] for c in COLUMNS] + ["reward std"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    seeds = sorted({int(p.name.rsplit("-", 1)[1]) for p in out.glob("pointwise-*")})
    for seed in seeds:
        for arm in ARMS:
            path = out / f"{arm}-{seed}" / "metrics.jsonl"
            rows = [json.loads(line) for line in path.read_text().splitlines() if line]
            n = len(rows)
            cells = [str(seed), arm]
            for _, key, scale in COLUMNS:
                a, b = mean(rows, key, 0, 10, scale), mean(rows, key, n - 10, n, scale)
                cells.append(f"{a:.3f} → {b:.3f}")
            std = [r.get("reward_std", 0.0) for r in rows]
            cells.append(f"{sum(std[:10]) / 10:.2g} → {sum(std[-10:]) / 10:.2g}")
            print("| " + " | ".join(cells) + " |")
    print()
    print("| run | peak ground truth (seeds) | at step | mean gt, steps 11–20 | mean gt, last 10 |")
    print("|---|---|---|---|---|")
    for arm in ARMS:
        peaks, steps, mid, last = [], [], [], []
        for seed in seeds:
            path = out / f"{arm}-{seed}" / "metrics.jsonl"
            rows = [json.loads(line) for line in path.read_text().splitlines() if line]
            gt = [r["rewards/toy_ground_truth/mean"] for r in rows]
            best = max(range(len(gt)), key=lambda i: gt[i])
            peaks.append(f"{gt[best]:.3f}")
            steps.append(str(best + 1))
            mid.append(f"{sum(gt[10:20]) / 10:.3f}")
            last.append(f"{sum(gt[-10:]) / 10:.3f}")
        print(f"| {arm} | {', '.join(peaks)} | {', '.join(steps)} | {', '.join(mid)} | {', '.join(last)} |")


if __name__ == "__main__":
    main()
