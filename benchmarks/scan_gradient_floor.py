"""Gradient of the last adding-problem output w.r.t. the first input: minGRU's log-space parallel
scan in float32 and float64 against its sequential (step) form, same weights.

Shows that the float32 scan has a round-off floor (~1e-7 x T relative), so long-lag gradient
norms of minGRU/minLSTM below it are noise, not memory.

    PYTHONPATH=src python benchmarks/scan_gradient_floor.py
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from diffrnn.data.long_range import adding_problem
from diffrnn.evaluation.gradients import grad_norm_vs_lag
from diffrnn.rnn.long_range import LongRangeModel, long_range


def _sequential_loss(model: LongRangeModel, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    state = None
    for t in range(x.shape[1]):
        out, state = model.rnn.step(x[:, t], state)
    return F.mse_loss(model.head(out)[:, 0], y, reduction="sum")


def main() -> None:
    torch.set_num_threads(1)
    print("T    dtype    scan first/last   step first/last")
    for length in (50, 200):
        torch.manual_seed(0)
        model = LongRangeModel(long_range("full", "adding", "mingru"))
        x, y = adding_problem(16, length, torch.Generator().manual_seed(0))
        for dtype in (torch.float32, torch.float64):
            model = model.to(dtype)
            xd, yd = x.to(dtype), y.to(dtype)
            scan = grad_norm_vs_lag(lambda z, m=model, t=yd: m.last_step_loss(z, t), xd)
            step = grad_norm_vs_lag(lambda z, m=model, t=yd: _sequential_loss(m, z, t), xd)
            print(
                f"{length:<4d} {str(dtype)[6:]:8s} {float(scan[-1] / scan[0]):.3e}"
                f"        {float(step[-1] / step[0]):.3e}"
            )


if __name__ == "__main__":
    main()
