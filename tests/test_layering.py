"""Data flows one way: data -> models -> training -> evaluation -> bench -> use -> cli.

Every `import` in src/diffrnn (top level, inside functions, under TYPE_CHECKING) is parsed with
`ast`; a module may import from its own layer and the layers to its left, never to its right.
The shared leaves (errors, file I/O, paths, plots, save/load, preset sizes) sit below every layer
and import only each other. A new top-level module has to be placed in `LAYER_OF` first.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "diffrnn"

LAYERS = ("leaf", "data", "models", "training", "evaluation", "bench", "use", "cli")
LAYER_OF = {
    # shared leaves: no idea of the field, used by every layer
    "errors": "leaf",
    "fileio": "leaf",
    "paths": "leaf",
    "plots": "leaf",
    "modeling": "leaf",  # save/load of any model (safetensors + JSON config)
    "presets": "leaf",  # preset sizes, picked by every model file
    "generative": "leaf",  # the one sampling contract every generator follows
    "data": "data",
    "rnn": "models",
    "diffusion": "models",
    "hybrid": "models",
    "baselines": "models",  # floors and simple peers, fitted like the models
    "training": "training",
    "evaluation": "evaluation",
    "bench": "bench",
    # the library a user calls: fitted and scored with the bench's recipes
    # the forecaster contract: the specs and recipes the forecasting units and the Forecaster share
    "forecast_specs": "bench",
    "forecast": "use",
    "generate": "use",
    "denoise": "use",
    "spoken_digits": "use",
    "__init__": "use",  # `diffrnn.load` gives back a `Forecaster`
    "cli": "cli",
}

ROOT = ("diffrnn", "diffrnn.__version__")
"""The package itself (its version, its folder): importing it runs nothing of any layer."""
ALLOWED: set[tuple[str, str]] = set()
"""(importing module, imported module) pairs that break the rule and are known."""


def _area(module: str) -> str:
    """'diffrnn.bench.units.audio' -> 'bench'; the package itself ('diffrnn') -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def diffrnn_imports(path: Path) -> list[tuple[str, int]]:
    """Every diffrnn module `path` imports, with its line: (module, line)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "diffrnn":  # `from diffrnn import plots` names a module
                names = [f"diffrnn.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(name, node.lineno) for name in names if name.split(".")[0] == "diffrnn"]
    return found


def violations(src: Path) -> list[str]:
    """'diffrnn.data.x:12 imports diffrnn.bench.y (data -> bench)' for every import to the right,
    and 'diffrnn.z: not placed in a layer' for a module `LAYER_OF` does not know."""
    found = []
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        own = LAYER_OF.get(_area(module))
        if own is None:
            found.append(f"{module}: not placed in a layer")
            continue
        for imported, line in diffrnn_imports(path):
            if imported in ROOT:
                continue
            layer = LAYER_OF.get(_area(imported), "unknown")
            right = layer == "unknown" or LAYERS.index(layer) > LAYERS.index(own)
            if right and (module, imported) not in ALLOWED:
                found.append(f"{module}:{line} imports {imported} ({own} -> {layer})")
    return found


def test_no_module_imports_from_a_layer_to_its_right() -> None:
    assert violations(SRC) == []


def test_the_check_sees_lazy_and_package_imports(tmp_path: Path) -> None:
    package = tmp_path / "diffrnn"
    (package / "data").mkdir(parents=True)
    (package / "data" / "__init__.py").write_text("from diffrnn import plots, cli\n")
    (package / "data" / "loader.py").write_text(
        "from diffrnn.errors import DataError\n\n\n"
        "def load():\n    from diffrnn.bench.units.audio import GENERATORS\n"
    )
    (package / "newthing.py").write_text("import diffrnn.data\n")
    assert violations(package) == [
        "diffrnn.data:1 imports diffrnn.cli (data -> cli)",
        "diffrnn.data.loader:5 imports diffrnn.bench.units.audio (data -> bench)",
        "diffrnn.newthing: not placed in a layer",
    ]
