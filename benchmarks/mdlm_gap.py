"""The masked-diffusion LM's bound against the LSTM's exact NLL as training time grows.

For each budget, `diffrnn compare` trains `lstm`, `mdlm-bigru` and `mdlm` on lm-shakespeare (full
suite recipes, one thread, one seed) and this script prints, per budget, each model's validation
nats/char (the MDLM's is its 1000-step upper bound), its wall and CPU training seconds, and the
gap to the LSTM. On a shared machine compare the CPU seconds, not the wall budget.

    PYTHONPATH=src python benchmarks/mdlm_gap.py --budgets 120,240 --out runs/mdlm_gap
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

MODELS = ("lstm", "mdlm-bigru", "mdlm")


def run(budget: float, out: Path, seeds: int) -> list[dict]:
    """Run one `diffrnn compare` at `budget` seconds per unit and return its records."""
    command = [
        sys.executable,
        "-m",
        "diffrnn.cli",
        "compare",
        "--suite",
        "full",
        "--tasks",
        "lm-shakespeare",
        "--models",
        ",".join(MODELS),
        "--seeds",
        str(seeds),
        "--budget",
        str(budget),
        "--jobs",
        "1",
        "--threads",
        "1",
        "--out",
        str(out),
    ]
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)
    lines = (out / "results.jsonl").read_text().splitlines()
    return [record for record in map(json.loads, lines) if record.get("status") == "ok"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="120,240", help="comma-separated seconds per unit")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/mdlm_gap"))
    args = parser.parse_args()
    print("| budget s | model | nats/char | train wall s | train CPU s | gap to lstm |")
    print("|---|---|---|---|---|---|")
    for budget in (float(b) for b in args.budgets.split(",")):
        records = run(budget, args.out / f"budget_{budget:g}", args.seeds)
        lstm = [r["metrics"]["nats_per_char"] for r in records if r["model"] == "lstm"]
        reference = sum(lstm) / len(lstm) if lstm else float("nan")
        for record in records:
            nats = record["metrics"]["nats_per_char"]
            print(
                f"| {budget:g} | {record['model']} | {nats:.3f} | "
                f"{record['train_seconds']:.0f} | {record['train_cpu_seconds']:.0f} | "
                f"{nats - reference:+.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
