"""denoise-digits: the supervised bi-GRU denoiser reading 8 rows of 8 pixels (T = 8, D = 8)
against the 64 pixels in raster order (T = 64, D = 1), same model size, same training wall time.

    PYTHONPATH=src nice -n 10 python benchmarks/denoise_rows_vs_raster.py --budget 60 --fraction 0.3

Prints optimiser steps and PSNR (dB) on the 360 noisy test digits (seed 0) for each reading
order. One torch thread.
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.data import DataLoader, TensorDataset

from diffrnn.data.noisy_inputs import NOISE_FRACTIONS, noisy_data
from diffrnn.evaluation.psnr import psnr
from diffrnn.rnn.denoiser import RNNDenoiser, RNNDenoiserConfig
from diffrnn.training import OptimConfig, TrainConfig, fit

ORDERS = {"rows": (8, 8), "raster": (64, 1)}  # (T, D) of one digit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="training seconds per order")
    parser.add_argument("--fraction", type=float, default=0.3, choices=NOISE_FRACTIONS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = noisy_data("digits")
    clean, noisy = data.noisy("test", args.fraction, 0)  # (360, 1, 8, 8) each
    for name, shape in ORDERS.items():
        train = data.train().reshape(-1, *shape)  # (N, T, D)
        torch.manual_seed(0)
        config = RNNDenoiserConfig(
            features=shape[1],
            noise_sd=data.data_range * args.fraction,
            hidden_size=128,
            num_layers=2,
        )
        result = fit(
            RNNDenoiser(config),
            DataLoader(TensorDataset(train), batch_size=64, shuffle=True, drop_last=True),
            config=TrainConfig(
                max_steps=-1,
                max_time_s=args.budget,
                optim=OptimConfig(lr=2e-3, warmup_steps=50),
            ),
        )
        estimate = result.model.denoise(noisy.reshape(-1, *shape)).view_as(noisy)
        score = psnr(data.clamp(estimate), clean, data.data_range)
        print(f"{name}: {result.steps} steps in {args.budget:.0f} s, PSNR {score:.2f} dB")


if __name__ == "__main__":
    main()
