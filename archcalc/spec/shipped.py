"""The specs shipped with archcalc, found by folder or by bare name (``archcalc cost mnv2``).

Below both the YAML reader (which names them when a file is missing) and the spec loader
(which resolves a bare name): it imports neither, so the layers depend one way.
"""
from __future__ import annotations

from pathlib import Path


def shipped_specs_dir() -> Path:
    """The specs shipped with archcalc: ``archcalc/specs`` in an installed wheel (setup.py maps
    the repository's ``specs/`` there), else the repository's own ``specs/`` (a clone or an
    editable install)."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "specs"
    return installed if installed.is_dir() else package.parent / "specs"


def shipped_spec_names() -> list[str]:
    return sorted({p.stem for p in shipped_specs_dir().rglob("*.yaml")})


def resolve_spec_path(path: str | Path) -> Path:
    """``path`` itself when it exists; otherwise a bare name (``mnv2``, ``mnv2_1.4``,
    ``mnv2.yaml``) is looked up among the shipped specs (the top folder first, then its
    subfolders such as ``zoo/``). Anything else is returned unchanged and fails, with its
    name, where it is read."""
    path = Path(path)
    if path.parent != Path(".") or path.exists():
        return path
    root = shipped_specs_dir()
    for candidate in (path.name, f"{path.name}.yaml"):
        if (root / candidate).is_file():
            return root / candidate
        nested = sorted(p for p in root.rglob(candidate) if p.is_file())
        if nested:
            return nested[0]
    return path
