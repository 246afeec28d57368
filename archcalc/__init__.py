"""archcalc: cost neural architectures (MAdds, parameters, memory) from declarative specs.

>>> import archcalc
>>> from pathlib import Path
>>> spec = Path(archcalc.__file__).parents[1] / "specs" / "mnv2.yaml"
>>> archcalc.load(spec, classes=1000).totals()["madds"]  # torchvision's 300,774,272 (1000 classes)
300774272
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archcalc.analysis.convention import Convention
    from archcalc.errors import SpecError
    from archcalc.model import Model

__version__ = "0.1.0"

# Imported on first use (PEP 562), so that `import archcalc.errors` or `archcalc --version`
# does not load the op registry and the compiler's model.
_LAZY = {"Convention": "archcalc.analysis.convention", "SpecError": "archcalc.errors", "Model": "archcalc.model"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'archcalc' has no attribute {name!r}")


def load(path: str | Path, *, width: float | None = None, resolution: int | None = None,
         classes: int | None = None, depth: float | None = None) -> Model:
    """Load a YAML spec, apply overrides (``depth`` is the depth multiplier), and compile it to the IR.

    Raises :class:`SpecError` (one line naming file, line and spec path) on bad input.
    """
    from archcalc.compiler import compile_spec
    from archcalc.spec.loader import load_spec

    return compile_spec(load_spec(path, width=width, resolution=resolution, classes=classes, depth=depth))


def materialize(model: Model, *args, **kwargs):
    """The model as a ``torch.nn.Module`` (see :func:`archcalc.pytorch.materialize`).

    torch is imported here, on demand, so loading and costing never need it.
    """
    from archcalc.pytorch import materialize as build

    return build(model, *args, **kwargs)


__all__ = ["Convention", "Model", "SpecError", "load", "materialize", "__version__"]
