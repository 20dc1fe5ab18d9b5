"""minGRU (log-space parallel scan) vs torch's fused nn.GRU: forward + backward time and GFLOP/s.

    PYTHONPATH=src python benchmarks/mingru_speed.py --threads 1 --lengths 256 1024 4096

Same batch, input and hidden size for both. FLOPs counted are the matrix products only
(2 multiply-adds per weight per step, backward = 2x forward):
    nn.GRU:  3 * 2 * 3H(D + H) * B * T      (input and recurrent projections)
    minGRU:  3 * 2 * 2H * D * B * T         (one input projection; the scan is elementwise)
so minGRU's GFLOP/s understates its work (softplus, log, cumsum, logcumsumexp, exp). The fp32
matmul rate (1024 x 1024, same threads) is measured beside each row for scale. Each
timing warms up once, repeats, and reports the median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from diffrnn.rnn.layers import make_rnn


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(size: int, repeats: int) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / median_seconds(lambda: a @ b, repeats) / 1e9


def forward_backward(cell: str, batch: int, length: int, size: int, repeats: int) -> float:
    torch.manual_seed(0)
    rnn = make_rnn(cell, size, size)
    x = torch.randn(batch, length, size, requires_grad=True)

    def step() -> None:
        out, _ = rnn(x)
        out.square().mean().backward()

    return median_seconds(step, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256, help="input and hidden size")
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    b, h = args.batch, args.size
    print(f"command: PYTHONPATH=src python benchmarks/mingru_speed.py {' '.join(sys.argv[1:])}")
    print(f"B = {b}, D = H = {h}, {args.threads} thread(s), median of {args.repeats}")
    print(
        "| T | matmul GFLOP/s (now) | nn.GRU fwd+bwd s | GRU GFLOP/s | minGRU fwd+bwd s | "
        "minGRU GFLOP/s | speed-up |"
    )
    print("|---|---|---|---|---|---|---|")
    for t in args.lengths:
        peak = matmul_gflops(1024, args.repeats)  # contention changes: measure beside each row
        gru = forward_backward("gru", b, t, h, args.repeats)
        mingru = forward_backward("mingru", b, t, h, args.repeats)
        gru_flops = 3 * 2 * 3 * h * (h + h) * b * t
        mingru_flops = 3 * 2 * 2 * h * h * b * t
        print(
            f"| {t} | {peak:.1f} | {gru:.3f} | {gru_flops / gru / 1e9:.1f} | {mingru:.3f} | "
            f"{mingru_flops / mingru / 1e9:.1f} | {gru / mingru:.1f}x |"
        )


if __name__ == "__main__":
    main()
