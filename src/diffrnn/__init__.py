"""diffrnn: recurrent networks and denoising diffusion, measured side by side on real data.

Heavy dependencies (torch, lightning, diffusers) are imported lazily so that the command-line
tool starts instantly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Forecaster", "__version__", "load"]


def load(path: str | Path) -> Any:
    """Load any saved diffrnn model from a directory holding `config.json` + `model.safetensors`.

    The config names the model class (as `AutoModel.from_pretrained` does); nothing is unpickled.
    A folder written by `Forecaster.save` gives back the `Forecaster`.
    """
    from diffrnn.forecast import CLASS_NAME, Forecaster
    from diffrnn.modeling import load as _load
    from diffrnn.modeling import read_config

    if read_config(path)["class"] == CLASS_NAME:
        return Forecaster.load(path)
    return _load(path)


def __getattr__(name: str) -> Any:
    """`diffrnn.Forecaster`, imported on first use (pandas and torch stay off `import diffrnn`)."""
    if name == "Forecaster":
        from diffrnn.forecast import Forecaster

        return Forecaster
    raise AttributeError(f"module 'diffrnn' has no attribute {name!r}")
