"""Imported once by the runner's fork server, so every unit process starts warm.

Importing torch, Lightning, diffusers and the library costs seconds; the fork server pays it once
and each unit's process is forked from it with everything loaded (shared, copy-on-write). So a
unit's start costs milliseconds, and the memory a unit adds beyond its start is its own (data,
model, activations), the same for every family. A module that fails to import is skipped here
(its units fail on their own, with the error) and never takes the server down. The fork server
dies with the process that started it (`lifeline.die_with_parent`).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

import torch  # noqa: F401

import diffrnn
from diffrnn.bench.lifeline import die_with_parent
from diffrnn.bench.registry import load_registry

die_with_parent()

logger = logging.getLogger(__name__)
_NOT_PRELOADED = ("diffrnn.cli", "diffrnn.bench.")
"""The command line is not needed by units; `diffrnn.bench` units are loaded by the registry."""

for info in pkgutil.walk_packages(diffrnn.__path__, prefix="diffrnn."):
    if info.name.startswith(_NOT_PRELOADED) or info.name == "diffrnn.__main__":
        continue
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        logger.warning("preload: %s did not import: %r", info.name, exc)
load_registry()
