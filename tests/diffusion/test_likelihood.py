"""The variational bound's pieces: discretised decoder, Gaussian KL, and an oracle's closed form."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from diffrnn.data.images import levels_to_unit
from diffrnn.diffusion.gaussian import GaussianProcess, GaussianProcessConfig
from diffrnn.diffusion.likelihood import (
    bound_timesteps,
    discretized_gaussian_log_likelihood,
    normal_kl,
    reverse_step_bits,
    variational_bound,
)

LEVELS = levels_to_unit(torch.arange(17))  # (17,)


@pytest.mark.parametrize(
    ("mean", "scale"), [(0.0, 0.3), (0.37, 0.01), (-0.95, 2.0), (4.0, 0.05), (-0.5, 1e-4)]
)
def test_decoder_probabilities_over_all_levels_sum_to_one(mean: float, scale: float) -> None:
    log_p = discretized_gaussian_log_likelihood(
        LEVELS, torch.full((17,), mean), torch.full((17,), math.log(scale)), bin_width=2 / 16
    )
    assert torch.isfinite(log_p).all()
    assert log_p.exp().sum().item() == pytest.approx(1.0, abs=1e-9)


def test_decoder_interior_bin_is_the_gaussian_mass() -> None:
    log_p = discretized_gaussian_log_likelihood(
        torch.tensor([0.25]), torch.tensor([0.2]), torch.tensor([math.log(0.1)]), bin_width=0.125
    )
    normal = torch.distributions.Normal(0.2, 0.1)
    expected = normal.cdf(torch.tensor(0.3125)) - normal.cdf(torch.tensor(0.1875))
    assert log_p.exp().item() == pytest.approx(expected.item(), rel=1e-6)


def test_normal_kl_closed_form() -> None:
    m, lv = torch.tensor([0.3, -1.0]), torch.tensor([0.2, -2.0])
    torch.testing.assert_close(normal_kl(m, lv, m, lv), torch.zeros(2))
    # KL(N(1, 1) || N(0, 4)) = log 2 + (1 + 1) / 8 - 1/2
    got = normal_kl(
        torch.tensor(1.0), torch.tensor(0.0), torch.tensor(0.0), torch.tensor(math.log(4.0))
    )
    assert got.item() == pytest.approx(math.log(2.0) + 2.0 / 8.0 - 0.5, rel=1e-6)


def test_bound_timesteps_cover_every_kl_term_once() -> None:
    for stride in (1, 7, 50):
        ts, weights = bound_timesteps(1000, stride)
        assert sum(weights) == 999 and ts[0] == 1 and ts[-1] == 999
        assert ts == sorted(set(ts))


class OracleX0(nn.Module):
    """Knows the data: predicts x_0 = `value` everywhere (prediction="sample")."""

    def __init__(self, process: GaussianProcess, value: float) -> None:
        super().__init__()
        self.process, self.value = process, value

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        return torch.full_like(x_t, self.value)


def test_bound_of_an_exact_denoiser_on_a_point_mass_is_prior_plus_decoder() -> None:
    config = GaussianProcessConfig(
        num_timesteps=10, schedule="linear", beta_start=0.01, beta_end=0.2, prediction="sample"
    )
    process = GaussianProcess(config)
    value = 0.5  # level 12
    x0 = torch.full((3, 1, 2, 2), value)
    terms = variational_bound(
        OracleX0(process, value), x0, generator=torch.Generator().manual_seed(0)
    )
    # every L_t is 0: the exact x_0 gives the posterior's own mean and variance
    assert terms.kl.abs().max() < 1e-4
    a2, s2 = process.alphas_cumprod[-1].item(), 1 - process.alphas_cumprod[-1].item()
    prior_nats = 0.5 * (a2 * value**2 + s2 - 1.0 - math.log(s2))
    sigma = math.sqrt(process.posterior_variance[1].item())
    mass = math.erf(0.0625 / (sigma * math.sqrt(2.0)))
    expected = (prior_nats - math.log(mass)) / math.log(2.0)
    assert terms.bits_per_dim() == pytest.approx(expected, rel=1e-4)
    assert 0.5 < mass < 0.6  # a decoder that is neither certain nor flat


def test_snapping_an_almost_exact_estimate_recovers_the_exact_bound() -> None:
    config = GaussianProcessConfig(
        num_timesteps=10, schedule="linear", beta_start=0.01, beta_end=0.2, prediction="sample"
    )
    process = GaussianProcess(config)
    x0 = torch.full((2, 4), 0.5)
    off = OracleX0(process, 0.5 + 0.03)  # a third of a bin off: snapping puts it back
    exact = variational_bound(
        OracleX0(process, 0.5), x0, generator=torch.Generator().manual_seed(0)
    )
    plain = variational_bound(off, x0, generator=torch.Generator().manual_seed(0))
    snapped = variational_bound(off, x0, generator=torch.Generator().manual_seed(0), snap_below=10)
    assert plain.bits_per_dim() > exact.bits_per_dim() + 0.1
    assert snapped.bits_per_dim() == pytest.approx(exact.bits_per_dim(), abs=1e-4)


def _posterior_and_draw(process: GaussianProcess, t: torch.Tensor) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    x0 = levels_to_unit(torch.randint(0, 17, (t.shape[0], 1, 2, 2), generator=generator))
    x_t = process.q_sample(x0, t, torch.randn(x0.shape, generator=generator))
    mean, log_var = process.posterior(x0, x_t, t)
    return x0, x_t, mean, log_var


def test_reverse_step_kl_is_zero_when_p_is_the_posterior() -> None:
    process = GaussianProcess(GaussianProcessConfig(variance="learned_range"))
    t = torch.tensor([1, 5, 40, 500, 999])
    x0, x_t, mean, log_var = _posterior_and_draw(process, t)
    exact = reverse_step_bits(process, x0, x_t, t, mean, log_var, 2.0 / 16)
    assert exact.abs().max() < 1e-6
    # a variance that is not the posterior's (v = +1: beta_t) costs bits, the more the lower t:
    # beta_t / beta~_t falls towards 1 as t grows (the endpoints meet at the noisy end)
    wider = process.reverse_log_variance(t, torch.ones_like(x0), x0.ndim)
    cost = reverse_step_bits(process, x0, x_t, t, mean, wider, 2.0 / 16)
    assert cost[0] > 0.1 and (cost[:4] > 0).all() and (cost.diff() <= 0).all()
    # so does a mean off by a tenth of a bin at the low-noise step
    off = reverse_step_bits(process, x0, x_t, t, mean + 0.0125, log_var, 2.0 / 16)
    assert off[0] > 0.1


def test_reverse_step_at_t0_is_the_discretised_decoder() -> None:
    process = GaussianProcess(GaussianProcessConfig(variance="learned_range"))
    t = torch.tensor([0, 0, 7])
    x0, x_t, _, _ = _posterior_and_draw(process, t)
    mean = x0 + 0.05  # inside the bin (half width 1/16)
    log_var = torch.full_like(x0, math.log(0.03**2))
    bits = reverse_step_bits(process, x0, x_t, t, mean, log_var, 2.0 / 16)
    decoder = -discretized_gaussian_log_likelihood(x0, mean, 0.5 * log_var, 2.0 / 16)
    expected = decoder.flatten(1).sum(1) / (4 * math.log(2.0))
    torch.testing.assert_close(bits[:2], expected[:2].float())
    # without a bin width (continuous data) t = 0 is a KL term like the others
    q_mean, q_log_var = process.posterior(x0, x_t, t)
    kl = normal_kl(q_mean, q_log_var, mean, log_var).flatten(1).sum(1) / (4 * math.log(2.0))
    torch.testing.assert_close(reverse_step_bits(process, x0, x_t, t, mean, log_var, None), kl)


class LearnedVarianceOracle(nn.Module):
    """The exact x_0 (prediction="sample") and a constant v for the learned variance."""

    def __init__(self, process: GaussianProcess, value: float, v: float) -> None:
        super().__init__()
        self.process, self.value, self.v = process, value, v

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        return torch.cat([torch.full_like(x_t, self.value), torch.full_like(x_t, self.v)], dim=1)


def test_bound_uses_the_learned_variance() -> None:
    kwargs: dict[str, Any] = dict(
        num_timesteps=10, schedule="linear", beta_start=0.01, beta_end=0.2, prediction="sample"
    )
    fixed = GaussianProcess(GaussianProcessConfig(**kwargs))
    learned = GaussianProcess(GaussianProcessConfig(variance="learned_range", **kwargs))
    x0 = torch.full((3, 1, 2, 2), 0.5)

    def bound(model: nn.Module) -> Any:
        return variational_bound(model, x0, generator=torch.Generator().manual_seed(0))

    reference = bound(OracleX0(fixed, 0.5))
    # v = -1 is beta~_t, DDPM's fixed variance: the same bound, term by term
    at_posterior = bound(LearnedVarianceOracle(learned, 0.5, -1.0))
    torch.testing.assert_close(at_posterior.kl, reference.kl)
    torch.testing.assert_close(at_posterior.decoder, reference.decoder)
    # v = +1 is beta_t: wider than the exact posterior, every L_t > 0, a wider decoder
    at_beta = bound(LearnedVarianceOracle(learned, 0.5, 1.0))
    assert (at_beta.kl > 1e-3).all()
    assert at_beta.decoder.min() > reference.decoder.max()


def test_snapped_steps_use_the_posterior_variance_of_a_learned_variance_model() -> None:
    kwargs: dict[str, Any] = dict(
        num_timesteps=10, schedule="linear", beta_start=0.01, beta_end=0.2, prediction="sample"
    )
    fixed = GaussianProcess(GaussianProcessConfig(**kwargs))
    learned = GaussianProcess(GaussianProcessConfig(variance="learned_range", **kwargs))
    x0 = torch.full((2, 4), 0.5)

    def bound(model: nn.Module, snap: int) -> Any:
        return variational_bound(
            model, x0, generator=torch.Generator().manual_seed(0), snap_below=snap
        )

    # a third of a bin off, v = +1 (beta_t): snapped everywhere, it is the exact bound
    off = LearnedVarianceOracle(learned, 0.53, 1.0)
    exact = bound(OracleX0(fixed, 0.5), 0)
    assert bound(off, 10).bits_per_dim() == pytest.approx(exact.bits_per_dim(), abs=1e-4)
    assert bound(off, 0).bits_per_dim() > exact.bits_per_dim() + 0.1
