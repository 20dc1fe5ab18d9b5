"""The variational bound in bits/dim for discretised data (Ho et al. 2020, eq. 5 and sec. 3.3).

    -log p(x_0) <= L_prior + sum_{t=1}^{T-1} L_t + L_decoder
    L_prior   = KL(q(x_{T-1} | x_0) || N(0, I))
    L_t       = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)),   x_t ~ q(x_t | x_0)
    L_decoder = -log p(x_0 | x_{t=0}),  a Gaussian integrated over each data bin

(timesteps indexed 0..T-1 as in diffusers: index 0 is the paper's x_1). The reverse process uses
the model's variance, DDPM's fixed beta~_t (diffusers' "fixed_small"; beta~_1 at t = 0) or the
learned one of improved DDPM ("learned_range", `GaussianProcess.reverse_log_variance`), and the
mean implied by the network's x_0 estimate, clipped to the data range as the samplers do.

Data are the 8x8 digits' 17 grey levels 0..16 mapped to [-1, 1]
(`diffrnn.data.images.levels_to_unit`), bin width 2/16, the discretisation the pixel LSTM's exact
NLL uses, so the two bits/dim are comparable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from diffrnn.data.images import DIGITS_LEVELS

if TYPE_CHECKING:  # gaussian.py imports this module for its hybrid loss
    from diffrnn.diffusion.gaussian import GaussianProcess
    from diffrnn.diffusion.sampling import Denoiser

DIGITS_MAX_LEVEL = DIGITS_LEVELS  # grey levels 0..16


def normal_kl(
    mean1: torch.Tensor, logvar1: torch.Tensor, mean2: torch.Tensor, logvar2: torch.Tensor
) -> torch.Tensor:
    """Elementwise KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)) in nats."""
    return 0.5 * (
        logvar2
        - logvar1
        + torch.exp(logvar1 - logvar2)
        + (mean1 - mean2) ** 2 * torch.exp(-logvar2)
        - 1.0
    )


def _log_normal_mass(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """log(Phi(hi) - Phi(lo)) for standardised lo < hi (either may be infinite), accurately.

    The interval is reflected to the side where it lies mostly at negative z, where `log_ndtr`
    keeps its precision; then log(Phi(b) - Phi(a)) = log Phi(b) + log(1 - Phi(a) / Phi(b)).
    """
    flip = (lo + hi) > 0
    lo, hi = torch.where(flip, -hi, lo), torch.where(flip, -lo, hi)
    log_hi, log_lo = torch.special.log_ndtr(hi), torch.special.log_ndtr(lo)
    return log_hi + torch.log(-torch.expm1(log_lo - log_hi))


def discretized_gaussian_log_likelihood(
    x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor, bin_width: float
) -> torch.Tensor:
    """log P(x) elementwise, P the mass of N(mean, e^{2 log_scale}) over x's bin.

    Bins are [x - w/2, x + w/2]; the lowest bin (x = -1) extends to -inf and the highest (x = 1)
    to +inf, so the probabilities of all levels sum to 1. Computed in float64.
    """
    x, mean = x.to(torch.float64), mean.to(torch.float64)
    inv_std = torch.exp(-log_scale.to(torch.float64))
    half = bin_width / 2.0
    lo = torch.where(x <= -1.0 + half / 2, -math.inf, (x - half - mean) * inv_std)
    hi = torch.where(x >= 1.0 - half / 2, math.inf, (x + half - mean) * inv_std)
    return _log_normal_mass(lo, hi)


def reverse_step_bits(
    process: GaussianProcess,
    x0: torch.Tensor,
    x_t: torch.Tensor,
    t: torch.Tensor,
    mean: torch.Tensor,
    log_var: torch.Tensor,
    bin_width: float | None,
) -> torch.Tensor:
    """L_t of each example in bits/dim, for p(x_{t-1} | x_t) = N(mean, e^log_var).

    KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) at t > 0; at t = 0 the decoder NLL
    -log p(x_0 | x_t) integrated over x_0's bin of `bin_width` (None: the KL there too, for
    continuous data). Improved DDPM's L_vlb term (Nichol & Dhariwal 2021, eq. 4-6).

    Args:
        process: the noise process (q's posterior).
        x0: (B, ...) data; x_t: (B, ...) its draw of q(x_t | x_0); t: (B,) timesteps.
        mean: (B, ...) p's mean; log_var: p's log-variance, broadcastable to (B, ...).
        bin_width: spacing of the data levels, or None.

    Returns:
        (B,) L_t in bits/dim.
    """
    to_bits = 1.0 / (x0[0].numel() * math.log(2.0))
    q_mean, q_log_var = process.posterior(x0, x_t, t)
    bits = normal_kl(q_mean, q_log_var, mean, log_var).flatten(1).sum(1) * to_bits  # (B,)
    at_zero = t == 0
    if bin_width is None or not bool(at_zero.any()):
        return bits
    # only the t = 0 rows: elsewhere the bin's mass underflows and would poison the gradient
    log_scale = 0.5 * log_var.expand_as(x0)[at_zero]
    decoder = -discretized_gaussian_log_likelihood(x0[at_zero], mean[at_zero], log_scale, bin_width)
    bits = bits.clone()
    bits[at_zero] = decoder.flatten(1).sum(1).to(bits.dtype) * to_bits
    return bits


@dataclass
class BoundTerms:
    """The bound's terms, each averaged over the data dimensions, in bits/dim.

    Attributes:
        prior: (B,) L_prior.
        decoder: (B,) L_decoder.
        timesteps: (K,) the t at which L_t was evaluated.
        weights: (K,) how many t each evaluated one stands for (1 everywhere for the full sum).
        kl: (B, K) L_t at those timesteps.
    """

    prior: torch.Tensor
    decoder: torch.Tensor
    timesteps: torch.Tensor
    weights: torch.Tensor
    kl: torch.Tensor

    def total(self) -> torch.Tensor:
        """(B,) the bound in bits/dim per example."""
        return self.prior + self.decoder + self.kl @ self.weights

    def bits_per_dim(self) -> float:
        """The bound averaged over the examples."""
        return float(self.total().mean())

    def kl_sum(self, t_from: int, t_to: int) -> float:
        """Mean over examples of sum_{t_from <= t < t_to} L_t (weighted)."""
        keep = (self.timesteps >= t_from) & (self.timesteps < t_to)
        return float((self.kl[:, keep] @ self.weights[keep]).mean())


def bound_timesteps(
    num_timesteps: int, stride: int = 1, dense: int = 50
) -> tuple[list[int], list[float]]:
    """Timesteps 1..T-1 at which to evaluate L_t, and the weight of each.

    Every t below `dense` and the last one are evaluated (the bound's mass sits at both ends);
    in between every `stride`-th t, standing for the `stride` timesteps from it on.
    """
    last = num_timesteps - 1
    ts = list(range(1, min(dense, last)))
    weights = [1.0] * len(ts)
    middle = list(range(min(dense, last), last, stride))
    for i, t in enumerate(middle):
        ts.append(t)
        weights.append(float((middle[i + 1] if i + 1 < len(middle) else last) - t))
    ts.append(last)
    weights.append(1.0)
    return ts, weights


@torch.no_grad()
def variational_bound(
    denoiser: Denoiser,
    x0: torch.Tensor,
    bin_width: float = 2.0 / DIGITS_MAX_LEVEL,
    stride: int = 1,
    cond: object = None,
    generator: torch.Generator | None = None,
    snap_below: int = 0,
) -> BoundTerms:
    """DDPM's L_vlb of discretised data x0 (B, ...) in [-1, 1], term by term, in bits/dim.

    Args:
        denoiser: a trained model (see `diffrnn.diffusion.sampling.Denoiser`), in eval mode.
        x0: (B, ...) data on the bin centres.
        bin_width: spacing of the data levels in the [-1, 1] scale.
        stride: 1 evaluates every L_t (T network calls); k > 1 evaluates every k-th one above
            t = 50 and weights it by k (an approximation of the sum).
        cond: conditioning for the denoiser.
        generator: seeds the x_t draws.
        snap_below: at t < snap_below the x_0 estimate is snapped to the nearest data level
            before forming p's mean: another valid reverse model (its mean is still a function
            of x_t), one that knows the data are discrete. 0: the plain DDPM bound. At those t
            p is q's posterior around the snapped x_0, variance beta~_t included, also for a
            model with learned variances (trained for its unsnapped, uncertain x_0: on digits
            at 120 CPU s the learned variance there cost 0.2 bits/dim over beta~_t).
    """
    process = denoiser.process
    T = process.num_timesteps
    batch, dims = x0.shape[0], x0[0].numel()
    to_bits = 1.0 / (dims * math.log(2.0))
    data_range = process.config.data_range

    def reverse_step(t: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x_t, mean and log-variance of p(x_{t-1} | x_t), t as (B,)) for one draw of
        x_t ~ q(x_t | x0)."""
        t_batch = torch.full((batch,), t, dtype=torch.int64)
        noise = torch.randn(x0.shape, generator=generator)
        x_t = process.q_sample(x0, t_batch, noise)
        prediction, v = process.split_variance(denoiser(x_t, t_batch, cond))
        x0_hat, _ = process.split(x_t, t_batch, prediction)
        if data_range is not None:
            x0_hat = x0_hat.clamp(-data_range, data_range)
        if t < snap_below:
            x0_hat = torch.round((x0_hat + 1.0) / bin_width) * bin_width - 1.0
            v = None  # p is q's posterior around the snapped x_0: its variance too
        mean, _ = process.posterior(x0_hat, x_t, t_batch)
        return x_t, mean, process.reverse_log_variance(t_batch, v, x_t.ndim), t_batch

    # prior: q(x_{T-1} | x0) = N(a x0, s^2) against N(0, 1)
    a, s2 = process.sqrt_alphas_cumprod[-1], 1.0 - process.alphas_cumprod[-1]
    prior = normal_kl(
        a * x0, torch.log(s2).expand_as(x0), torch.zeros_like(x0), torch.zeros_like(x0)
    )
    prior = prior.flatten(1).sum(1) * to_bits

    # decoder at t = 0, the model's variance there (fixed: beta~_1, the clipped log-variance)
    _, mean0, log_var0, _ = reverse_step(0)
    log_scale = 0.5 * log_var0
    decoder = -discretized_gaussian_log_likelihood(x0, mean0, log_scale.expand_as(x0), bin_width)
    decoder = decoder.flatten(1).sum(1).to(torch.float32) * to_bits

    ts, weights = bound_timesteps(T, stride)
    kl = torch.empty(batch, len(ts))
    for k, t in enumerate(ts):
        x_t, mean, log_var, t_batch = reverse_step(t)
        q_mean, q_log_var = process.posterior(x0, x_t, t_batch)
        kl[:, k] = normal_kl(q_mean, q_log_var, mean, log_var).flatten(1).sum(1) * to_bits
    return BoundTerms(
        prior=prior,
        decoder=decoder,
        timesteps=torch.tensor(ts),
        weights=torch.tensor(weights),
        kl=kl,
    )
