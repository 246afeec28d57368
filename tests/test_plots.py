"""The frontier and contour figures are produced, and read back artist by artist."""
from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

from archcalc.analysis.sweep import load_accuracy, sweep
from archcalc.cli import app
from archcalc.plots import contour_figure, frontier_figure, pareto_front, save

ROOT = Path(__file__).resolve().parent.parent
MNV2 = ROOT / "specs" / "mnv2.yaml"
WIDTHS = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4]  # the slim checkpoint widths
RESOLUTIONS = [96, 128, 160, 192, 224]


@pytest.fixture(scope="module")
def frame():
    return sweep(MNV2, WIDTHS, RESOLUTIONS, classes=1001)


def _by_gid(figure: Figure, gid: str) -> list:
    return [a for a in figure.axes[0].get_children() if a.get_gid() == gid]


def test_frontier_plot_file_points_and_lines(frame, tmp_path):
    figure = frontier_figure(frame, references=load_accuracy(), fit=True)
    assert isinstance(figure, Figure)
    written = save(figure, str(tmp_path / "figure5.png"))
    assert [Path(p).suffix for p in written] == [".png", ".svg"]
    assert all(Path(p).stat().st_size > 10_000 for p in written)
    published = frame.dropna(subset=["top1"])
    assert len(published) == 22  # the slim README's checkpoints (mnv2_checkpoints.csv)
    (scatter,) = _by_gid(figure, "published")
    assert len(scatter.get_offsets()) == 22
    width_lines = _by_gid(figure, "width-line")
    assert len(width_lines) == published["width"].nunique() == 6
    assert sum(len(line.get_xdata()) for line in width_lines) == 22
    assert len(_by_gid(figure, "resolution-line")) == published["resolution"].nunique() == 5
    (costless,) = _by_gid(figure, "cost-only")  # 1.3 and 1.4 below 224: cost known, accuracy not
    assert len(costless.get_xdata()) == len(frame) - 22 == 8
    (front,) = _by_gid(figure, "pareto")
    costs, accs = published["madds"].tolist(), published["top1"].tolist()
    assert len(front.get_xdata()) == len(pareto_front(costs, accs))
    assert len(_by_gid(figure, "reference")) == 6  # the paper's Table 4 rows
    (prediction,) = _by_gid(figure, "prediction")
    assert len(prediction.get_offsets()) == 8
    assert "PREDICTION" in prediction.get_label()
    assert figure.axes[0].get_xscale() == "log"


def test_unknown_accuracy_is_never_drawn_as_a_point(frame):
    figure = frontier_figure(frame)  # no fit: the 8 unpublished points are ticks only
    assert not _by_gid(figure, "prediction")
    drawn_y = [y for line in _by_gid(figure, "width-line") for y in line.get_ydata()]
    assert len(drawn_y) == 22


def test_pareto_front():
    # cost, accuracy: (1, 50) (2, 49) (3, 60) (3, 61) (4, 55) -> 0, 3
    assert pareto_front([1, 2, 3, 3, 4], [50, 49, 60, 61, 55]) == [0, 3]


def test_contour_marks_checkpoints(frame, tmp_path):
    grid = sweep(MNV2, [0.3 + 0.1 * i for i in range(13)], list(range(96, 257, 16)), classes=1001, accuracy=False)
    checkpoints = frame.dropna(subset=["top1"])
    figure = contour_figure(grid, checkpoints=checkpoints)
    (marks,) = _by_gid(figure, "checkpoint")
    assert len(marks.get_offsets()) == 22
    assert _by_gid(figure, "iso-madds")
    assert Path(save(figure, str(tmp_path / "contour.png"))[0]).stat().st_size > 10_000


def test_cli_sweep_csv_and_plot(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["sweep", str(MNV2), "--classes", "1001", "--widths", "1.0", "--resolutions",
                                 "224", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "1.0,224,300775552," in result.output
    out = tmp_path / "f5.png"
    result = runner.invoke(app, ["plot", "frontier", str(MNV2), "--classes", "1001", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and out.with_suffix(".svg").exists()
    result = runner.invoke(app, ["sweep", str(MNV2), "--widths", "1:0.5:0.1"])
    assert result.exit_code == 2 and "stop >= start" in result.output
