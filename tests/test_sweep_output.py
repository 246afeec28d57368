"""The sweep's columnar outputs: the CSV equals the row-by-row writer's, and a terminal
table of a large sweep is bounded and says how to get every row."""
from __future__ import annotations

import io
from pathlib import Path

from typer.testing import CliRunner

from archcalc.analysis.sweep import TOTAL_COLUMNS, sweep, write_csv
from archcalc.cli import app
from archcalc.cli.common import write_csv as write_rows_csv
from archcalc.cli.design import TABLE_ROWS
from archcalc.spec.loader import load_spec

SPEC = Path(__file__).resolve().parents[1] / "specs" / "mnv2.yaml"


def test_columnar_csv_equals_the_row_writer() -> None:
    widths, resolutions = [0.35, 0.5, 1.0, 1.4], [96, 224]  # 1.0/224 and 1.4/224 have published accuracy
    frame = sweep(SPEC, widths, resolutions)
    columns = ["width", "resolution", *TOTAL_COLUMNS, "top1", "top5", "accuracy_source"]
    records = [{k: (None if v is None or v != v or str(v) == "<NA>" else v) for k, v in row.items()}
               for row in frame[columns].to_dict("records")]
    out = io.StringIO()
    write_csv(frame, columns, ["a note"], out)
    assert out.getvalue() == write_rows_csv(records, columns, ["a note"])
    # widths outer, resolutions inner, each row the full compile's numbers
    import archcalc

    row = frame.iloc[5]
    assert (row["width"], row["resolution"]) == (1.0, 224)
    expected = archcalc.load(SPEC, width=1.0, resolution=224).totals()
    assert [int(row[c]) for c in TOTAL_COLUMNS] == [expected[c] for c in TOTAL_COLUMNS]


def test_a_large_sweep_table_is_bounded_and_says_how_to_get_the_rest() -> None:
    widths = ",".join(str(0.3 + 0.01 * i) for i in range(TABLE_ROWS // 2 + 1))  # > TABLE_ROWS points
    result = CliRunner().invoke(app, ["sweep", str(SPEC), "--widths", widths, "--resolutions", "96,128"])
    assert result.exit_code == 0, result.output
    total = (TABLE_ROWS // 2 + 1) * 2
    assert f"showing the first {TABLE_ROWS:,} of {total:,} rows" in result.output
    assert "--format csv" in result.output
    csv = CliRunner().invoke(app, ["sweep", str(SPEC), "--widths", widths, "--resolutions", "96,128",
                                   "--format", "csv"])
    assert csv.exit_code == 0
    assert len([line for line in csv.output.splitlines() if line and not line.startswith("#")]) == total + 1
    assert load_spec(SPEC).name in csv.output
