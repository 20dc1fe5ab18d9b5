"""DCRNN: dual random-walk diffusion convolution on designed graphs, the cell, the seq2seq model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn

import diffrnn
from diffrnn.hybrid.dcrnn import (
    DCRNN,
    DCGRUCell,
    DCRNNConfig,
    DiffusionConv,
    diffusion_supports,
    diffusion_terms,
    prepare_supports,
    random_walk_matrix,
)

TOL = {"rtol": 1e-5, "atol": 1e-5}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    # tiny tensors: a second thread only adds synchronisation on a loaded machine
    torch.set_num_threads(1)


# A designed directed graph: 0->1 (1), 0->2 (1), 1->2 (2), 2->0 (1).
W = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 2.0], [1.0, 0.0, 0.0]])
X = torch.tensor([1.0, 2.0, 4.0]).reshape(3, 1, 1)  # (N, B, C)


def test_supports_are_the_hand_computed_random_walks() -> None:
    forward, reverse = diffusion_supports(W, "dual_random_walk")
    # D_O = diag(2, 2, 1); D_I = diag(1, 1, 3).
    expected_forward = torch.tensor([[0.0, 0.5, 0.5], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    expected_reverse = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1 / 3, 2 / 3, 0.0]])
    torch.testing.assert_close(forward, expected_forward)
    torch.testing.assert_close(reverse, expected_reverse)


def test_dual_random_walk_restarts_from_x_for_each_support() -> None:
    # Forward: P x = [3, 4, 1]; 2 P (P x) - x = [4, 0, 2].
    # Reverse, starting again from x: R x = [4, 1, 5/3]; 2 R (R x) - x = [7/3, 6, 0].
    # The reference code's bug (liyaguang/DCRNN #45/#90) would start the reverse walk from P x
    # and give R (P x) = [1, 3, 11/3] instead. Terms are step-major: [X, P x, R x, T_2(P) x, ...].
    supports = diffusion_supports(W, "dual_random_walk")
    expected = torch.tensor(
        [[1.0, 3.0, 4.0, 4.0, 7 / 3], [2.0, 4.0, 1.0, 0.0, 6.0], [4.0, 1.0, 5 / 3, 2.0, 0.0]]
    )
    for sparse in (False, True):
        terms = diffusion_terms(X, prepare_supports(supports, sparse), 2)  # (N, B, P, C)
        torch.testing.assert_close(terms[:, 0, :, 0], expected)


def dense_reference_terms(x: torch.Tensor, supports: list[torch.Tensor], k: int) -> torch.Tensor:
    """(N, B, C) -> (N, B, C, P) in the legacy order [X, T_1..T_K(S_1) X, T_1..T_K(S_2) X, ...]:
    the Chebyshev polynomials T_k(S) built as dense matrices, one product per term."""
    eye = torch.eye(x.shape[0])
    terms = [x]
    for s in supports:
        polys = [eye, s]
        for _ in range(2, k + 1):
            polys.append(2 * s @ polys[-1] - polys[-2])
        terms += [torch.einsum("ij,jbc->ibc", p, x) for p in polys[1 : k + 1]]
    return torch.stack(terms, dim=-1)  # (N, B, C, P)


@pytest.mark.parametrize("filter_type", ["dual_random_walk", "random_walk"])
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("sparse", [False, True])
def test_diffusion_terms_and_gradients_match_dense_polynomials(
    filter_type: str, k: int, sparse: bool
) -> None:
    n, batch, channels = 6, 3, 2
    adjacency = torch.rand(n, n) * (torch.rand(n, n) < 0.5)
    supports = diffusion_supports(adjacency, filter_type)  # type: ignore[arg-type]
    m = len(supports)
    x = torch.randn(n, batch, channels, requires_grad=True)
    weights = torch.randn(n, batch, 1 + m * k, channels)  # a random linear read-out
    expected = dense_reference_terms(x, supports, k)  # (N, B, C, P) legacy order
    legacy = [0] + [1 + mi * k + ki for ki in range(k) for mi in range(m)]
    expected = expected[..., legacy].transpose(2, 3)  # (N, B, P, C) step-major
    (expected_grad,) = torch.autograd.grad((expected * weights).sum(), x)
    terms = diffusion_terms(x, prepare_supports(supports, sparse), k)
    (grad,) = torch.autograd.grad((terms * weights).sum(), x)
    torch.testing.assert_close(terms, expected, **TOL)
    torch.testing.assert_close(grad, expected_grad, **TOL)


@pytest.mark.parametrize("filter_type", ["dual_random_walk", "random_walk"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_diffusion_conv_reads_the_legacy_weight_layout(filter_type: str, k: int) -> None:
    # Column c * P + p of linear.weight multiplies term p of channel c, p = 1 + m * K + (k - 1)
    # for T_k(S_m), as in earlier versions: saved models keep their meaning. The hand-written
    # forward and backward (per-term products, Clenshaw) equal dense polynomials with autograd.
    n, batch, c_in, c_out = 5, 2, 3, 4
    adjacency = torch.rand(n, n) * (torch.rand(n, n) < 0.6)
    supports = diffusion_supports(adjacency, filter_type)  # type: ignore[arg-type]
    conv = DiffusionConv(c_in, c_out, num_supports=len(supports), max_diffusion_step=k)
    nn.init.normal_(conv.linear.bias)
    x = torch.randn(n, batch, c_in, requires_grad=True)
    features = dense_reference_terms(x, supports, k).flatten(2)  # (N, B, C * P)
    expected = features @ conv.linear.weight.T + conv.linear.bias
    expected_grads = torch.autograd.grad(expected.square().sum(), [x, *conv.parameters()])
    for sparse in (False, True):
        out = conv(x, prepare_supports(supports, sparse))
        grads = torch.autograd.grad(out.square().sum(), [x, *conv.parameters()])
        torch.testing.assert_close(out, expected, **TOL)
        for got, want in zip(grads, expected_grads, strict=True):
            torch.testing.assert_close(got, want, **TOL)


def test_diffusion_conv_input_gradient_passes_gradcheck() -> None:
    # float64 finite differences of the hand-written Clenshaw backward, K = 3, sparse CSR
    # supports of a directed graph (the weight's gradient is checked against autograd above).
    torch.manual_seed(0)
    adjacency = (torch.rand(6, 6) * (torch.rand(6, 6) < 0.5)).double()
    supports = prepare_supports(diffusion_supports(adjacency, "dual_random_walk"), sparse=True)
    conv = DiffusionConv(3, 2, num_supports=2, max_diffusion_step=3).double()
    x = torch.randn(6, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: torch.tanh(conv(x, supports)), (x,))


def test_random_walk_rows_are_stochastic_and_sinks_stay_zero() -> None:
    adjacency = torch.rand(8, 8)
    adjacency[3] = 0.0  # a sink
    p = random_walk_matrix(adjacency)
    sums = p.sum(dim=1)
    torch.testing.assert_close(sums[torch.arange(8) != 3], torch.ones(7))
    assert sums[3] == 0.0


def test_k_zero_is_a_dense_layer_applied_to_each_node() -> None:
    conv = DiffusionConv(4, 5, num_supports=2, max_diffusion_step=0)
    dense = nn.Linear(4, 5)
    dense.load_state_dict(conv.linear.state_dict())
    x = torch.randn(7, 2, 4)  # (N, B, C)
    supports = prepare_supports(diffusion_supports(torch.rand(7, 7), "dual_random_walk"), True)
    torch.testing.assert_close(conv(x, supports), dense(x))


def test_dcgru_cell_shapes_and_two_hop_receptive_field() -> None:
    cell = DCGRUCell(input_size=3, hidden_size=8, num_supports=1, max_diffusion_step=1)
    chain = torch.diag(torch.ones(3), diagonal=1)  # 0 -> 1 -> 2 -> 3
    supports = prepare_supports(diffusion_supports(chain, "random_walk"), True)
    x, h = torch.randn(4, 2, 3), torch.randn(4, 2, 8)  # (N, B, C), (N, B, H)
    out = cell(x, h, supports)
    assert out.shape == (4, 2, 8)
    # With K = 1 node i reads node i+1; the candidate reads r * h, itself one hop: two hops.
    x2 = x.clone()
    x2[3] += 1.0
    out2 = cell(x2, h, supports)
    assert torch.equal(out2[0], out[0])
    assert not torch.allclose(out2[1], out[1])
    assert not torch.allclose(out2[2], out[2])


def tiny_model(k: int = 1, **kwargs: object) -> DCRNN:
    config = DCRNNConfig(
        num_nodes=5, horizon=3, hidden_size=8, num_layers=2, max_diffusion_step=k, **kwargs
    )
    adjacency = (torch.rand(5, 5) < 0.5).float()
    return DCRNN(config, adjacency)


def test_dcrnn_shapes_and_standardisation() -> None:
    model = tiny_model()
    x = torch.randn(4, 6, 5, 1)
    assert model.predict(x).shape == (4, 3, 5, 1)
    # Outputs are de-standardised: shifting loc shifts an input-free prediction's offset.
    model.set_standardisation(torch.tensor([10.0]), torch.tensor([2.0]))
    shifted = model.predict(x * 2.0 + 10.0)
    model.set_standardisation(torch.tensor([0.0]), torch.tensor([1.0]))
    torch.testing.assert_close(shifted, model.predict(x) * 2.0 + 10.0)


def test_dcrnn_overfits_a_tiny_batch() -> None:
    model = tiny_model(loss="mse", cl_decay_steps=0)
    x = torch.randn(8, 4, 5, 1)
    batch = {"x": x, "y": x[:, -3:].flip(1)}
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    first = float(model.loss(batch).detach())
    for _ in range(150):
        optimiser.zero_grad()
        loss = model.loss(batch)
        loss.backward()
        optimiser.step()
    assert float(loss.detach()) < 0.2 * first


def test_scheduled_sampling_decays_with_batches_seen() -> None:
    model = tiny_model(cl_decay_steps=100)
    assert model.teacher_forcing_probability() == pytest.approx(100 / 101)
    model.batches_seen.fill_(1000)
    assert model.teacher_forcing_probability() == pytest.approx(100 / (100 + torch.e**10))


def test_masked_mae_ignores_missing_readings() -> None:
    model = tiny_model(loss="masked_mae")
    model.eval()
    x = torch.randn(2, 4, 5, 1)
    y = torch.randn(2, 3, 5, 1)
    y[:, :, 0] = 0.0  # node 0 missing
    prediction = model(x)
    expected = (prediction - y).abs()[:, :, 1:].mean()
    torch.testing.assert_close(model.loss({"x": x, "y": y}), expected)


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = tiny_model(k=2)
    model.set_standardisation(torch.tensor([3.0]), torch.tensor([0.5]))
    model.save_pretrained(tmp_path / "dcrnn")
    loaded = diffrnn.load(tmp_path / "dcrnn")
    x = torch.randn(2, 4, 5, 1)
    torch.testing.assert_close(loaded.predict(x), model.predict(x))
    assert torch.equal(loaded.adjacency, model.adjacency)


def test_config_rejects_unknown_filter() -> None:
    with pytest.raises(ValueError, match="filter_type"):
        DCRNNConfig(num_nodes=3, filter_type="laplacian")  # type: ignore[arg-type]


def test_sparse_and_dense_supports_give_the_same_model_and_gradients() -> None:
    torch.manual_seed(0)
    dense = tiny_model(k=2, use_sparse=False, cl_decay_steps=0)
    sparse = DCRNN(dataclasses.replace(dense.config, use_sparse=True), dense.adjacency)
    sparse.load_state_dict(dense.state_dict())
    batch = {"x": torch.randn(3, 4, 5, 1), "y": torch.randn(3, 3, 5, 1)}
    losses = [model.loss(batch) for model in (dense, sparse)]
    grads = [
        torch.autograd.grad(loss, list(m.parameters()))
        for loss, m in zip(losses, (dense, sparse), strict=True)
    ]
    torch.testing.assert_close(losses[0], losses[1], **TOL)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_dropout_acts_in_training_only() -> None:
    torch.manual_seed(0)
    plain = tiny_model(k=1, cl_decay_steps=0)
    dropped = DCRNN(dataclasses.replace(plain.config, dropout=0.5), plain.adjacency)
    dropped.load_state_dict(plain.state_dict())
    x = torch.randn(2, 4, 5, 1)
    torch.testing.assert_close(dropped.predict(x), plain.predict(x))  # eval: no dropout
    dropped.train()
    assert not torch.allclose(dropped(x), dropped(x))
    with pytest.raises(ValueError, match="dropout"):
        DCRNNConfig(num_nodes=3, dropout=1.0)
