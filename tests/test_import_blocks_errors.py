"""archcalc import: block recovery (the paper's Table 2), error paths, CLI and optional torch."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

torch = pytest.importorskip("torch")
try:
    from archcalc.pytorch.tv import import_torchvision

    import_torchvision()
except ImportError:
    pytest.skip("torchvision is not installed (the vision extra)", allow_module_level=True)

from torch import nn  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from archcalc.cli import app  # noqa: E402
from archcalc.pytorch.importer import ModelImportError, import_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TABLE2_KEYS = ("t", "c", "n", "s")


def _block_rows(text: str, block: str) -> list[dict]:
    rows = yaml.safe_load(text)["layers"]
    return [{k: row.get(k, 1 if k == "n" else None) for k in TABLE2_KEYS} for row in rows if row.get("block") == block]


def test_mobilenet_v2_recovers_table2():
    """torchvision's mobilenet_v2 gives back exactly the bottleneck rows (t, c, n, s) of
    specs/mnv2.yaml, the paper's Table 2, compared as data."""
    imported = import_model("torchvision:mobilenet_v2", input="3x64x64")
    expected = _block_rows((ROOT / "specs" / "mnv2.yaml").read_text(), "bottleneck")
    assert len(expected) == 7
    assert _block_rows(imported.spec_text, "bottleneck") == expected


def test_resnet50_recovers_its_stages():
    """ResNet-50's stages (3, 4, 6, 3 bottlenecks; He et al. Table 1) as resnet_bottleneck rows."""
    imported = import_model("torchvision:resnet50", input="3x64x64")
    rows = [row for row in yaml.safe_load(imported.spec_text)["layers"] if row.get("block") == "resnet_bottleneck"]
    assert [(row["c"], row.get("n", 1), row["s"]) for row in rows] == [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]


def test_user_blocks_file_is_recognized(tmp_path):
    """A block defined in --blocks is recognized like the built-in ones (ResNet's basic block)."""
    blocks = tmp_path / "basic.yaml"
    blocks.write_text(
        "basic_block:\n"
        "  params: {c: {type: channels}, s: {type: int, default: 1, first_only: true}}\n"
        "  body:\n"
        "    - {name: conv1, block: conv_bn_act, c: '${c}', k: 3, s: '${s}', act: relu}\n"
        "    - {name: conv2, block: conv_bn_act, c: '${c}', k: 3, act: identity}\n"
        "    - {name: shortcut, block: conv_bn_act, from: input, c: '${c}', k: 1, s: '${s}', act: identity,"
        " when: '${s != 1 or c_in != c}'}\n"
        "    - {name: add, op: add, from: [shortcut, conv2]}\n"
        "    - {name: act, op: relu}\n")
    imported = import_model("torchvision:resnet18", input="3x64x64", blocks_file=blocks)
    rows = [row for row in yaml.safe_load(imported.spec_text)["layers"] if row.get("block") == "basic_block"]
    assert [(row["c"], row.get("n", 1), row["s"]) for row in rows] == [(64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2)]
    assert imported.model.totals()["params"] == sum(p.numel() for p in imported.module.parameters())


def test_unrecognized_ops_stay_rows():
    """Nothing is dropped: ops-level and blocks-level specs compile to the same totals."""
    ops = import_model("torchvision:mnasnet0_5", input="3x64x64", level="ops").model.totals()
    blocks = import_model("torchvision:mnasnet0_5", input="3x64x64", level="blocks").model.totals()
    assert ops == blocks


# --------------------------------------------------------------------------- errors
class WithLSTMAndTanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.odd = nn.PixelShuffle(2)

    def forward(self, x):
        return torch.tanh(self.odd(self.conv(x)))


class ControlFlow(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = Gate()

    def forward(self, x):
        return self.body(x)


class Gate(nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # data-dependent: fx cannot trace it
            return x
        return -x


class ExtraParameterConv(nn.Conv2d):
    """A conv with a parameter its forward (Conv2d's) never uses; the op would not count it."""

    def __init__(self):
        super().__init__(3, 8, 3, bias=False)
        self.scale = nn.Parameter(torch.ones(8))


class HoldsExtraParameterConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = ExtraParameterConv()

    def forward(self, x):
        return self.conv(x)


class UnusedHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=True)
        self.aux = nn.Linear(8, 2)  # never called by forward

    def forward(self, x):
        return self.conv(x)


def test_unmapped_nodes_are_listed_with_path_and_type():
    with pytest.raises(ModelImportError) as error:
        import_model(f"{__name__}:WithLSTMAndTanh", input="3x16x16")
    lines = str(error.value).splitlines()
    assert "no exact registry op" in lines[0]
    assert lines[1].strip().startswith("odd (PixelShuffle)")
    # tanh reads the unmapped PixelShuffle's output: the first unmapped node is what is reported


def test_untraceable_model_names_the_module():
    with pytest.raises(ModelImportError) as error:
        import_model(f"{__name__}:ControlFlow", input="3x16x16")
    message = str(error.value)
    assert "\n" not in message and "cannot trace" in message and "body (Gate)" in message


def test_unaccounted_parameters_are_errors():
    with pytest.raises(ModelImportError) as error:
        import_model(f"{__name__}:HoldsExtraParameterConv", input="3x16x16")
    message = str(error.value)  # 3*3*3*8 = 216 weights; the module has 8 more
    assert "conv (ExtraParameterConv): has 224 parameters" in message and "op conv2d accounts for 216" in message
    with pytest.raises(ModelImportError) as error:
        import_model(f"{__name__}:UnusedHead", input="3x16x16")
    assert "aux (Linear): 18 parameters no imported op uses" in str(error.value)


# --------------------------------------------------------------------------- CLI
def test_cli_import_writes_a_spec_every_command_accepts(tmp_path):
    runner = CliRunner()
    spec = tmp_path / "mnv2.yaml"
    result = runner.invoke(app, ["import", "torchvision:mobilenet_v2", "--input", "3x96x96", "-o", str(spec)])
    assert result.exit_code == 0, result.output
    for args in (["cost", str(spec)], ["memory", str(spec), "--order", "optimal"],
                 ["sweep", str(spec), "--resolutions", "96,128", "--widths", "1.0"],
                 ["verify", str(spec), "--device", "cpu", "--no-memory"]):
        outcome = runner.invoke(app, args)
        assert outcome.exit_code == 0, (args, outcome.output)


def test_cli_import_error_is_exit_2():
    result = CliRunner().invoke(app, ["import", "torchvision:no_such_model"])
    assert result.exit_code == 2 and "no such classification model" in result.output


def test_import_without_torch_names_the_extra():
    """With torch unavailable, `archcalc import` says which extra to install (exit 2)."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from archcalc.cli import main\n"
            "sys.argv = ['archcalc', 'import', 'torchvision:mobilenet_v2']\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.strip() == "archcalc: error: this command needs torch: pip install 'archcalc[verify]'"


def test_cost_never_imports_torch():
    code = ("import sys\nfrom archcalc.cli import main\nsys.argv = ['archcalc', 'cost', 'specs/mnv2.yaml']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip().splitlines()[-1] == "False"
