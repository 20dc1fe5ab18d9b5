"""The masked-diffusion LM's bound against the LSTM's exact NLL as training time grows.

For each budget, `diffrnn compare` trains `lstm`, `mdlm-bigru` and `mdlm` on lm-shakespeare (full
suite recipes, one thread, one seed) and this script prints, per budget, each model's validation
nats/char (the MDLM's is its 1000-step upper bound), its wall and CPU training seconds, and the
gap to the LSTM, twice: to its NLL with the state carried through the whole validation text, and
to its NLL on the MDLM's own independent 128-char blocks (state reset per block), which is the
like-for-like comparison. On a shared machine compare the CPU seconds, not the wall budget.

    PYTHONPATH=src python benchmarks/mdlm_gap.py --budgets 120,240 --out runs/mdlm_gap
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

MODELS = ("lstm", "mdlm-bigru", "mdlm")


def run(budget: float, out: Path, seeds: int, models: tuple[str, ...]) -> list[dict]:
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
        ",".join(models),
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
    parser.add_argument("--models", default=",".join(MODELS), help="must include lstm")
    parser.add_argument("--out", type=Path, default=Path("runs/mdlm_gap"))
    args = parser.parse_args()
    models = tuple(args.models.split(","))
    rows = []
    for budget in (float(b) for b in args.budgets.split(",")):
        records = run(budget, args.out / f"budget_{budget:g}", args.seeds, models)
        lstm = [r["metrics"] for r in records if r["model"] == "lstm"]
        carried = _mean(m["nats_per_char"] for m in lstm)
        blocks = _mean(m["nats_per_char_blocks"] for m in lstm)
        for record in records:
            metrics = record["metrics"]
            nats = metrics["nats_per_char"]
            if record["model"] == "lstm":
                score = f"{nats:.3f} (blocks {metrics['nats_per_char_blocks']:.3f})"
            else:
                score = f"{nats:.3f} +- {metrics.get('nats_per_char_stderr', float('nan')):.3f}"
            rows.append(
                f"| {budget:g} | {record['model']} | {score} | "
                f"{record['train_seconds']:.0f} | {record['train_cpu_seconds']:.0f} | "
                f"{nats - carried:+.3f} | {nats - blocks:+.3f} |"
            )
    print(
        "| budget s | model | nats/char | train wall s | train CPU s | gap to lstm | gap to lstm "
        "on the same blocks |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def _mean(values) -> float:  # type: ignore[no-untyped-def]
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


if __name__ == "__main__":
    main()
