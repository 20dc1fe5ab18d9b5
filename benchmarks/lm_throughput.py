"""Training throughput of the character LSTM LM: `diffrnn.training.fit` vs a bare PyTorch loop.

Same model (CharLM, 1 x 256 LSTM, 65 characters), same TBPTT batches (32 x 128), same optimiser
(AdamW, lr 3e-3, gradient clipping at 1.0), same number of steps. The two are run alternately,
`--repeats` times each, and the median tokens/s of each is compared (the framework's cost is
everything Lightning adds, its start-up included). Target: fit >= 0.9x the bare loop.

    PYTHONPATH=src python benchmarks/lm_throughput.py --steps 150 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.data import DataLoader

from diffrnn.data.tbptt import TBPTTChunks
from diffrnn.data.text import load_tinyshakespeare
from diffrnn.rnn.char_lm import CharLM, CharLMConfig
from diffrnn.training import OptimConfig, TrainConfig, fit

BATCH, SEQ_LEN, HIDDEN, LR, CLIP = 32, 128, 256, 3e-3, 1.0


def _model(vocab_size: int) -> CharLM:
    torch.manual_seed(0)
    return CharLM(CharLMConfig(vocab_size=vocab_size, cell="lstm", hidden_size=HIDDEN))


def bare_loop(chunks: TBPTTChunks, vocab_size: int, steps: int) -> float:
    """Tokens/s of a plain loop: zero_grad, loss, backward, clip, step."""
    model = _model(vocab_size).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    start = time.perf_counter()
    done = 0
    while done < steps:
        for batch in chunks:
            optimiser.zero_grad(set_to_none=True)
            loss = model.loss(batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            optimiser.step()
            done += 1
            if done == steps:
                break
    return steps * BATCH * SEQ_LEN / (time.perf_counter() - start)


def through_fit(chunks: TBPTTChunks, vocab_size: int, steps: int) -> float:
    """Tokens/s of `diffrnn.training.fit` (Lightning) over the same batches."""
    model = _model(vocab_size)
    config = TrainConfig(max_steps=steps, grad_clip=CLIP, optim=OptimConfig(lr=LR))
    start = time.perf_counter()
    result = fit(model, DataLoader(chunks, batch_size=None), config=config)
    assert result.steps == steps
    return steps * BATCH * SEQ_LEN / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    corpus = load_tinyshakespeare()
    chunks = TBPTTChunks(torch.from_numpy(corpus.train_ids), BATCH, SEQ_LEN)
    bare_loop(chunks, corpus.vocab_size, 5)  # warm-up
    bare, framed = [], []
    for _ in range(args.repeats):
        bare.append(bare_loop(chunks, corpus.vocab_size, args.steps))
        framed.append(through_fit(chunks, corpus.vocab_size, args.steps))
    ratio = statistics.median(framed) / statistics.median(bare)
    print(f"bare loop tokens/s: {[round(b) for b in bare]}, median {statistics.median(bare):.0f}")
    print(
        f"fit tokens/s:       {[round(f) for f in framed]}, median {statistics.median(framed):.0f}"
    )
    print(
        f"fit / bare = {ratio:.3f} (target >= 0.9); {args.steps} steps of {BATCH} x {SEQ_LEN}, "
        f"{args.threads} thread(s)"
    )


if __name__ == "__main__":
    main()
