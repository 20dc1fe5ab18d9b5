"""DCRNN: diffusion-convolutional recurrent network (Li et al., ICLR 2018).

A graph signal `X` (N nodes x C channels) is filtered by diffusion convolution (paper eq. 2):

    X *_G f_theta = sum_k ( theta_{k,1} (D_O^-1 W)^k + theta_{k,2} (D_I^-1 W^T)^k ) X

the forward random walk `D_O^-1 W` (row-normalised adjacency, D_O the out-degrees) and the reverse
walk `D_I^-1 W^T` (D_I the in-degrees). As in the reference implementation, each support `S`
expands `X` with the Chebyshev-like recursion T_0 = X, T_1 = S X, T_k = 2 S T_{k-1} - T_{k-2}
(the same polynomial space as the powers S^k X, k <= K, better conditioned). Unlike the reference
code, every support's recursion restarts from `X`: liyaguang/DCRNN reuses the previous support's
last two terms as T_0, T_1 of the next one (issues #45 / #90), so its reverse walk is not a walk.

A DCGRU cell replaces the GRU's matrix products with diffusion convolutions (paper eq. 3); an
encoder-decoder of DCGRU layers maps `T_in` past graph signals to `T_out` future ones, feeding the
decoder the ground truth with a probability that decays as training proceeds (scheduled sampling,
inverse-sigmoid decay). With `max_diffusion_step = 0` every node runs the same GRU independently:
the no-graph ablation (`gru-per-node`).

Cost (benchmarks/dcrnn_step.py): cells work node-major, (N, B, C), so a signal is an (N, B*C)
matrix the supports multiply without a transpose, as sparse CSR products. A diffusion
convolution is one autograd function: the terms of every walk go into one buffer, one `addmm`
maps them, and the backward pass sums the transposed polynomials by Clenshaw's recurrence.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import Tensor, nn

from diffrnn.modeling import PretrainedMixin
from diffrnn.presets import Size, pick

FilterType = Literal["dual_random_walk", "random_walk", "reverse_random_walk"]
LossType = Literal["masked_mae", "mae", "mse"]


def random_walk_matrix(adjacency: Tensor) -> Tensor:
    """The forward random-walk transition matrix D_O^-1 W.

    Args:
        adjacency: (N, N) non-negative weights, `W[i, j]` the edge i -> j.

    Returns:
        (N, N) dense matrix whose non-empty rows sum to one (rows of sinks stay zero).
    """
    out_degree = adjacency.sum(dim=1, keepdim=True)  # (N, 1)
    inverse = torch.where(out_degree > 0, 1.0 / out_degree.clamp_min(1e-12), 0.0)
    return inverse * adjacency


def diffusion_supports(adjacency: Tensor, filter_type: FilterType) -> list[Tensor]:
    """The random-walk supports of `filter_type`, as dense (N, N) matrices.

    "dual_random_walk" gives [D_O^-1 W, D_I^-1 W^T]; "random_walk" the first only;
    "reverse_random_walk" the second only.
    """
    if filter_type not in get_args(FilterType):
        raise ValueError(f"filter_type must be one of {get_args(FilterType)}, got {filter_type!r}")
    forward = random_walk_matrix(adjacency)
    reverse = random_walk_matrix(adjacency.T)
    return {
        "dual_random_walk": [forward, reverse],
        "random_walk": [forward],
        "reverse_random_walk": [reverse],
    }[filter_type]


@dataclass(frozen=True)
class Supports:
    """The M random-walk supports S_m and their transposes, ready to multiply (N, W) signals.

    Attributes:
        mats: M (N, N) matrices S_m, sparse CSR or dense.
        mats_t: their transposes S_m^T (the backward pass), in the same format.
    """

    mats: tuple[Tensor, ...]
    mats_t: tuple[Tensor, ...]

    @property
    def num_supports(self) -> int:
        """M."""
        return len(self.mats)


def prepare_supports(supports: list[Tensor], sparse: bool) -> Supports:
    """Dense (N, N) supports for `diffusion_terms` and `DiffusionConv`, as sparse CSR if `sparse`.

    On the 207-node METR-LA graph (4% non-zero) a CSR product with a (207, 544) signal takes
    0.11 ms on one CPU thread, a dense one 0.48 ms, a COO one 0.21 ms (benchmarks/dcrnn_step.py
    times the whole step); dense suits small dense graphs.
    """

    def convert(m: Tensor) -> Tensor:
        if not sparse:
            return m.contiguous()
        with warnings.catch_warnings():  # "sparse CSR support is in beta": mm is all we use
            warnings.simplefilter("ignore", UserWarning)
            return m.to_sparse_csr()

    return Supports(tuple(convert(m) for m in supports), tuple(convert(m.T) for m in supports))


def _chebyshev_terms(x0: Tensor, supports: Supports, k_max: int) -> list[Tensor]:
    """(N, W) -> P (N, W) terms, step-major: [X, T_1(S_1) X, ..., T_1(S_M) X, T_2(S_1) X, ...],
    T_1 = S X, T_k = 2 S T_{k-1} - T_{k-2}, every support's recursion from X."""
    m_all = supports.num_supports
    terms = [x0] + [torch.mm(s, x0) for s in supports.mats]
    for k in range(2, k_max + 1):
        for m, s in enumerate(supports.mats):
            previous = terms[1 + (k - 2) * m_all + m]  # T_{k-1}(S_m) X
            before = x0 if k == 2 else terms[1 + (k - 3) * m_all + m]  # T_{k-2}(S_m) X
            terms.append(torch.addmm(before, s, previous, beta=-1.0, alpha=2.0))
    return terms


def _chebyshev_adjoint(grads: list[Tensor], supports: Supports, k_max: int) -> Tensor:
    """Gradients G_p (N, W) of the step-major terms -> sum_p T_p(S)^T G_p, (N, W), by Clenshaw.

    T_k(S)^T = T_k(S^T), so per support b_K = G_K, b_k = G_k + 2 S^T b_{k+1} - b_{k+2} and the
    sum is S^T b_1 - b_2: K products, like the forward (G_0 belongs to X itself).
    """
    m_all = supports.num_supports
    total = grads[0].clone()
    for m, s_t in enumerate(supports.mats_t):
        walk = grads[1 + m :: m_all]  # G of T_1(S_m) X, ..., T_K(S_m) X
        b1, b2 = walk[k_max - 1], None  # b_K; b_{K+1} = 0
        for k in range(k_max - 1, 0, -1):
            b = torch.addmm(walk[k - 1], s_t, b1, alpha=2.0)
            if b2 is not None:
                b.sub_(b2)
            b1, b2 = b, b1
        total.addmm_(s_t, b1)
        if b2 is not None:
            total.sub_(b2)
    return total


class _DiffusionConvFunction(torch.autograd.Function):
    """Paper eq. 2 followed by the dense map, forward and backward by hand.

    Forward: the Chebyshev terms Z_p (N, B*C) of every support, then out = b + sum_p Z_p W_p
    with each Z_p read as (N*B, C) and W_p the weight's columns of term p: no (N, B, P, C)
    copy of the terms. Backward: G^T Z_p per term for the weight, G W_p^T per term for the
    terms, and the input's gradient by Clenshaw's recurrence (autograd through the recursion
    would keep every intermediate and transpose each sparse matrix at every step).
    """

    @staticmethod
    def forward(
        ctx, x: Tensor, weight: Tensor, bias: Tensor, supports: Supports, k_max: int
    ) -> Tensor:
        nodes, batch, channels = x.shape
        terms = _chebyshev_terms(x.reshape(nodes, batch * channels), supports, k_max)
        terms = [t.view(nodes * batch, channels) for t in terms]  # P x (N*B, C)
        w = weight.view(weight.shape[0], len(terms), channels)  # (C_out, P, C)
        out = torch.addmm(bias, terms[0], w[:, 0].T)  # (N*B, C_out)
        for p in range(1, len(terms)):
            out.addmm_(terms[p], w[:, p].T)
        ctx.save_for_backward(weight, *terms)
        ctx.supports, ctx.k_max, ctx.shape = supports, k_max, (nodes, batch, channels)
        return out.view(nodes, batch, -1)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        weight, *terms = ctx.saved_tensors
        nodes, batch, channels = ctx.shape
        grad = grad.reshape(nodes * batch, -1)  # (N*B, C_out)
        w = weight.view(weight.shape[0], len(terms), channels)  # (C_out, P, C)
        grad_weight = grad_bias = grad_x = None
        if ctx.needs_input_grad[1]:
            grad_weight = torch.cat([grad.T @ t for t in terms], dim=1)  # (C_out, P*C)
        if ctx.needs_input_grad[2]:
            grad_bias = grad.sum(0)
        if ctx.needs_input_grad[0]:
            grads = [(grad @ w[:, p]).view(nodes, -1) for p in range(len(terms))]  # (N, B*C)
            grad_x = _chebyshev_adjoint(grads, ctx.supports, ctx.k_max).view(ctx.shape)
        return grad_x, grad_weight, grad_bias, None, None


def diffusion_terms(x: Tensor, supports: Supports, max_diffusion_step: int) -> Tensor:
    """The diffusion terms of `x` over every support (the inputs of paper eq. 2).

    Each support's Chebyshev recursion starts again from X. Plain autograd: the reference that
    `DiffusionConv`'s hand-written backward is tested against.

    Args:
        x: (N, B, C) graph signals, node-major.
        supports: the M supports.
        max_diffusion_step: K; K = 0 returns `x` alone.

    Returns:
        (N, B, 1 + K*M, C): [X, T_1(S_1) X, ..., T_1(S_M) X, T_2(S_1) X, ..., T_K(S_M) X].
    """
    nodes, batch, channels = x.shape
    x0 = x.reshape(nodes, batch * channels)  # (N, B*C)
    walks = []  # walks[m][k] = T_k(S_m) X
    for s in supports.mats:
        walk = [x0, torch.mm(s, x0)]
        for _ in range(2, max_diffusion_step + 1):
            walk.append(2.0 * torch.mm(s, walk[-1]) - walk[-2])
        walks.append(walk)
    terms = [x0] + [w[k] for k in range(1, max_diffusion_step + 1) for w in walks]
    return torch.stack(terms).view(-1, nodes, batch, channels).permute(1, 2, 0, 3)  # (N, B, P, C)


class DiffusionConv(nn.Module):
    """Diffusion convolution: a dense map of the stacked diffusion terms (paper eq. 2).

    `linear.weight` (C_out, C_in * P) keeps the layout of earlier versions, column c * P + p with
    p = 0 for X and p = 1 + m * K + (k - 1) for T_k(S_m) X, so saved models load unchanged;
    `forward` gathers it into the step-major order of `diffusion_terms`.

    Args:
        in_channels, out_channels: C_in and C_out per node.
        num_supports: M (2 for the dual random walk).
        max_diffusion_step: K.
        bias_init: initial bias (the reference sets 1.0 for the GRU gates).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_supports: int,
        max_diffusion_step: int,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        self.max_diffusion_step = max_diffusion_step
        k, m = max_diffusion_step, num_supports
        num_terms = 1 + m * k
        self.linear = nn.Linear(in_channels * num_terms, out_channels)
        nn.init.xavier_normal_(self.linear.weight)
        nn.init.constant_(self.linear.bias, bias_init)
        # term p of diffusion_terms is T_k(S_m) with p = 1 + (k - 1) * M + m; its legacy column
        legacy_term = [0] + [1 + mi * k + ki for ki in range(k) for mi in range(m)]
        columns = [c * num_terms + p for p in legacy_term for c in range(in_channels)]
        self.register_buffer("columns", torch.tensor(columns), persistent=False)

    def forward(self, x: Tensor, supports: Supports) -> Tensor:
        """(N, B, C_in) -> (N, B, C_out)."""
        if self.max_diffusion_step == 0:  # one term: a dense layer on each node
            return self.linear(x)
        weight = self.linear.weight.index_select(1, self.columns)  # (C_out, P * C_in)
        return _DiffusionConvFunction.apply(
            x.contiguous(), weight, self.linear.bias, supports, self.max_diffusion_step
        )


class DCGRUCell(nn.Module):
    """A GRU cell whose matrix products are diffusion convolutions (paper eq. 3).

    r, u = sigmoid(Theta_ru *G [X, H]);  C = tanh(Theta_C *G [X, r * H]);  H' = u H + (1 - u) C.
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_supports: int, max_diffusion_step: int
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        size = input_size + hidden_size
        self.gates = DiffusionConv(size, 2 * hidden_size, num_supports, max_diffusion_step, 1.0)
        self.candidate = DiffusionConv(size, hidden_size, num_supports, max_diffusion_step)

    def forward(self, x: Tensor, h: Tensor, supports: Supports) -> Tensor:
        """x (N, B, C_in), h (N, B, H) -> the next hidden state (N, B, H), node-major."""
        gates = torch.sigmoid(self.gates(torch.cat([x, h], dim=-1), supports))  # (N, B, 2H)
        r, u = gates.chunk(2, dim=-1)  # (N, B, H) each
        c = torch.tanh(self.candidate(torch.cat([x, r * h], dim=-1), supports))  # (N, B, H)
        return u * h + (1.0 - u) * c


@dataclass(frozen=True)
class DCRNNConfig:
    """DCRNN hyperparameters (defaults: the paper's METR-LA model, 2 x 64 units, K = 2).

    Args:
        num_nodes: N, the graph's size.
        input_dim: channels per node of the encoder's input (the target first, then covariates).
        output_dim: channels per node predicted (the first `output_dim` input channels).
        horizon: T_out, steps predicted.
        hidden_size: DCGRU units per node.
        num_layers: stacked DCGRU layers in encoder and decoder.
        max_diffusion_step: K; 0 removes the graph (a GRU per node with shared weights).
        filter_type: which random-walk supports to use.
        use_sparse: multiply by the supports as torch sparse CSR matrices (faster on road
            graphs of a few hundred nodes; dense suits small dense graphs).
        dropout: dropout on what each layer passes up (the next layer's input, the projection's
            input), never on the recurrent state; in training only.
        cl_decay_steps: tau of the scheduled-sampling decay tau / (tau + exp(step / tau));
            0 disables scheduled sampling (the decoder always feeds its own predictions).
        loss: "masked_mae" (zeros in the target are missing readings, as in the reference),
            "mae" or "mse", computed in the data's units.
    """

    num_nodes: int
    input_dim: int = 1
    output_dim: int = 1
    horizon: int = 12
    hidden_size: int = 64
    num_layers: int = 2
    max_diffusion_step: int = 2
    filter_type: FilterType = "dual_random_walk"
    use_sparse: bool = True
    dropout: float = 0.0
    cl_decay_steps: int = 2000
    loss: LossType = "masked_mae"

    def __post_init__(self) -> None:
        if self.filter_type not in get_args(FilterType):
            raise ValueError(
                f"filter_type must be one of {get_args(FilterType)}, got {self.filter_type!r}"
            )
        if self.loss not in get_args(LossType):
            raise ValueError(f"loss must be one of {get_args(LossType)}, got {self.loss!r}")
        if self.max_diffusion_step < 0:
            raise ValueError(f"max_diffusion_step must be >= 0, got {self.max_diffusion_step}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 < self.output_dim <= self.input_dim:
            raise ValueError("output_dim must be in 1..input_dim (targets are the first inputs)")


class DCRNN(PretrainedMixin, nn.Module):
    """Sequence-to-sequence DCRNN over a fixed graph.

    The adjacency and the target's standardisation (`loc`, `scale`) are buffers, so a saved model
    predicts in the data's units on its own. Batches are dicts with "x" (B, T_in, N, input_dim)
    and "y" (B, T_out, N, output_dim), both in the data's units.

    Args:
        config: hyperparameters.
        adjacency: (N, N) weights, `W[i, j]` the edge i -> j (zeros when loading a saved model).
    """

    config_class = DCRNNConfig

    def __init__(self, config: DCRNNConfig, adjacency: Tensor | None = None) -> None:
        super().__init__()
        self.config = config
        n = config.num_nodes
        adjacency = torch.zeros(n, n) if adjacency is None else adjacency.float()
        if adjacency.shape != (n, n):
            raise ValueError(f"adjacency must be ({n}, {n}), got {tuple(adjacency.shape)}")
        self.register_buffer("adjacency", adjacency.clone())
        self.register_buffer("loc", torch.zeros(config.input_dim))
        self.register_buffer("scale", torch.ones(config.input_dim))
        self.register_buffer("batches_seen", torch.zeros((), dtype=torch.long))
        num_supports = len(diffusion_supports(torch.zeros(1, 1), config.filter_type))
        k, h = config.max_diffusion_step, config.hidden_size

        def layers(first_input: int) -> nn.ModuleList:
            sizes = [first_input] + [h] * (config.num_layers - 1)
            return nn.ModuleList(DCGRUCell(s, h, num_supports, k) for s in sizes)

        self.encoder = layers(config.input_dim)
        self.decoder = layers(config.output_dim)
        self.projection = nn.Linear(h, config.output_dim)
        self.dropout = nn.Dropout(config.dropout)

    def set_standardisation(self, loc: Tensor, scale: Tensor) -> None:
        """Store per-channel mean and standard deviation of the training inputs, (input_dim,)."""
        self.loc.copy_(loc)
        self.scale.copy_(scale.clamp_min(1e-8))

    def supports(self) -> Supports:
        """The random-walk supports of the stored adjacency (sparse CSR if configured); built once
        per forward, about 1 ms for 207 nodes."""
        dense = diffusion_supports(self.adjacency, self.config.filter_type)
        return prepare_supports(dense, self.config.use_sparse)

    def teacher_forcing_probability(self) -> float:
        """Inverse-sigmoid decay tau / (tau + exp(step / tau)) of the batches seen so far."""
        tau = self.config.cl_decay_steps
        if tau == 0:
            return 0.0
        return tau / (tau + math.exp(min(float(self.batches_seen) / tau, 700.0)))

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Predict the next `horizon` graph signals.

        Args:
            x: (B, T_in, N, input_dim) past signals in the data's units.
            y: (B, T_out, N, output_dim) targets, used for scheduled sampling in training only.

        Returns:
            (B, T_out, N, output_dim) predictions in the data's units.
        """
        cfg = self.config
        supports = self.supports()
        x = ((x - self.loc) / self.scale).permute(1, 2, 0, 3)  # (T_in, N, B, C_in)
        batch = x.shape[2]
        hidden = [x.new_zeros(cfg.num_nodes, batch, cfg.hidden_size) for _ in self.encoder]
        for t in range(x.shape[0]):
            signal = x[t]  # (N, B, C)
            for i, cell in enumerate(self.encoder):
                hidden[i] = cell(signal, hidden[i], supports)
                signal = self.dropout(hidden[i]) if i + 1 < len(self.encoder) else hidden[i]
        out_loc, out_scale = self.loc[: cfg.output_dim], self.scale[: cfg.output_dim]
        forcing = self.teacher_forcing_probability() if self.training and y is not None else 0.0
        if forcing > 0 and y is not None:
            y = ((y - out_loc) / out_scale).permute(1, 2, 0, 3)  # (T_out, N, B, C_out)
        decoder_input = x.new_zeros(cfg.num_nodes, batch, cfg.output_dim)  # the GO symbol
        outputs = []
        for t in range(cfg.horizon):
            signal = decoder_input
            for i, cell in enumerate(self.decoder):
                hidden[i] = cell(signal, hidden[i], supports)
                signal = self.dropout(hidden[i])
            prediction = self.projection(signal)  # (N, B, C_out), standardised
            outputs.append(prediction)
            decoder_input = prediction
            if forcing > 0 and y is not None and torch.rand(()) < forcing:
                decoder_input = y[t]
        outputs = torch.stack(outputs).permute(2, 0, 1, 3)  # (B, T_out, N, C_out)
        return outputs * out_scale + out_loc

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        """Training loss of a batch {"x", "y"} in the data's units (see `DCRNNConfig.loss`)."""
        prediction = self(batch["x"], batch["y"])
        if self.training:
            self.batches_seen += 1
        error = prediction - batch["y"]
        if self.config.loss == "mse":
            return error.square().mean()
        if self.config.loss == "mae":
            return error.abs().mean()
        mask = (batch["y"] != 0).to(error.dtype)
        return (error.abs() * mask).sum() / mask.sum().clamp_min(1.0)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """(B, T_in, N, input_dim) -> (B, T_out, N, output_dim), without teacher forcing."""
        was_training = self.training
        self.eval()
        try:
            return self(x)
        finally:
            self.train(was_training)


def dcrnn(
    size: Size,
    num_nodes: int,
    horizon: int = 12,
    max_diffusion_step: int = 2,
    loss: LossType = "masked_mae",
    filter_type: FilterType = "dual_random_walk",
) -> DCRNNConfig:
    """The DCRNN presets sized for a CPU: "full" one DCGRU layer of 16 units, "quick" 8 (the
    paper's 2 x 64, the config's defaults, costs ~8 s per batch of 32 of Los Angeles traffic
    on one CPU thread: within 600 s a 1 x 16 model sees ~14 epochs, the larger one not one).
    K = `max_diffusion_step` = 0 is the graph-free ablation: one GRU per node, shared weights."""
    presets = {"quick": (8, 1), "full": (16, 1)}
    hidden_size, num_layers = pick(size, presets)
    return DCRNNConfig(
        num_nodes=num_nodes,
        horizon=horizon,
        hidden_size=hidden_size,
        num_layers=num_layers,
        max_diffusion_step=max_diffusion_step,
        filter_type=filter_type,
        loss=loss,
    )
