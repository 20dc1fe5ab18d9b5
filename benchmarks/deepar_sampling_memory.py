"""DeepAR sampling memory: measured bytes per path against `sample_bytes_per_path`, and the peak
of many series under the chunking budget.

Each measurement runs in a fresh process: a warm-up sample (kernels, allocator) first, then one
`DeepAR.sample` call; the peak resident memory it adds (VmHWM after minus VmRSS before) is divided
by the number of paths. `--budget-mb` runs the big case (default 10,000 series x 3 windows x 100
paths, the forecast-user shape of the issue) under `sample(max_bytes=...)`.

    PYTHONPATH=src python benchmarks/deepar_sampling_memory.py --paths 20000 \
        --series 10000 --windows 3 --budget-mb 256
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CONFIGS = {
    # the forecast-user shape: 50-point series, horizon 7, context 14, lags 1..7, daily
    "user-lstm": dict(context_length=14, prediction_length=7, lags=tuple(range(1, 8)), freq="D"),
    "user-gru": dict(
        context_length=14, prediction_length=7, lags=tuple(range(1, 8)), freq="D", cell="gru"
    ),
    # GluonTS's exchange-rate preset: lags up to 793 business days
    "exchange": dict(context_length=30, prediction_length=30, freq="B", lags="exchange"),
}

CHILD = r"""
import json, sys, time, torch
from diffrnn.data.windows import business_day_lags, num_time_features
from diffrnn.rnn.deepar import DeepAR, DeepARConfig

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

spec, series, windows, samples, max_bytes = json.loads(sys.argv[1])
if spec.get("lags") == "exchange":
    spec["lags"] = business_day_lags()
config = DeepARConfig(**spec, hidden_size=40, num_layers=2, dropout=0.0, num_series=series)
model = DeepAR(config).eval()
torch.set_num_threads(1)
features = num_time_features(config.freq)
rows = series * windows
history = torch.rand(rows, config.history_length) + 1
feats = torch.randn(rows, config.context_length + config.prediction_length, features)
ids = torch.arange(series).repeat(windows)
model.sample(history[:8], feats[:8], ids[:8], samples)  # warm-up
before = status("VmRSS:")
wall, cpu = time.perf_counter(), time.process_time()
paths = model.sample(history, feats, ids, samples, max_bytes=max_bytes)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
added = status("VmHWM:") - before
print(json.dumps({
    "paths": rows * samples, "added_bytes": added, "output_bytes": paths.numel() * 4,
    "estimate_bytes_per_path": model.sample_bytes_per_path(features),
    "chunk_paths": model.chunk_paths(features, max_bytes), "wall_s": wall, "cpu_s": cpu,
}))
"""


def measure(spec: dict, series: int, windows: int, samples: int, max_bytes: int) -> dict:
    """One sampling call in a fresh process; its added peak memory and costs."""
    argument = json.dumps([spec, series, windows, samples, max_bytes])
    out = subprocess.run(
        [sys.executable, "-c", CHILD, argument], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=20_000, help="paths of the per-path runs")
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--budget-mb", type=float, default=256.0)
    args = parser.parse_args()
    report: dict = {"per_path": {}, "big": {}}
    for name, spec in CONFIGS.items():
        series = args.paths // 100  # one window, 100 paths per series, one chunk
        result = measure(spec, series, 1, 100, 2**40)
        result["measured_bytes_per_path"] = (result["added_bytes"]) / result["paths"]
        report["per_path"][name] = result
        print(name, json.dumps(result), flush=True)
    for name in ("user-lstm", "user-gru"):
        started = time.perf_counter()
        result = measure(CONFIGS[name], args.series, args.windows, 100, int(args.budget_mb * 2**20))
        result["process_wall_s"] = time.perf_counter() - started
        report["big"][name] = result
        print(name, "budget", args.budget_mb, "MB:", json.dumps(result), flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
