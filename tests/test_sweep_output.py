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


COLUMNS = ["width", "resolution", *TOTAL_COLUMNS, "top1", "top5", "accuracy_source"]


def row_writer_csv(frame, columns) -> str:
    """The reference: the CLI's row-by-row csv.DictWriter on per-row dicts."""
    records = [{k: (None if v is None or v != v or str(v) == "<NA>" else v) for k, v in row.items()}
               for row in frame[columns].to_dict("records")]
    return write_rows_csv(records, columns, ["a note"])


def columnar_csv(frame, columns) -> str:
    out = io.StringIO()
    write_csv(frame, columns, ["a note"], out)
    return out.getvalue()


def test_columnar_csv_equals_the_row_writer() -> None:
    widths, resolutions = [0.35, 0.5, 1.0, 1.4], [96, 224]  # 1.0/224 and 1.4/224 have published accuracy
    frame = sweep(SPEC, widths, resolutions)
    columns = COLUMNS
    assert columnar_csv(frame, columns) == row_writer_csv(frame, columns)
    # widths outer, resolutions inner, each row the full compile's numbers
    import archcalc

    row = frame.iloc[5]
    assert (row["width"], row["resolution"]) == (1.0, 224)
    expected = archcalc.load(SPEC, width=1.0, resolution=224).totals()
    assert [int(row[c]) for c in TOTAL_COLUMNS] == [expected[c] for c in TOTAL_COLUMNS]


def test_repeated_values_are_formatted_once_and_print_the_same() -> None:
    """On a 12 x 25 grid both axes and the accuracy columns repeat: they take the
    formatted-once path, and the CSV is still the row writer's, byte for byte."""
    import pandas as pd

    from archcalc.analysis.sweep import _formatted_once

    widths = [0.35, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4]
    resolutions = [*range(96, 289, 8), 97]  # 96, 128, ..., 224: the published resolutions
    frame = sweep(SPEC, widths, resolutions)
    for column in ("width", "resolution", "top1", "top5", "accuracy_source"):
        assert isinstance(_formatted_once(frame[column]), pd.Categorical), column
    assert frame["top1"].notna().sum() >= 3  # published points are in the grid
    assert columnar_csv(frame, COLUMNS) == row_writer_csv(frame, COLUMNS)


def test_formatted_once_writes_what_pandas_writes() -> None:
    """Values that group together but print apart (0.0 and -0.0), missing values, Python ints
    past int64, text that needs quoting: write_csv prints exactly what DataFrame.to_csv does."""
    import numpy as np
    import pandas as pd

    n = 200
    frame = pd.DataFrame({
        "floats": np.resize([0.0, -0.0, np.nan, 1e16, 0.1, 2.5e-7], n),
        "huge": np.resize(np.array([2**70, None, -(2**65)], dtype=object), n),
        "text": pd.Series(np.resize(["a,b", 'say "hi"', None], n), dtype=object),
        "ints": np.resize(np.array([0, -3, 2**62], dtype=np.int64), n),
        "unique": np.arange(n, dtype=np.int64) * 7,
        "flags": np.resize([True, False, False], n),  # latency_flagged
        "strings": pd.Series(np.resize(["x", None], n), dtype="string"),  # accuracy_source's dtype
    })
    for chunk_rows in (7, 100_000):  # chunks of 7 rows: 29 to_csv calls, one header
        out = io.StringIO()
        write_csv(frame, list(frame.columns), [], out, chunk_rows=chunk_rows)
        assert out.getvalue() == frame.to_csv(index=False, lineterminator="\n"), chunk_rows
    out = io.StringIO()
    write_csv(frame.iloc[:0], list(frame.columns), [], out)  # no rows: the header alone
    assert out.getvalue() == "floats,huge,text,ints,unique,flags,strings\n"


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


def test_json_and_markdown_streamed_in_chunks_equal_the_one_shot_writers() -> None:
    """The sweep's json and markdown are written a chunk of rows at a time; whatever the chunk
    size (1 row, 3 rows, more than the frame), the text is the one-shot writers' text."""
    from archcalc.cli.common import write_json, write_markdown
    from archcalc.cli.design import _cell, row_records, write_sweep_json, write_sweep_markdown

    widths, resolutions = [0.35, 0.5, 1.0, 1.4], [96, 224]  # 1.0/224 and 1.4/224 have published accuracy
    frame = sweep(SPEC, widths, resolutions)
    notes = ["a note", 'a "quoted" note']
    records = row_records(frame, COLUMNS)
    one_json = write_json({"notes": notes, "rows": records})
    one_markdown = (write_markdown(records, COLUMNS[:-1], formatters={c: _cell for c in COLUMNS[:-1]}) + "\n"
                    + "\n".join(f"- {n}" for n in notes) + "\n")
    for size in (1, 3, 100):
        out = io.StringIO()
        write_sweep_json(frame, COLUMNS, notes, out, size=size)
        assert out.getvalue() == one_json, size
        out = io.StringIO()
        write_sweep_markdown(frame, COLUMNS[:-1], notes, out, size=size)
        assert out.getvalue() == one_markdown, size
    out = io.StringIO()
    write_sweep_json(frame.iloc[:0], COLUMNS, notes, out)  # no rows: an empty list, as json.dumps writes it
    assert out.getvalue() == write_json({"notes": notes, "rows": []})


def test_the_column_writers_match_the_one_shot_writers_on_awkward_values() -> None:
    """The streamed writers format a column at a time (distinct values once): -0.0 and 0.0,
    1 and 1.0 and True, infinities, missing floats and strings, non-ASCII text and quotes
    must come out exactly as json.dumps / write_markdown write them row by row."""
    import pandas as pd

    from archcalc.cli.common import write_json, write_markdown
    from archcalc.cli.design import _cell, row_records, write_sweep_json, write_sweep_markdown

    frame = pd.DataFrame({
        "f": [0.0, -0.0, 1.0, float("inf"), float("nan"), 1e-7, 123.456],
        "i": [1, 0, -5, 10**15, 7, 1, 1],
        "b": [True, False, True, True, False, False, True],
        "s": pd.array(["a", None, "é \"q\"", "a", "1", "a", None], dtype="string"),
        "o": [1, 1.0, True, None, "x", 1, 1.0],
    })
    columns = list(frame.columns)
    records = row_records(frame, columns)
    for size in (1, 2, 100):
        out = io.StringIO()
        write_sweep_json(frame, columns, ["n"], out, size=size)
        assert out.getvalue() == write_json({"notes": ["n"], "rows": records}), size
        out = io.StringIO()
        write_sweep_markdown(frame, columns, ["n"], out, size=size)
        assert out.getvalue() == write_markdown(records, columns, formatters={c: _cell for c in columns}) + "\n- n\n"


def test_a_reader_that_stops_early_ends_the_sweep_quietly():
    """`archcalc sweep ... --format csv | head -2`: once the reader closes the pipe the sweep
    stops like a Unix filter killed by SIGPIPE (exit 141, nothing on stderr), not with an
    error line. The CSV is far larger than a pipe buffer (64 KiB), so the write must fail."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "archcalc", "sweep", "specs/mnv2.yaml", "--widths", "0.3:1.3:0.001",
               "--resolutions", "96:288:32", "--format", "csv"]
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()
    process.stdout.close()  # the reader goes away after one line
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 141
    assert first.startswith(b"# spec:")
    assert stderr == b""
