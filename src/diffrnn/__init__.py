"""diffrnn: recurrent networks and denoising diffusion, measured side by side on real data.

Heavy dependencies (torch, lightning, diffusers) are imported lazily so that the command-line
tool starts instantly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["__version__", "load"]


def load(path: str | Path) -> Any:
    """Load any saved diffrnn model from a directory holding `config.json` + `model.safetensors`.

    The config names the model class (as `AutoModel.from_pretrained` does); nothing is unpickled.
    """
    from diffrnn.modeling import load as _load

    return _load(path)
