"""Design-space figures: data in, a matplotlib ``Figure`` out (Agg canvas, no pyplot state).

Every artist carries a ``gid`` naming its role (``width-line``, ``resolution-line``,
``published``, ``cost-only``, ``pareto``, ``reference``, ``prediction``, ``checkpoint``,
``iso-madds``, ``iso-memory``) so notebooks and tests can read a figure back.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

X_AXES = {
    "madds": ("madds", 1e6, "MAdds (millions, log scale)"),
    "params": ("params_without_bn", 1e6, "parameters without BN (millions, log scale)"),
    "memory": ("peak_bytes", 1e3, "peak activation memory (kB, log scale)"),
    "latency": ("latency_ms", 1.0, "measured latency (ms, log scale)"),
}
# Table 4 of the paper gives MAdds and params only, so reference points exist for those axes.
REFERENCE_COLUMN = {"madds": "madds_millions", "params": "params_millions"}


def _new_figure(size: tuple[float, float] = (9.0, 6.5)) -> "Figure":
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def pareto_front(costs: Sequence[float], accuracies: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats (cheaper-or-equal and more accurate),
    in increasing cost. Ties in cost keep the more accurate point only."""
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -accuracies[i]))
    front, best = [], -math.inf
    for i in order:
        if accuracies[i] > best:
            front.append(i)
            best = accuracies[i]
    return front


def fit_accuracy(frame: "pd.DataFrame") -> Any:
    """A least-squares model of top-1 in ``(ln α, ln ρ)`` (with squares and the product)
    fitted to the rows whose accuracy is published; returns ``predict(widths, resolutions)``
    and the fit's RMS residual (percentage points). A prediction, never a measurement."""
    import numpy as np

    known = frame.dropna(subset=["top1"])
    if len(known) < 6:
        raise ValueError(f"an accuracy fit needs at least 6 published points, got {len(known)}")

    def design(w: Any, r: Any) -> Any:
        a, p = np.log(np.asarray(w, dtype=float)), np.log(np.asarray(r, dtype=float))
        return np.column_stack([np.ones_like(a), a, p, a * a, p * p, a * p])

    y = known["top1"].astype(float).to_numpy()
    coef, *_ = np.linalg.lstsq(design(known["width"], known["resolution"]), y, rcond=None)
    rms = float(np.sqrt(np.mean((design(known["width"], known["resolution"]) @ coef - y) ** 2)))
    return (lambda w, r: design(w, r) @ coef), rms


REFERENCE_MARKERS = {"mobilenet_v1": "s", "shufflenet": "^", "nasnet_a": "D", "mobilenet_v2": "*"}
RESOLUTION_DASHES = [(0, (1, 1.5)), (0, (4, 1.5)), (0, (1, 1.5, 4, 1.5)), (0, (6, 2)), (0, (2, 3))]


def frontier_figure(frame: "pd.DataFrame", *, x: str = "madds", references: "pd.DataFrame | None" = None,
                    fit: bool = False, title: str | None = None) -> "Figure":
    """Accuracy against cost, one line per width and one per resolution, the Pareto
    frontier highlighted, other networks as reference points (the paper's Table 4).

    ``frame`` is a :func:`archcalc.analysis.sweep.sweep` table. Rows without a published
    ``top1`` are drawn as cost-only ticks along the bottom; with ``fit`` they also get a
    fitted accuracy, drawn hollow and labelled as a prediction. Rows whose latency
    measurement is flagged (``latency_flagged``: too noisy) are marked and left out of the
    frontier, and the legend says so. Every name is in the legend, outside the axes, so no
    label can cover a point or another label. A frame with no published accuracy is an
    error: there would be nothing to plot but an empty accuracy axis.
    """
    import numpy as np
    from matplotlib.transforms import blended_transform_factory

    if x not in X_AXES:
        raise ValueError(f"unknown x axis {x!r} (known: {', '.join(X_AXES)})")
    column, scale, label = X_AXES[x]
    if column not in frame.columns:
        raise ValueError(f"the sweep has no {column!r} column; rerun it with --{x}")
    if "top1" not in frame.columns or frame["top1"].notna().sum() == 0:
        network = frame.attrs.get("network", "this network")
        raise ValueError(f"no published accuracy for {network} at any of these (width, resolution) points: an accuracy "
                         f"plot needs accuracy data (--accuracy CSV with network, width, resolution, top1 columns)")
    data = frame.assign(cost=frame[column].astype(float) / scale)
    flagged = data["latency_flagged"].fillna(False).astype(bool) if "latency_flagged" in data else \
        np.zeros(len(data), dtype=bool)
    known = data[data["top1"].notna()].assign(top1=lambda d: d["top1"].astype(float))
    unknown = data[data["top1"].isna()]

    figure = _new_figure((11.0, 6.5))
    ax = figure.add_subplot()
    ax.set_xscale("log")
    widths = sorted(data["width"].unique())
    colors = _colors(len(widths))
    for color, width in zip(colors, widths):
        rows = known[known["width"] == width].sort_values("cost")
        if len(rows):
            ax.plot(rows["cost"], rows["top1"], "-o", color=color, ms=5, lw=1.5, gid="width-line",
                    label=f"width {width:g}")
    resolutions = sorted(data["resolution"].unique())
    for k, resolution in enumerate(resolutions):
        rows = known[known["resolution"] == resolution].sort_values("cost")
        if len(rows) > 1:
            ax.plot(rows["cost"], rows["top1"], linestyle=RESOLUTION_DASHES[k % len(RESOLUTION_DASHES)],
                    color=str(0.65 - 0.5 * k / max(1, len(resolutions) - 1)), lw=1.1, gid="resolution-line",
                    label=f"resolution {resolution}")
    ax.scatter(known["cost"], known["top1"], s=14, color="black", zorder=3, gid="published",
               label=f"published checkpoints ({len(known)})")
    trusted = known[~flagged[known.index]]
    front = pareto_front(trusted["cost"].tolist(), trusted["top1"].tolist())
    pts = trusted.iloc[front]
    ax.plot(pts["cost"], pts["top1"], "-", color="crimson", lw=3.0, alpha=0.55, zorder=2, gid="pareto",
            label=f"Pareto frontier ({len(front)} points)")
    noisy = known[flagged[known.index]]
    if len(noisy):
        ax.scatter(noisy["cost"], noisy["top1"], s=80, marker="x", color="red", zorder=5, gid="flagged",
                   label=f"latency FLAGGED, spread too large: left out of the frontier ({len(noisy)})")
    if len(unknown):
        rug = blended_transform_factory(ax.transData, ax.transAxes)
        ax.plot(unknown["cost"], np.full(len(unknown), 0.02), "|", color="0.3", ms=10, transform=rug,
                gid="cost-only", label=f"accuracy unknown: cost only ({len(unknown)})")
        if fit:
            predict, rms = fit_accuracy(data)
            guess = predict(unknown["width"], unknown["resolution"])
            ax.scatter(unknown["cost"], guess, s=30, facecolors="none", edgecolors="tab:purple", zorder=3,
                       gid="prediction", label=f"PREDICTION: fitted top-1 (ln α, ln ρ quadratic; RMS {rms:.2f} pt)")
    if references is not None and x in REFERENCE_COLUMN:
        ref = references[references.get("kind", "") == "paper_table4"] if "kind" in references else references
        for row in ref.itertuples():
            marker = REFERENCE_MARKERS.get(row.network, "P")
            ax.scatter(getattr(row, REFERENCE_COLUMN[x]), row.top1, marker=marker, s=70 if marker != "*" else 140,
                       color=_reference_color(row.model), edgecolors="black", zorder=4, gid="reference",
                       label=f"{row.model} (Table 4)")
    ax.set_xlabel(label)
    ax.set_ylabel("ImageNet top-1 (%)")
    ax.grid(True, which="both", alpha=0.25)
    _plain_log_ticks(ax.xaxis, float(data["cost"].min()), float(data["cost"].max()))
    ax.set_title(title or "Accuracy vs cost: a line per width (solid) and per resolution (dashed)", parse_math=False)
    # The legend sits outside the axes: names never cover points, and never each other.
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", fontsize=7, frameon=False)
    return figure


def _reference_color(model: str) -> Any:
    """A distinct fill per reference network (the legend tells them apart by marker and colour)."""
    import zlib

    from matplotlib import colormaps

    return colormaps["tab20"](zlib.crc32(model.encode()) % 20)


def _plain_log_ticks(axis: Any, low: float, high: float) -> None:
    """Ticks labelled as plain numbers (20, 50, 100, 200), not 10^1, 10^2: at 1, 2, 5 x 10^k,
    more of them when the data span little (params, 1.5 to 7: every 1..9 x 10^k)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    span = high / low if low > 0 else math.inf
    subs = tuple(range(1, 10)) if span < 5 else (1, 2, 3, 5) if span < 50 else (1, 2, 5)
    subs = tuple(float(k) for k in subs)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.10g}"))
    axis.set_minor_formatter(NullFormatter())


def contour_figure(frame: "pd.DataFrame", *, checkpoints: "pd.DataFrame | None" = None,
                   madds_levels: Sequence[float] | None = None, memory_frame: "pd.DataFrame | None" = None,
                   title: str | None = None) -> "Figure":
    """Iso-MAdds curves (millions) over (width, resolution) from a sweep table, optional
    iso-peak-memory curves (kB, from a sweep run with memory), and the published
    checkpoints marked with their top-1."""
    import numpy as np

    grid = frame.pivot(index="resolution", columns="width", values="madds")
    _contour_grid(list(grid.columns), list(grid.index), "the sweep table")
    w, r = np.meshgrid(grid.columns.to_numpy(float), grid.index.to_numpy(float))
    values = grid.to_numpy(float) / 1e6
    levels = madds_levels or _nice_levels(values.min(), values.max())
    figure = _new_figure((8.5, 6.5))
    ax = figure.add_subplot()
    cs = ax.contour(w, r, values, levels=levels, colors="tab:blue", linewidths=1.2)
    cs.set_gid("iso-madds")
    ax.clabel(cs, fmt=lambda v: f"{v:g}M", fontsize=7)
    handles = [_proxy("tab:blue", "-", "iso-MAdds (millions)")]
    if memory_frame is not None and "peak_bytes" in memory_frame:
        mem = memory_frame.pivot(index="resolution", columns="width", values="peak_bytes")
        mw, mr = np.meshgrid(mem.columns.to_numpy(float), mem.index.to_numpy(float))
        mv = mem.to_numpy(float) / 1e3
        cm = ax.contour(mw, mr, mv, levels=_nice_levels(mv.min(), mv.max()), colors="tab:orange",
                        linewidths=1.0, linestyles="--")
        cm.set_gid("iso-memory")
        ax.clabel(cm, fmt=lambda v: f"{v:g} kB", fontsize=7)
        convention = str(memory_frame.attrs.get("memory", "")).split(";")[0]
        handles.append(_proxy("tab:orange", "--", f"iso-peak-memory (kB; {convention}; program order)"))
    if checkpoints is not None and len(checkpoints):
        ax.scatter(checkpoints["width"], checkpoints["resolution"], color="black", s=18, zorder=3, gid="checkpoint")
        for row in checkpoints.itertuples():
            ax.annotate(f"{row.top1:g}", (row.width, row.resolution), xytext=(3, 3), textcoords="offset points",
                        fontsize=6)
        handles.append(_proxy("black", "", "published checkpoint (top-1 %)", marker="o"))
    ax.legend(handles=handles, fontsize=7, loc="upper left")
    ax.set_xlabel("width multiplier α")
    ax.set_ylabel("input resolution ρ")
    ax.set_title(title or "Which (width, resolution) pairs cost the same", parse_math=False)
    ax.grid(True, alpha=0.2)
    return figure


def _proxy(color: str, style: str, label: str, marker: str = "") -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], color=color, linestyle=style or "none", marker=marker or None, label=label)


def _nice_levels(low: float, high: float) -> list[float]:
    """1-2-5 steps between ``low`` and ``high`` (contours of a cost that spans decades)."""
    levels = []
    exponent = math.floor(math.log10(max(low, 1e-9)))
    while 10 ** exponent <= high * 10:
        for mantissa in (1, 2, 5):
            value = mantissa * 10 ** exponent
            if low < value < high:
                levels.append(float(value))
        exponent += 1
    return levels or [float((low + high) / 2)]


def _colors(count: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(i / max(1, count - 1) * 0.9) for i in range(count)]


def save(figure: "Figure", path: str, formats: Sequence[str] = ("png", "svg"), dpi: int = 150) -> list[str]:
    """Write ``figure`` as ``path`` and beside it in the other formats (same stem), each
    file atomically (archcalc.io: complete or absent, never half-written)."""
    from pathlib import Path

    from archcalc.io import check_output_path, save_figure

    if str(path).strip() and not Path(path).is_dir():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    target = check_output_path(path)  # a directory or an empty path is an error, not "dir.png"
    outputs = [target.with_suffix(f".{fmt}") for fmt in dict.fromkeys([target.suffix.lstrip(".") or "png", *formats])]
    for out in outputs:
        check_output_path(out)
    written = []
    for out in outputs:
        fmt = out.suffix.lstrip(".")
        # A fixed SVG hash salt and no date keep the committed files reproducible.
        metadata = {"Date": None} if fmt in ("svg", "pdf") else {}
        if fmt == "svg":
            import matplotlib

            matplotlib.rcParams["svg.hashsalt"] = "archcalc"
        save_figure(figure, out, dpi=dpi, metadata=metadata)
        written.append(str(Path(out)))
    return written


# The paper's Figure 5 grid: widths 0.35-1.4 (slim also publishes 1.3) at resolutions 96-224.
FIGURE5_WIDTHS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
FIGURE5_RESOLUTIONS = (96, 128, 160, 192, 224)
CONTOUR_WIDTHS = tuple(round(0.3 + 0.025 * i, 3) for i in range(49))  # 0.3 ... 1.5
CONTOUR_RESOLUTIONS = tuple(range(96, 257, 8))
MEMORY_CONTOUR_WIDTHS = (0.35, 0.5, 0.75, 1.0, 1.25, 1.5)  # memory compiles every point: coarser
MEMORY_CONTOUR_RESOLUTIONS = (96, 128, 160, 192, 224, 256)


def spec_frontier(spec: Any, *, widths: Sequence[float] = FIGURE5_WIDTHS,
                  resolutions: Sequence[int] = FIGURE5_RESOLUTIONS, classes: int | None = None, x: str = "madds",
                  accuracy: Any = None, fit: bool = False, progress: Any = None, **latency: Any) -> "Figure":
    """Sweep ``spec`` over the grid and draw its accuracy/cost frontier (``archcalc plot frontier``);
    ``latency`` passes ``latency_repeats``, ``latency_warmup``, ``latency_max_spread`` to the sweep."""
    from archcalc.analysis.sweep import load_accuracy, sweep

    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}, got {x!r}")
    frame = sweep(spec, widths, resolutions, classes=classes, accuracy=accuracy or True,
                  memory=x == "memory", latency=x == "latency", progress=progress, **latency)
    return frontier_figure(frame, x=x, references=load_accuracy(accuracy), fit=fit)


def published_checkpoints(spec: Any) -> "pd.DataFrame":
    """The packaged accuracy table's checkpoints of the network ``spec`` describes."""
    from archcalc.analysis.sweep import load_accuracy
    from archcalc.spec.loader import Spec, load_spec

    table = load_accuracy()
    name = (spec if isinstance(spec, Spec) else load_spec(spec)).name
    rows = table[(table["network"] == name) & (table.get("kind", "checkpoint") == "checkpoint")]
    return rows.dropna(subset=["width", "resolution"])


def spec_contour(spec: Any, *, widths: Sequence[float] = CONTOUR_WIDTHS,
                 resolutions: Sequence[int] = CONTOUR_RESOLUTIONS, classes: int | None = None,
                 memory: bool = True, memory_widths: Sequence[float] = MEMORY_CONTOUR_WIDTHS,
                 memory_resolutions: Sequence[int] = MEMORY_CONTOUR_RESOLUTIONS, progress: Any = None) -> "Figure":
    """Iso-MAdds (and iso-peak-memory) curves of ``spec`` with its checkpoints (``archcalc plot contour``)."""
    from archcalc.analysis.sweep import sweep

    _contour_grid(widths, resolutions, "--widths/--resolutions")
    if memory:
        _contour_grid(memory_widths, memory_resolutions, "--memory-widths/--memory-resolutions")
    frame = sweep(spec, widths, resolutions, classes=classes, accuracy=False)
    memory_frame = None
    if memory:
        memory_frame = sweep(spec, memory_widths, memory_resolutions, classes=classes, accuracy=False, memory=True,
                             progress=progress)
    return contour_figure(frame, checkpoints=published_checkpoints(spec), memory_frame=memory_frame)


def _contour_grid(widths: Sequence[float], resolutions: Sequence[int], options: str) -> None:
    """A contour needs a surface: at least two distinct values on each axis."""
    if len(set(widths)) < 2 or len(set(resolutions)) < 2:
        raise ValueError(f"a contour plot needs at least 2 widths and 2 resolutions ({options}), got "
                         f"{len(set(widths))} x {len(set(resolutions))}")


__all__ = ["CONTOUR_RESOLUTIONS", "CONTOUR_WIDTHS", "FIGURE5_RESOLUTIONS", "FIGURE5_WIDTHS", "X_AXES",
           "contour_figure", "fit_accuracy", "frontier_figure", "pareto_front", "published_checkpoints", "save",
           "spec_contour", "spec_frontier"]
