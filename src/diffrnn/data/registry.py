"""The dataset registry: name -> files (sha256), source, licence, upstream, shape, splits.

Every vendored file is checked against its sha256 before a loader reads it (once per process per
file). The data root is `$DIFFRNN_DATA_DIR` when set, else the repository's `data/` folder.
This module uses the standard library only, so the CLI can list datasets without numpy/pandas.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISBLK, S_ISCHR, S_ISDIR, S_ISFIFO, S_ISREG, S_ISSOCK

from diffrnn.errors import ChecksumError, ConfigError

log = logging.getLogger(__name__)

DATA_DIR_ENV = "DIFFRNN_DATA_DIR"
_REPO_DATA_DIR = Path(__file__).resolve().parents[3] / "data"


@dataclass(frozen=True)
class DataFile:
    """One vendored file: its path relative to the data root and its sha256 (hex)."""

    path: str
    sha256: str


@dataclass(frozen=True)
class Dataset:
    """Registry facts of one dataset.

    `files` are checked on load. `manifest`, when set, is one of `files` holding
    `sha256sum`-style lines (`<hex>  <path relative to the manifest's folder>`) for many more
    files (FSDD's 3,000 recordings): the manifest's own sha256 is pinned here, so its lines are
    trusted once it verifies.
    """

    name: str
    modality: str
    description: str
    shape: str
    licence: str
    source: str  # repository @ commit : path
    url: str  # upstream location of the files
    files: tuple[DataFile, ...]
    splits: str
    manifest: str | None = None
    note: str = ""


def _github(repo: str, commit: str, path: str) -> str:
    return f"https://github.com/{repo}/tree/{commit}/{path}"


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="exchange_rate",
            modality="time series",
            description="Daily exchange rates of 8 currencies against the USD, 1990-2016 "
            "(LSTNet benchmark); comma-separated, no header, no dates.",
            shape="7,588 x 8",
            licence="none stated (LSTNet benchmark data, widely redistributed)",
            source="laiguokun/multivariate-time-series-data@7f402f1:exchange_rate/exchange_rate.txt.gz",
            url=_github(
                "laiguokun/multivariate-time-series-data",
                "7f402f1",
                "exchange_rate/exchange_rate.txt.gz",
            ),
            files=(
                DataFile(
                    "exchange_rate/exchange_rate.txt.gz",
                    "6a4fbb561dcdee43f071a83badbeec9223a335552278348656738b556f1c2e9d",
                ),
            ),
            splits="none (the whole table); exchange_rate_nips holds the published split",
        ),
        Dataset(
            name="exchange_rate_nips",
            modality="time series",
            description="The exchange rates in GluonTS JSON-lines form as used by GP-Copula and "
            "TimeGrad: exactly the first 6,221 rows of exchange_rate; business-day frequency.",
            shape="train 8 x 6,071; test 5 windows x 8 series",
            licence="Apache-2.0 (repository)",
            source="mbohlkeschneider/gluon-ts@442bd4f:datasets/exchange_rate_nips.tar.gz "
            "(branch mv_release)",
            url=_github(
                "mbohlkeschneider/gluon-ts", "442bd4f", "datasets/exchange_rate_nips.tar.gz"
            ),
            files=(
                DataFile(
                    "exchange_rate/exchange_rate_nips.tar.gz",
                    "83f3cf364ae7854b0a74ef9825c47b8314896de820de877fd466cdffd94027d1",
                ),
            ),
            splits="train = rows 0..6,070 (8 x 6,071); test = 5 rolling windows of 30 business "
            "days, series ending at 6,101, 6,131, 6,161, 6,191, 6,221 (prediction length 30, "
            "context 30)",
        ),
        Dataset(
            name="etth1",
            modality="time series",
            description="Electricity Transformer Temperature, hourly, 2016-07..2018-06; columns "
            "date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT.",
            shape="17,420 x 7 (+ date)",
            licence="CC BY-ND 4.0 (redistribute only verbatim; cite Informer, AAAI 2021)",
            source="zhouhaoyi/ETDataset@1d16c8f:ETT-small/ETTh1.csv",
            url=_github("zhouhaoyi/ETDataset", "1d16c8f", "ETT-small/ETTh1.csv"),
            files=(
                DataFile(
                    "etth1/ETTh1.csv",
                    "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
                ),
            ),
            splits="Informer 12/4/4 months: train rows [0, 8640), val [8640 - L, 11520), "
            "test [11520 - L, 14400) with input length L (96); standardised with train mean/std",
        ),
        Dataset(
            name="tinyshakespeare",
            modality="text",
            description="Shakespeare plays as plain text (char-rnn's tiny Shakespeare).",
            shape="1,115,394 chars, 65 symbols",
            licence="public domain text",
            source="karpathy/char-rnn@6f9487a:data/tinyshakespeare/input.txt",
            url=_github("karpathy/char-rnn", "6f9487a", "data/tinyshakespeare/input.txt"),
            files=(
                DataFile(
                    "tinyshakespeare/input.txt",
                    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                ),
            ),
            splits="nanoGPT: first 90% train (1,003,854 chars), last 10% validation (111,540)",
        ),
        Dataset(
            name="digits",
            modality="image",
            description="scikit-learn's 8x8 handwritten digits (UCI optdigits test set), "
            "grey levels 0..16.",
            shape="1,797 x 8 x 8",
            licence="CC BY 4.0 (UCI); ships with scikit-learn (BSD-3-Clause)",
            source="scikit-learn: sklearn.datasets.load_digits",
            url="https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits",
            files=(),
            splits="stratified, seed 0: train 1,257 / val 180 / test 360",
            note="no file vendored: the data ships inside scikit-learn",
        ),
        Dataset(
            name="fsdd",
            modality="audio",
            description="Free Spoken Digit Dataset: 6 speakers x 10 digits x 50 takes, mono "
            "16-bit WAV at 8 kHz, 0.14-2.28 s. Attribute 'Free Spoken Digit Dataset, "
            "Z. Jackson et al.'",
            shape="3,000 recordings",
            licence="CC BY-SA 4.0",
            source="Jakobovski/free-spoken-digit-dataset@26eb9aaf:recordings/",
            url=_github("Jakobovski/free-spoken-digit-dataset", "26eb9aaf", "recordings"),
            files=(
                DataFile(
                    "fsdd/SHA256SUMS.recordings",
                    "04e1baae96c6a26e39c623f2b01d0182ddae627ba0ac02a3cdc17ba2af99fd9b",
                ),
            ),
            manifest="fsdd/SHA256SUMS.recordings",
            splits="official: takes 0-4 of every speaker/digit test (300), takes 5-49 train "
            "(2,700); leave-one-speaker-out for a speaker-independent figure",
        ),
        Dataset(
            name="chickenpox",
            modality="graph time series",
            description="Hungarian chickenpox: 20 counties, 102 directed edges; FX = 521 weeks x "
            "20 z-scored week-over-week changes in cases; the CSV holds the raw weekly counts "
            "(522 x 20).",
            shape="521 x 20; 102 edges",
            licence="MIT (repository); UCI set CC BY 4.0",
            source="benedekrozemberczki/pytorch_geometric_temporal@adefe44:dataset/chickenpox.json"
            "; raw CSV from UCI 'Hungarian Chickenpox Cases'",
            url=_github(
                "benedekrozemberczki/pytorch_geometric_temporal",
                "adefe44",
                "dataset/chickenpox.json",
            ),
            files=(
                DataFile(
                    "graph/chickenpox/chickenpox.json",
                    "724b48cfb274b2ecbb855bdb99b970b5ef9dd3671694fa477435dc1e08293735",
                ),
                DataFile(
                    "graph/chickenpox/hungary_chickenpox.csv",
                    "474d9785dd7ad8c1bf7c0a25a9cc75a5b7d528533b4acb7af783294bb0012721",
                ),
                DataFile(
                    "graph/chickenpox/LICENSE.pytorch_geometric_temporal.txt",
                    "c02b096d9b5cfb4978e493c59647ac1b021ac46d2c3cf3f8e2db51c6800bb482",
                ),
            ),
            splits="lag windows of 4 weeks -> next week (517 snapshots); PyTorch Geometric "
            "Temporal examples: first 20% train (103), rest test (414)",
        ),
        Dataset(
            name="los_loop",
            modality="graph time series",
            description="One week of METR-LA loop-detector speeds (Los Angeles highways), "
            "5-minute steps; header = sensor ids; symmetrised DCRNN sensor graph.",
            shape="2,016 x 207; adjacency 207 x 207",
            licence="MIT (T-GCN-PyTorch sub-project)",
            source="lehaifeng/T-GCN@219a234:data/los_speed.csv, data/los_adj.csv",
            url=_github("lehaifeng/T-GCN", "219a234", "data"),
            files=(
                DataFile(
                    "graph/los_loop/los_speed.csv",
                    "7b732d86ae32b2930595becba28aff39dacbfb2197e250fc0332e1744ce2cbf4",
                ),
                DataFile(
                    "graph/los_loop/los_adj.csv",
                    "7a6eb41e10677992b5af50f5ab187c6c05c5c3a92cb973950cfddbf857361e76",
                ),
                DataFile(
                    "graph/los_loop/LICENSE.T-GCN-PyTorch.txt",
                    "9d3dc106991d2a8c963e4d93ebca37b822b50c0d2b24c832d82002ce243cbe9f",
                ),
            ),
            splits="none fixed here (T-GCN uses the first 80% of steps for training)",
        ),
        Dataset(
            name="metr_la_graph",
            modality="graph",
            description="The DCRNN METR-LA sensor graph (Gaussian kernel of road distance, "
            "thresholded), directed; converted from the original pickle to npz arrays "
            "`adj` (207 x 207 float32) and `sensor_ids`.",
            shape="207 x 207",
            licence="MIT",
            source="liyaguang/DCRNN@602afd9:data/sensor_graph/adj_mx.pkl",
            url=_github("liyaguang/DCRNN", "602afd9", "data/sensor_graph"),
            files=(
                DataFile(
                    "graph/metr_la/adj_mx_la.npz",
                    "baffc8a810ccf9f8f5d2731aa3bc97ca9ca2851f0ef25de11310df12cf3ddd17",
                ),
                DataFile(
                    "graph/metr_la/graph_sensor_ids.txt",
                    "3ba026caa2e6263ab0ea54b0fa1b125dbfa7216544cd05313b555e826292b990",
                ),
                DataFile(
                    "graph/metr_la/graph_sensor_locations.csv",
                    "eb8ea96e07358b45d0e4ba3b89c2673fa20c54af50150249e627389e749ade6f",
                ),
                DataFile(
                    "graph/metr_la/LICENSE.DCRNN.txt",
                    "29414ec274aafdfde2e0e5f5e55f136fcd3d5e8514ab54f1809298eeb1fd5a43",
                ),
            ),
            splits="none (a graph, no series)",
        ),
    )
}

_verified: set[tuple[str, str, int, int]] = set()  # (path, sha256, mtime_ns, size) seen good


def data_root() -> Path:
    """The vendored files' folder: `$DIFFRNN_DATA_DIR` if set, else the repo's `data/`."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else _REPO_DATA_DIR


def get(name: str) -> Dataset:
    """The registry entry of `name`; an unknown name raises `ConfigError` listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown dataset {name!r}.", f"Use one of: {', '.join(DATASETS)}."
        ) from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fix(rel: str, dataset: Dataset) -> str:
    return (
        f"restore the file verbatim (`git checkout -- data/{rel}` in the repository, or download "
        f"it from {dataset.url}), or point ${DATA_DIR_ENV} at a folder holding the vendored files "
        f"(now {data_root()})."
    )


def _check(file: DataFile, dataset: Dataset) -> Path:
    path = data_root() / file.path
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ChecksumError(
            f"Data file {path} of dataset {dataset.name!r} is missing "
            f"(expected sha256 {file.sha256}).",
            _fix(file.path, dataset),
        ) from None
    if not S_ISREG(stat.st_mode):  # a FIFO or /dev/zero would hang the hash, a folder fail it
        raise ChecksumError(
            f"Data file {path} of dataset {dataset.name!r} is not a regular file "
            f"({_file_kind(stat.st_mode)}).",
            _fix(file.path, dataset),
        )
    key = (str(path.resolve()), file.sha256, stat.st_mtime_ns, stat.st_size)
    if key in _verified:
        return path
    actual = _sha256(path)
    if actual != file.sha256:
        raise ChecksumError(
            f"Data file {path} of dataset {dataset.name!r} has sha256 {actual}, expected "
            f"{file.sha256} (altered or truncated).",
            _fix(file.path, dataset),
        )
    _verified.add(key)
    return path


def _file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    kinds = [(S_ISDIR, "a directory"), (S_ISFIFO, "a FIFO"), (S_ISCHR, "a character device")]
    kinds += [(S_ISBLK, "a block device"), (S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "not a plain file")


def _manifest_entries(dataset: Dataset) -> tuple[DataFile, ...]:
    assert dataset.manifest is not None
    manifest = next(f for f in dataset.files if f.path == dataset.manifest)
    text = _check(manifest, dataset).read_text(encoding="ascii")
    folder = Path(dataset.manifest).parent
    entries = []
    for line in text.splitlines():
        sha, rel = line.split(maxsplit=1)
        entries.append(DataFile((folder / rel.lstrip("*")).as_posix(), sha))
    return tuple(entries)


def files(name: str) -> tuple[DataFile, ...]:
    """Every file of dataset `name` that is checked: its own files plus its manifest's lines."""
    dataset = get(name)
    listed = _manifest_entries(dataset) if dataset.manifest else ()
    return dataset.files + listed


def path(name: str, rel: str) -> Path:
    """The checked path of file `rel` (relative to the data root) of dataset `name`.

    Raises:
        ChecksumError: the file is missing or its sha256 differs from the registry's.
    """
    dataset = get(name)
    for file in files(name):
        if file.path == rel:
            return _check(file, dataset)
    raise ConfigError(
        f"Dataset {name!r} has no file {rel!r}.",
        f"Use one of: {', '.join(f.path for f in dataset.files)}.",
    )


def verify(name: str) -> list[Path]:
    """Check the sha256 of every file of dataset `name`; return their paths.

    Raises:
        ChecksumError: naming the first missing or altered file and its expected sha256.
    """
    dataset = get(name)
    checked = [_check(file, dataset) for file in files(name)]
    log.info("dataset %s: %d files verified", name, len(checked))
    return checked


def verify_all() -> dict[str, int]:
    """Check every dataset's files; return the number of files checked per dataset."""
    return {name: len(verify(name)) for name in DATASETS}


def size_on_disk(name: str) -> int:
    """Total bytes of the dataset's files under the data root (0 for missing files)."""
    root = data_root()
    return sum((root / f.path).stat().st_size for f in files(name) if (root / f.path).exists())
