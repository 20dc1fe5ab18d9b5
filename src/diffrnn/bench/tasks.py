"""The tasks of the comparison harness as Python data (names are a public contract).

Anchors are published numbers, or peers measured on this kind of machine on the same protocol
(see the issues and BENCHMARKS.md); they are shown beside ours, never mixed into our results.
"""

from __future__ import annotations

from diffrnn.bench.registry import Anchor, Task, define_task

_TIMEGRAD = "Rasul et al. 2021, TimeGrad, Table 2"
_PEER = "measured here on the same protocol (see BENCHMARKS.md)"

define_task(
    Task(
        name="forecast-exchange",
        dataset="exchange_rate_nips",
        description="8 exchange rates, 5 rolling test windows of 30 business days, context 30, "
        "100 sample paths; CRPS and CRPS-sum as GluonTS's MultivariateEvaluator computes them.",
        metrics=("crps", "crps_sum", "mse"),
        primary_metric="crps_sum",
        anchors=(
            Anchor("TimeGrad (paper)", "crps_sum", "0.006 +- 0.001", _TIMEGRAD),
            Anchor("Transformer-MAF (paper)", "crps_sum", 0.005, _TIMEGRAD),
            Anchor("GP-Copula (paper)", "crps_sum", 0.007, _TIMEGRAD),
            Anchor("VAR (paper)", "crps_sum", 0.005, _TIMEGRAD),
            Anchor("pytorch-ts TimeGrad, 3 seeds", "crps_sum", "0.0076 +- 0.0003", _PEER),
            Anchor("GluonTS DeepAR, 3 seeds", "crps_sum", "0.0058-0.0092", _PEER),
            Anchor("GluonTS DeepAR, 3 seeds", "crps", "0.0079-0.0103", _PEER),
        ),
    )
)
define_task(
    Task(
        name="forecast-etth1",
        dataset="etth1",
        description="ETTh1, Informer protocol: 12/4/4-month split, standardised on train, "
        "input 96, horizon 96 (full suite: 96/192/336/720), MSE/MAE on the test windows.",
        metrics=("mse", "mae", "crps"),
        primary_metric="mse",
    )
)
define_task(
    Task(
        name="lm-shakespeare",
        dataset="tinyshakespeare",
        description="Character language model on Tiny Shakespeare, nanoGPT's 90/10 split; "
        "validation nats/char and bits/char; chars/s when sampling.",
        metrics=("nats_per_char", "bits_per_char"),
        primary_metric="nats_per_char",
        anchors=(
            Anchor("smoothed 5-gram", "nats_per_char", 1.76, "shared/data/README.md"),
            Anchor("our Kneser-Ney 5-gram, measured", "nats_per_char", 1.579, _PEER),
            Anchor("LSTM 1x256, 4 min on 1 thread", "nats_per_char", 1.647, _PEER),
            Anchor("nanoGPT CPU recipe", "nats_per_char", 1.88, "karpathy/nanoGPT README"),
        ),
    )
)
define_task(
    Task(
        name="image-digits",
        dataset="digits",
        description="Unconditional synthesis of scikit-learn's 8x8 digits; Frechet distance on "
        "the penultimate features of an in-project digits classifier (with the real-vs-real "
        "floor), bits/dim where the model has a likelihood, sampling time per image.",
        metrics=("fd", "bits_per_dim"),
        primary_metric="fd",
    )
)
define_task(
    Task(
        name="speech-fsdd",
        dataset="fsdd",
        description="Spoken-digit recognition on FSDD, official split (takes 0-4 test).",
        metrics=("accuracy",),
        primary_metric="accuracy",
        lower_is_better=False,
    )
)
define_task(
    Task(
        name="graph-chickenpox",
        dataset="chickenpox",
        description="Hungarian chickenpox, 20 counties, 4 weekly lags -> next week, "
        "first 20% train (PyTorch Geometric Temporal protocol); test MSE on z-scored FX.",
        metrics=("mse",),
        primary_metric="mse",
        anchors=(
            Anchor("last value", "mse", 3.0, "shared/data/README.md"),
            Anchor("shared linear AR(4)", "mse", 0.70, "shared/data/README.md"),
        ),
    )
)
define_task(
    Task(
        name="graph-losloop",
        dataset="los_loop",
        description="Los Angeles loop speeds (207 sensors, 5-min steps), 12 steps in -> 12 out; "
        "MAE/RMSE/MAPE at horizons 3/6/12 (15/30/60 minutes).",
        metrics=("mae", "rmse", "mape"),
        primary_metric="mae",
    )
)
define_task(
    Task(
        name="long-adding",
        dataset="synthetic:adding",
        description="Adding problem at several lengths T; solved means MSE < 0.01 (the "
        "memoryless baseline scores 1/6).",
        metrics=("mse", "passed"),
        primary_metric="mse",
    )
)
define_task(
    Task(
        name="long-copy",
        dataset="synthetic:copy",
        description="Copy memory at several lengths T; solved means at least 90% of the "
        "remembered symbols exact (accuracy; chance 1/8); memoryless baseline cross-entropy "
        "10 ln 8 / (T + 20).",
        metrics=("cross_entropy", "accuracy", "passed"),
        primary_metric="cross_entropy",
    )
)
define_task(
    Task(
        name="generate-etth1",
        dataset="etth1",
        description="Unconditional ETTh1 windows (length 24, 7 channels), TimeGAN protocol: "
        "discriminative score |acc - 0.5| and predictive score (train-on-synthetic MAE).",
        metrics=("discriminative_score", "predictive_score"),
        primary_metric="discriminative_score",
    )
)
define_task(
    Task(
        name="denoise-digits",
        dataset="digits",
        description="Remove Gaussian noise (sigma 0.1/0.3/0.5 of the data range) from held-out "
        "digits; PSNR in dB.",
        metrics=("psnr",),
        primary_metric="psnr",
        lower_is_better=False,
    )
)
define_task(
    Task(
        name="denoise-etth1",
        dataset="etth1",
        description="Remove Gaussian noise (sigma 0.1/0.3/0.5 of the data range) from ETTh1 "
        "test windows (24 steps x 7 channels, min-max scaled on the training split, "
        "non-overlapping); PSNR in dB, data range 1.",
        metrics=("psnr",),
        primary_metric="psnr",
        lower_is_better=False,
    )
)
define_task(
    Task(
        name="audio-fsdd",
        dataset="fsdd",
        description="Class-conditional spoken-digit synthesis (log-mel + Griffin-Lim), judged by "
        "the in-project recogniser: accuracy on samples, Frechet distance, inception-style score.",
        metrics=("accuracy", "fd", "inception_score"),
        primary_metric="accuracy",
        lower_is_better=False,
        anchors=(
            Anchor("DiffWave on SC09 (paper)", "accuracy", 0.912, "Kong et al. 2021, Table 2"),
            Anchor("WaveNet on SC09 (paper)", "accuracy", 0.607, "Kong et al. 2021, Table 2"),
        ),
    )
)
define_task(
    Task(
        name="forecast-user",
        dataset="user:--data",
        description="The user's own series (`diffrnn compare --data FILE --horizon H`): "
        "rolling-origin backtest over the last windows of every series, trained on what comes "
        "before the first origin; CRPS and CRPS-sum (normalised as GluonTS does, by the sum "
        "of |target|) from 100 sample paths, MSE and MAE.",
        metrics=("crps", "crps_sum", "mse", "mae"),
        primary_metric="crps",
        needs_user_data=True,
    )
)
define_task(
    Task(
        name="lm-user",
        dataset="user:--data",
        description="The user's own text (`diffrnn compare --data TEXT`): a character (or "
        "byte) language model, contiguous 90/10 split; validation nats/char and bits/char, exact "
        "for the n-gram and the RNNs, the 1000-step bound for MDLM; samples from each model.",
        metrics=("nats_per_char", "bits_per_char"),
        primary_metric="nats_per_char",
        needs_user_data=True,
    )
)
define_task(
    Task(
        name="graph-user",
        dataset="user:--data",
        description="The user's own graph (`diffrnn compare --data TABLE --graph EDGES`): the "
        "nodes' series, standardised per node on the training rows, context steps in -> horizon "
        "out, the first 70% of the windows train; test MSE and MAE over every node and step.",
        metrics=("mse", "mae"),
        primary_metric="mse",
        needs_user_data=True,
    )
)
define_task(
    Task(
        name="image-user",
        dataset="user:--data",
        description="The user's own images (`diffrnn compare --data FOLDER`): resized to a "
        "stated size, split 80/10/10 within each class; Frechet distance of samples to the "
        "held-out images in the features of a judge trained on the user's training split (with "
        "the real-vs-real floor), bits/dim over the 256 levels, memorisation share, samples.",
        metrics=("fd", "bits_per_dim"),
        primary_metric="fd",
        needs_user_data=True,
    )
)
define_task(
    Task(
        name="speech-user",
        dataset="user:--data",
        description="The user's own recordings (`diffrnn compare --data FOLDER`, one subfolder per "
        "class): mono at 8 kHz, log-mel frames cut or padded to 1 s; test accuracy on held-out "
        "file-name prefixes (speakers) when the names carry them, else 20% of each class.",
        metrics=("accuracy",),
        primary_metric="accuracy",
        lower_is_better=False,
        needs_user_data=True,
    )
)
define_task(
    Task(
        name="audio-user",
        dataset="user:--data",
        description="The user's own recordings (`diffrnn compare --data FOLDER`, one subfolder per "
        "class), generated as audio-fsdd generates: 64-frame log-mel spectrograms of the training "
        "split (speech-user's split), class-conditional generators voiced by Griffin-Lim, judged "
        "by a recogniser of the user's classes trained on that split: accuracy on the samples, "
        "Frechet distance to the test recordings in its features (with the real-vs-real floor), "
        "inception-style score; WAVs of every class.",
        metrics=("accuracy", "fd", "inception_score", "fd_real_vs_real"),
        primary_metric="accuracy",
        lower_is_better=False,
        needs_user_data=True,
    )
)
define_task(
    Task(
        name="generate-user",
        dataset="user:--data",
        description="The user's own series as windows (`diffrnn compare --data FILE --uses "
        "generate`): 24 steps x every series, min-max scaled per series; the generators train on "
        "the first 60% of the rows; TimeGAN's discriminative and predictive scores against "
        "windows of the last 40%.",
        metrics=("discriminative_score", "predictive_score"),
        primary_metric="discriminative_score",
        needs_user_data=True,
    )
)
define_task(
    Task(
        name="denoise-user",
        dataset="user:--data",
        description="The user's own series as windows (`diffrnn compare --data FILE --uses "
        "denoise`): Gaussian noise (sigma 0.1/0.3/0.5 of the range) on the non-overlapping "
        "windows of the last 20% of the rows (24 steps x every series, min-max scaled per "
        "series; the denoisers train on the first 60%); PSNR in dB, data range 1.",
        metrics=("psnr",),
        primary_metric="psnr",
        lower_is_better=False,
        needs_user_data=True,
    )
)
