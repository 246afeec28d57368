"""archcalc diff: structure-first alignment of two models, per-op differences, exit codes."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import archcalc
from archcalc.cli import app
from archcalc.diff import diff_models

ROOT = Path(__file__).resolve().parents[1]
MNV2 = str(ROOT / "specs" / "mnv2.yaml")


def test_a_spec_equals_itself():
    result = CliRunner().invoke(app, ["diff", MNV2, MNV2])
    assert result.exit_code == 0, result.output
    assert "first divergence: none" in result.output


def test_an_inserted_op_is_one_difference_and_the_rest_aligns(tmp_path):
    """One extra op after the stem: one 'added' row; every later op still pairs with its twin."""
    text = (ROOT / "specs" / "mnv2.yaml").read_text()
    marker = "  - {name: stem, block: conv_bn_act, c: 32, s: 2}\n"
    assert marker in text
    changed = tmp_path / "mnv2_extra.yaml"
    changed.write_text(text.replace(marker, marker + "  - {name: extra, op: conv2d, out: 32, kernel: 1}\n"))
    a, b = archcalc.load(MNV2), archcalc.load(changed)
    result = diff_models(a, b)
    assert [(row["status"], row["b"]) for row in result.differences] == [("added", "extra")]
    assert result.first_divergence["b"] == "extra"
    # the added op's cost is the whole delta: 32 * 32 MAdds per position of the 112x112 map
    assert result.totals_b["madds"] - result.totals_a["madds"] == 112 * 112 * 32 * 32
    assert not result.equal


def test_width_change_diverges_at_the_stem():
    a = archcalc.load(MNV2)
    b = archcalc.load(MNV2, width=0.5)
    result = diff_models(a, b)
    first = result.first_divergence
    assert first["a"] == "stem.conv" and first["shape_a"] == "32x112x112" and first["shape_b"] == "16x112x112"
    # every aligned op pairs with its twin of the same name (same structure at any width)
    assert all(row["a"] == row["b"] for row in result.rows)


@pytest.mark.parametrize("fmt", ["csv", "json", "markdown", "table"])
def test_formats(fmt, tmp_path):
    result = CliRunner().invoke(app, ["diff", MNV2, str(ROOT / "specs" / "mnv2_1.4.yaml"), "--format", fmt])
    assert result.exit_code == 1, result.output
    if fmt == "json":
        payload = json.loads(result.output)
        assert payload["equal"] is False and payload["first_divergence"]["a"] == "stem.conv"
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO("".join(l + "\n" for l in result.output.splitlines()
                                                       if not l.startswith("#")))))
        assert rows[0]["a"] == "stem.conv" and rows[0]["status"] == "changed"
    elif fmt == "markdown":
        assert result.output.startswith("| index | status |")
    else:
        assert "first divergence: op 0: stem.conv vs stem.conv" in result.output


def test_spec_against_torchvision_differs_only_in_the_logits():
    """specs/mnv2.yaml (slim: 1001 classes) vs torchvision's mobilenet_v2 (1000 classes)."""
    pytest.importorskip("torch")
    try:
        from archcalc.pytorch.tv import import_torchvision

        import_torchvision()
    except ImportError:
        pytest.skip("torchvision is not installed")
    result = CliRunner().invoke(app, ["diff", MNV2, "torchvision:mobilenet_v2", "--format", "json"])
    assert result.exit_code == 1, result.output
    payload = json.loads(result.output)
    (only,) = payload["differences"]
    assert (only["a"], only["shape_a"], only["shape_b"]) == ("logits", "1001", "1000")
    # 1280 inputs: weights + biases = 1280 * classes + classes
    assert (only["params_a"], only["params_b"]) == (1280 * 1001 + 1001, 1280 * 1000 + 1000)
    assert (only["madds_a"], only["madds_b"]) == (1280 * 1001, 1280 * 1000)
    deltas = {row["total"]: row["delta"] for row in payload["totals"]}
    assert deltas["madds"] == -1280 and deltas["params"] == -1281


def test_diff_of_two_specs_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom archcalc.cli import main\n"
            f"sys.argv = ['archcalc', 'diff', {MNV2!r}, {MNV2!r}]\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    print('exit', exit.code)\nprint('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip().splitlines()[-2:] == ["exit 0", "False"]
