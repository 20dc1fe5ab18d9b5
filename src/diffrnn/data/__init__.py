"""Datasets: registry of vendored files with checksums, loaders per modality, users' own data.

`load(name)` returns the typed object of any registered dataset; the loaders themselves live in
`timeseries`, `text`, `images`, `audio` and `graph` (imported lazily, so the CLI stays fast).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LOADERS = {
    "exchange_rate": "timeseries:load_exchange_rate",
    "exchange_rate_nips": "timeseries:load_exchange_rate_nips",
    "etth1": "timeseries:load_etth1",
    "tinyshakespeare": "text:load_tinyshakespeare",
    "digits": "images:load_digits",
    "fsdd": "audio:load_fsdd",
    "chickenpox": "graph:load_chickenpox",
    "los_loop": "graph:load_los_loop",
    "metr_la_graph": "graph:load_metr_la_graph",
}


def load(name: str) -> Any:
    """The typed object of registered dataset `name` (unknown names raise `ConfigError`)."""
    from diffrnn.data import registry

    registry.get(name)
    module, function = _LOADERS[name].split(":")
    return getattr(import_module(f"diffrnn.data.{module}"), function)()
