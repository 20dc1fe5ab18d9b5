"""Peak memory of `compare --data FOLDER` preparing a folder of many small images.

Writes `--images` random greyscale PNGs (`--side` px, 10 class folders) into a temporary folder,
then runs the image task's preparation (`bench.user_images.prepare_user_images`: the header
survey, the content sha256, decoding into the cached array, the split) in this process and
reports its peak resident memory (VmHWM) above what the process held before, beside the size of
the decoded array: decoding streams one image at a time, so the peak should stay near the array's
size plus the interpreter's, whatever the number of files.

    PYTHONPATH=src python benchmarks/user_images_memory.py --images 100000 --side 8
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def vm_hwm_mb() -> float:
    """Peak resident memory of this process, MB (Linux VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--side", type=int, default=8)
    args = parser.parse_args()
    from PIL import Image

    from diffrnn.bench.user_images import prepare_user_images

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "images"
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        for k in range(args.images):
            folder = root / f"class{k % 10}"
            folder.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, (args.side, args.side), dtype=np.uint8)
            Image.fromarray(pixels, "L").save(folder / f"{k:06d}.png")
        written = time.perf_counter() - start
        os.environ["DIFFRNN_CACHE_DIR"] = str(Path(tmp) / "cache")
        before = vm_hwm_mb()
        start, cpu = time.perf_counter(), time.process_time()
        options = prepare_user_images(root)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        array_mb = args.images * args.side * args.side / 2**20
        print(f"{args.images:,} PNGs of {args.side} x {args.side} written in {written:.0f} s")
        print(f"prepare: {wall:.0f} s wall, {cpu:.0f} s CPU; {options['summary']['split']}")
        print(
            f"peak RSS {vm_hwm_mb():.0f} MB (before: {before:.0f} MB); decoded array "
            f"{array_mb:.1f} MB"
        )


if __name__ == "__main__":
    main()
