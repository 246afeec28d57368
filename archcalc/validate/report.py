"""The validation table as Markdown, and ``reports/`` (validation.md, memory timelines,
design-space figures, index.md)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import archcalc
from archcalc.io import atomic_write, save_figure
from archcalc.validate.core import DEFAULT_SPECS, MATCH, NOT_COMPUTED, failures, summary

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ").strip()


def to_markdown(frame: "pd.DataFrame") -> str:
    """The validation table as Markdown, grouped by table, with the status counts first."""
    lines = ["| status | rows |", "|---|---|"]
    lines += [f"| {status} | {count} |" for status, count in summary(frame).items()]
    # the rows that are not plain matches, in one place, before the full tables
    notable = frame[~frame["status"].isin((MATCH, NOT_COMPUTED))]
    lines += ["", "## Everything that is not a plain match", "",
              "| id | published | computed | rule | convention | status |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(_cell(v) for v in (r.id, f"{r.published} {r.unit}", r.computed, r.rule, r.convention,
                                                   r.status)) + " |" for r in notable.itertuples()]
    columns = ("row", "quantity", "published", "unit", "computed", "rule", "convention", "status", "explanation")
    for table, group in frame.groupby("table", sort=False):
        sources = sorted(set(group["source"]))
        lines += ["", f"## {table}", "", "Source: " + "; ".join(sources[:2]) + (" (and others)" if len(sources) > 2 else ""),
                  "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for _, row in group.iterrows():
            cells = [_cell(row[c]) for c in columns]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- reports/
@dataclass
class ReportResult:
    """What :func:`report` wrote, and what it could not (with the reason)."""

    written: list[Path]
    skipped: list[str]
    failures: int


def _optional(module: str, *names: str):
    """The named functions of an analysis module that may not have landed yet (else None)."""
    import importlib

    try:
        loaded = importlib.import_module(module)
    except ImportError:
        return None
    found = [getattr(loaded, n, None) for n in names]
    return None if any(f is None for f in found) else found


def memory_timelines(out: Path, specs: Path) -> tuple[list[Path], list[str]]:
    """Memory timelines (archcalc.analysis.memory) for the MobileNetV2 and V1 classifiers."""
    functions = _optional("archcalc.analysis.memory", "analyze_memory", "timeline_figure")
    if functions is None:
        return [], ["memory timelines: archcalc.analysis.memory.analyze_memory/timeline_figure not available"]
    analyze, figure = functions
    written = []
    for spec in ("mnv2.yaml", "mnv1.yaml"):
        model = archcalc.load(specs / spec)
        path = out / f"memory_timeline_{Path(spec).stem}.png"
        save_figure(figure(analyze(model)), path, dpi=110)
        written.append(path)
    return written, []


def design_space_figures(out: Path, specs: Path) -> tuple[list[Path], list[str]]:
    """The design-space figures, made by the same library calls as ``archcalc plot``:
    Figure 5 (accuracy vs MAdds, with the labelled fitted prediction), the same against
    params and peak memory, and the iso-MAdds / iso-memory contour."""
    functions = _optional("archcalc.plots", "spec_frontier", "spec_contour", "save")
    if functions is None:
        return [], ["design-space figures: archcalc.plots not available"]
    spec_frontier, spec_contour, save = functions
    mnv2 = specs / "mnv2.yaml"
    figures = {
        "figure5.png": lambda: spec_frontier(mnv2, classes=1001, fit=True),
        "frontier_params.png": lambda: spec_frontier(mnv2, classes=1001, x="params"),
        "frontier_memory.png": lambda: spec_frontier(mnv2, classes=1001, x="memory"),
        "contour.png": lambda: spec_contour(mnv2, classes=1001),
    }
    written = []
    for name, make in figures.items():
        written += [Path(p) for p in save(make(), str(out / name))]
    return written, []


def report(out_dir: str | Path = "reports", specs: str | Path | None = None) -> ReportResult:
    """Regenerate ``reports/``: validation.md, the memory timelines and the design-space figures
    (those whose analysis has landed), and an index.md linking them. Returns what was written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs = Path(specs) if specs else DEFAULT_SPECS
    from archcalc.validate import validate

    frame = validate(specs)
    failing = failures(frame)
    validation = out / "validation.md"
    atomic_write(
        validation,
        "# archcalc validation against the published tables\n\n"
        "Generated by `archcalc report` (library: `archcalc.validate.validate()`); do not edit by hand.\n"
        "Rules, conventions and statuses are defined in `archcalc/validate/core.py` and docs/validation.md.\n"
        f"Rows failing (expected to match but do not, or stale explanations): **{len(failing)}**.\n\n"
        + to_markdown(frame))
    written, skipped = [validation], []
    for produce in (lambda: memory_timelines(out, specs), lambda: design_space_figures(out, specs)):
        files, missing = produce()
        written += files
        skipped += missing
    index = out / "index.md"
    lines = ["# archcalc reports", "", "Regenerate with `archcalc report`.", ""]
    lines += [f"- [{p.name}]({p.name})" for p in written]
    # files other tools put in reports/ (e.g. `archcalc plot`), linked too so the index is complete
    others = sorted(p for p in out.iterdir() if p.is_file() and p not in written and p != index)
    if others:
        lines += ["", "Also in this folder (written by other commands, not regenerated here):", ""]
        lines += [f"- [{p.name}]({p.name})" for p in others]
    lines += ["", "Not generated:" if skipped else ""] + [f"- {s}" for s in skipped]
    atomic_write(index, "\n".join(lines).rstrip() + "\n")
    return ReportResult(written=[*written, index], skipped=skipped, failures=len(failing))
