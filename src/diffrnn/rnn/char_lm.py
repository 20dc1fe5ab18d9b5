"""Character language model: embedding -> recurrent stack -> softmax over the next character.

Trained with stateful truncated BPTT: batches come from `diffrnn.data.tbptt.TBPTTChunks`, whose rows
continue one another, and `loss` carries the recurrent state from batch to batch (detached), reset
at the start of each pass. Evaluated by its exact negative log-likelihood on a held-out stream,
in nats/char (and bits/char = nats / ln 2); sampled with temperature and top-k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from diffrnn.data.tbptt import TBPTTChunks
from diffrnn.errors import CheckpointError, ConfigError
from diffrnn.generative import sample_method
from diffrnn.modeling import PretrainedMixin
from diffrnn.presets import Size, pick
from diffrnn.rnn.cells import CellType, RecurrentConfig
from diffrnn.rnn.layers import State, recurrent_stack


def detach_state(state: State) -> State:
    """Cut the graph behind a recurrent state (a tensor or an LSTM's (h, c))."""
    if isinstance(state, tuple):
        return (state[0].detach(), state[1].detach())
    return state.detach()


def _state_batch(state: State) -> int:
    return (state[0] if isinstance(state, tuple) else state).shape[1]


@dataclass(frozen=True)
class CharLMConfig(RecurrentConfig):
    """Args (and the recurrent stack's `cell`, `hidden_size`, `num_layers`: `RecurrentConfig`):
    vocab_size: V characters.
    embed_dim: size of the character embedding.
    dropout: dropout between layers and before the output layer.
    """

    vocab_size: int = 65
    embed_dim: int = 64
    dropout: float = 0.0


class CharLM(PretrainedMixin, nn.Module):
    """Recurrent character language model with stateful truncated BPTT."""

    config_class = CharLMConfig

    def __init__(self, config: CharLMConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        self.rnn = recurrent_stack(config, config.embed_dim, config.dropout)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)
        self.carried: State | None = None  # training state between TBPTT batches, never saved

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """tokens (B, T) long, state -> logits (B, T, V), state."""
        h, state = self.rnn(self.embed(tokens), state)  # (B, T, H)
        return self.head(self.drop(h)), state

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        """Mean next-character cross-entropy (nats) of a TBPTT batch.

        In training mode the state left by the previous batch is the initial state (unless
        `batch["reset"]` or the batch size changed); in eval mode every batch starts from zero.

        Args:
            batch: {"tokens": (B, T + 1) long, "reset": () bool}.
        """
        tokens = batch["tokens"]
        state = self.carried if self.training else None
        if state is not None and (bool(batch["reset"]) or _state_batch(state) != tokens.shape[0]):
            state = None
        logits, state = self(tokens[:, :-1], state)  # (B, T, V)
        if self.training:
            self.carried = detach_state(state)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))

    def carried_state(self) -> dict[str, Tensor]:
        """The training state carried into the next batch, for a checkpoint: {"h": (layers, B, H)}
        (and "c" for an LSTM), or {} at the start of a pass."""
        if self.carried is None:
            return {}
        if isinstance(self.carried, tuple):
            return {"h": self.carried[0].clone(), "c": self.carried[1].clone()}
        return {"h": self.carried.clone()}

    def load_carried_state(self, state: dict[str, Tensor]) -> None:
        """Restore `carried_state()` from a checkpoint (a resumed TBPTT run continues its rows).

        Raises:
            CheckpointError: the state is not this model's (names, shapes, dtype) or not finite.
        """
        expected = ("h", "c") if self.config.cell == "lstm" else ("h",)
        parameter = self.head.weight
        tensors = [state.get(name) for name in expected] if isinstance(state, dict) else []
        if isinstance(state, dict) and not state:
            self.carried = None
            return
        if not (
            isinstance(state, dict)
            and sorted(state) == sorted(expected)
            and all(
                isinstance(t, Tensor)
                and t.dtype == parameter.dtype
                and t.dim() == 3
                and t.shape[0] == self.config.num_layers
                and t.shape[2] == self.config.hidden_size
                and t.shape == tensors[0].shape
                and bool(torch.isfinite(t).all())
                for t in tensors
            )
        ):
            raise CheckpointError(
                "the checkpoint's carried recurrent state is not this model's.",
                "delete the checkpoints folder to start afresh.",
            )
        h = tensors[0].to(parameter.device)
        self.carried = (h, tensors[1].to(parameter.device)) if len(tensors) == 2 else h

    @torch.no_grad()
    def nats_per_char(self, tokens: Tensor, batch_size: int = 16, seq_len: int = 256) -> float:
        """Exact mean negative log-likelihood (nats/char) of a held-out stream, state carried.

        The stream is cut into `batch_size` contiguous rows, each scored left to right with its
        state carried across chunks, so every character but the first of each row is predicted
        from its entire row prefix.

        Args:
            tokens: (N,) long.
            batch_size: rows scored in parallel.
            seq_len: chunk length (does not change the result, only speed).
        """
        was_training = self.training
        self.eval()
        total, count, state = 0.0, 0, None
        rows = TBPTTChunks(tokens, batch_size, 1).rows  # (B, N // B)
        for start in range(0, rows.shape[1] - 1, seq_len):
            chunk = rows[:, start : start + seq_len + 1]  # (B, <= T + 1)
            logits, state = self(chunk[:, :-1], state)
            total += float(
                F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1), reduction="sum"
                )
            )
            count += chunk[:, 1:].numel()
        self.train(was_training)
        return total / count

    @torch.no_grad()
    def block_nats_per_char(
        self, blocks: Tensor, first_log_probs: Tensor, batch_size: int = 256
    ) -> float:
        """Exact NLL (nats/char) of independent blocks, the state reset at each block.

        Scores each block as a masked diffusion LM does (no context from outside the block):
        the first character under `first_log_probs` (the model has no start token to predict it
        from), every later one from its prefix inside the block.

        Args:
            blocks: (N, L) long.
            first_log_probs: (V,) log-probabilities of a block's first character, e.g. the
                training text's unigram.
        """
        was_training = self.training
        self.eval()
        total = -float(first_log_probs[blocks[:, 0]].sum())
        for start in range(0, blocks.shape[0], batch_size):
            chunk = blocks[start : start + batch_size]  # (B, L)
            logits, _ = self(chunk[:, :-1])  # (B, L - 1, V)
            total += float(
                F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1), reduction="sum"
                )
            )
        self.train(was_training)
        return total / blocks.numel()

    @sample_method
    def sample(
        self,
        num_samples: int,
        *,
        length: int,
        generator: torch.Generator | None = None,
        prompt: Tensor | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
    ) -> Tensor:
        """Draw `length` characters after a prompt (the generative contract, `diffrnn.generative`).

        Args:
            num_samples: B.
            length: characters to draw.
            generator: seeds every character's draw (None: the global RNG).
            prompt: (P,) or (B, P) long, P >= 1, the text each sample continues (a (P,) prompt
                is shared by all); None: token 0 (the newline of Tiny Shakespeare's sorted
                vocabulary, so every sample starts a line).
            temperature: divides the logits (lower: more conservative).
            top_k: keep only the k most likely characters at each step (None: all).

        Returns:
            (B, length) long, the prompt left out.
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        device = self.head.weight.device
        if prompt is None:
            prompt = torch.zeros(num_samples, 1, dtype=torch.long, device=device)
        elif prompt.ndim == 1:
            prompt = prompt.expand(num_samples, -1)  # (B, P)
        if prompt.ndim != 2 or prompt.shape[0] != num_samples or prompt.shape[1] < 1:
            raise ConfigError(
                f"prompt must be (P,) or ({num_samples}, P) with P >= 1, "
                f"got {tuple(prompt.shape)}.",
                "pass one prompt for all samples or one row per sample.",
            )
        logits, state = self(prompt)  # (B, P, V)
        last = logits[:, -1]  # (B, V)
        drawn = []
        for _ in range(length):
            scaled = last / temperature
            if top_k is not None:
                kth = torch.topk(scaled, min(top_k, scaled.shape[-1]), dim=-1).values[:, -1:]
                scaled = scaled.masked_fill(scaled < kth, -math.inf)
            token = torch.multinomial(F.softmax(scaled, dim=-1), 1, generator=generator)  # (B, 1)
            drawn.append(token)
            h, state = self.rnn.step(self.embed(token[:, 0]), state)  # (B, H)
            last = self.head(h)
        return torch.cat(drawn, dim=1)


def char_lm(size: Size = "full", cell: CellType = "lstm", vocab_size: int = 65) -> CharLMConfig:
    """The character LM presets: "full" is the Tiny Shakespeare model (1 layer of 256 units,
    about 0.3M parameters for an LSTM), "quick" 64 units for the quick suite and tests."""
    presets = {
        "quick": CharLMConfig(vocab_size, embed_dim=16, cell=cell, hidden_size=64),
        "full": CharLMConfig(vocab_size, embed_dim=64, cell=cell, hidden_size=256),
    }
    return pick(size, presets)
