"""`archcalc cost` output formats: each carries the convention, JSON integers are exact."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

import archcalc
from archcalc.cli import app

SPEC = str(Path(__file__).resolve().parents[1] / "specs" / "mnv2.yaml")
runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, ["cost", SPEC, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_json_document():
    doc = json.loads(run("--format", "json", "--width", "0.5", "--resolution", "128"))
    assert {"spec", "width", "resolution", "classes", "convention", "totals", "layers"} <= set(doc)
    assert (doc["width"], doc["resolution"], doc["classes"]) == (0.5, 128, 1001)
    model = archcalc.load(SPEC, width=0.5, resolution=128)
    assert doc["totals"] == model.totals()  # exact integers, not rounded floats
    assert isinstance(doc["totals"]["madds"], int)
    assert {"madds", "params", "params_without_bn", "flops"} <= set(doc["totals"])
    assert len(doc["layers"]) == len(model.order) - 1  # every op but the input
    first = doc["layers"][0]
    assert first["name"] == "stem.conv" and first["output_shape"] == [16, 64, 64]
    # stem conv at 0.5/128: 64*64 positions * 3*3*3 * 16 outputs
    assert first["madds"] == 64 * 64 * 27 * 16
    assert "conv+linear" in doc["convention"]["text"]


def test_csv_has_convention_comment_and_sums_to_totals():
    text = run("--format", "csv", "--bn-params", "none")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert any("convention:" in line and "no BN" in line for line in comments)
    rows = list(csv.DictReader(io.StringIO("\n".join(l for l in text.splitlines() if not l.startswith("#")))))
    assert sum(int(r["params"]) for r in rows) == 3_472_041  # slim's 3.47M (no BN, 1001 classes)


def test_batch_and_flops_switches_are_applied_and_printed():
    doc = json.loads(run("--format", "json", "--batch", "4", "--flops-per-madd", "1", "--flops-terms", ""))
    single = archcalc.load(SPEC).totals()
    assert doc["totals"]["madds"] == 4 * single["madds"]
    assert doc["totals"]["flops"] == doc["totals"]["madds"]  # 1 x MAdds and no extra terms
    assert doc["convention"]["batch"] == 4 and doc["convention"]["flops_terms"] == []


def test_table_and_markdown_show_totals_and_convention():
    table = run("--depth", "1")
    assert "300,775,552" in table and "convention:" in table
    markdown = run("--format", "markdown", "--depth", "3")
    assert "| stage3 |" in markdown and "expand" in markdown and "Convention:" in markdown


def test_bad_convention_option_exits_2():
    result = runner.invoke(app, ["cost", SPEC, "--bn-params", "some"])
    # a choice: click refuses it naming the three modes (archcalc.analysis.convention.BN_PARAM_MODES)
    assert result.exit_code == 2 and "'none', 'affine', 'all'" in result.output
