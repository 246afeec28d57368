"""``archcalc memory``: options, formats, errors (exit 2, one line)."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from archcalc.cli import app

SPEC = str(Path(__file__).resolve().parents[1] / "specs" / "mnv2.yaml")
runner = CliRunner()


def test_json_has_the_contract_fields(tmp_path):
    png = tmp_path / "t.png"
    result = runner.invoke(app, ["memory", SPEC, "--dtype", "int8", "--inplace-depthwise", "--free-input",
                                 "--format", "json", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["peak_bytes"] == 112 * 112 * (16 + 96)  # MCUNet's 1372 KiB, see test_memory.py
    assert data["peak_at"] == "stage2.block1.expand.conv"
    assert data["arena_bytes"] >= data["peak_bytes"]
    assert data["convention"]["dtype"] == "int8" and data["order"][0] == "input"
    assert len(data["timeline"]) == len(data["order"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_and_csv():
    table = runner.invoke(app, ["memory", SPEC, "--order", "optimal", "--split", "3", "--dtype", "float16"])
    assert table.exit_code == 0 and "peak" in table.stdout and "convention:" in table.stdout
    csv = runner.invoke(app, ["memory", SPEC, "--no-fold-bn", "--format", "csv"])
    assert csv.exit_code == 0 and "folded_bn" not in csv.stdout and csv.stdout.count("\n") > 100


def test_bad_input_is_one_line_exit_2(capsys):
    from archcalc.cli.boundary import run  # what the installed `archcalc` runs: usage errors are one line too

    for args in (["--dtype", "bf16"], ["--split", "0"], ["--order", "fastest"], ["--batch", "0"]):
        assert run(app, ["memory", SPEC, *args]) == 2, args
        err = capsys.readouterr().err
        assert err.strip().count("\n") == 0 and err.startswith("archcalc: error:"), err
