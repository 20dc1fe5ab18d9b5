"""End to end through the CLI: `diffrnn train` SIGKILLed after its first checkpoint, resumed.

Runs the unit uninterrupted, then again, killing it (SIGKILL) as soon as `last.ckpt` appears,
then `--resume`s it, and compares the two `result.json` metrics (target: identical). Step
budgets (`--max-steps`), so the comparison does not depend on the machine's load.

    PYTHONPATH=src python benchmarks/resume.py --task graph-chickenpox --model dcrnn --steps 300
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

POLL_S = 0.05


def _train(task: str, model: str, steps: int, out: Path, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "diffrnn.cli", "train", "--task", task, "--model", model]
    argv += ["--max-steps", str(steps), "--out", str(out), *extra]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="graph-chickenpox")
    parser.add_argument("--model", default="dcrnn")
    parser.add_argument("--steps", type=int, default=300, help="more than one checkpoint (100)")
    args = parser.parse_args()
    print(f"command: PYTHONPATH=src python {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as tmp:
        reference, killed = Path(tmp) / "reference", Path(tmp) / "killed"
        if _train(args.task, args.model, args.steps, reference).wait() != 0:
            raise SystemExit("the uninterrupted run failed")
        proc = _train(args.task, args.model, args.steps, killed)
        checkpoint = killed / "checkpoints" / "last.ckpt"
        while not checkpoint.exists():
            if proc.poll() is not None:
                raise SystemExit("the run ended before writing a checkpoint: raise --steps")
            time.sleep(POLL_S)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        saved = torch.load(checkpoint, weights_only=True)
        print(
            f"killed after the checkpoint of step {saved['global_step']} (epoch {saved['epoch']})"
        )
        if _train(args.task, args.model, args.steps, killed, "--resume").wait() != 0:
            raise SystemExit("the resumed run failed")
        first = json.loads((reference / "result.json").read_text())["metrics"]
        second = json.loads((killed / "result.json").read_text())["metrics"]
    print(f"uninterrupted: {first}\nkilled+resumed: {second}")
    print(f"identical: {first == second}")


if __name__ == "__main__":
    main()
