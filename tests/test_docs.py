"""The language reference (docs/spec-language.md) and the JSON Schema cover the whole language.

Both are generated from the op registry and the built-in blocks; these tests fail when an op,
attribute, block or block parameter is undocumented, when a generated part is stale, when the
hand-written part misses a key or function, when a shipped spec does not validate, or when a
bad spec does.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

import archcalc
from archcalc.blocks import BLOCK_KEYS, PARAM_KEYS, BlockDef, ParamDef, builtin_blocks
from archcalc.cli import app
from archcalc.errors import Location, SpecError
from archcalc.ops import Attr, OpDef
from archcalc.spec import reference
from archcalc.spec.schema import spec_schema
from archcalc.spec.yamlio import read_yaml

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "spec-language.md"
SCHEMA_FILE = ROOT / "docs" / "spec.schema.json"
SHIPPED = sorted((ROOT / "specs").glob("*.yaml")) + sorted((ROOT / "specs").glob("zoo/*.yaml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = spec_schema()
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft7Validator
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


# ------------------------------------------------------------------ the reference
def test_every_op_attribute_block_and_parameter_is_documented():
    gaps = reference.undocumented()
    assert not gaps, "undocumented (see the convention in archcalc/ops/base.py OpDef):\n" + "\n".join(gaps)


def test_generated_regions_are_current():
    stale = reference.stale_regions(DOC.read_text(encoding="utf-8"))
    assert not stale, f"regions {stale} of {DOC.name} are stale: run `archcalc docs docs/spec-language.md`"


def test_hand_written_part_covers_every_key_rule_and_function():
    gaps = reference.missing_sections(DOC.read_text(encoding="utf-8"))
    assert not gaps, "\n".join(gaps)


def test_every_op_and_block_has_its_own_section_with_every_attribute():
    text = DOC.read_text(encoding="utf-8")
    sections = dict(re.findall(r"#### `(\w+)`\n(.*?)(?=\n#### |\n## |\Z)", text, re.DOTALL))
    for kind, op in reference.user_ops().items():
        assert kind in sections, f"op {kind} has no section"
        for name in op.attrs:
            assert f"| `{name}` |" in sections[kind], f"op {kind}: attribute {name} missing from its table"
        assert "**Shape:**" in sections[kind] and "**Cost:**" in sections[kind]
    for name, block in builtin_blocks().items():
        assert name in sections, f"block {name} has no section"
        for param in block.params:
            assert f"| `{param}` |" in sections[name], f"block {name}: parameter {param} missing from its table"
    assert "input" not in sections  # the graph input is internal: users never write it


class _Undocumented(OpDef):
    kind = "undocumented_op"
    attrs = {"size": Attr(int, default=1)}

    def shape(self, attrs, inputs):
        return inputs[0]


def test_the_coverage_check_catches_an_undocumented_op_and_block(monkeypatch):
    fake_block = BlockDef(name="plain", doc="", params={"x": ParamDef(name="x", type="int")}, let=(),
                          body=({"name": "a", "op": "relu"},), output=None, location=Location("f", 1, "plain"))
    monkeypatch.setattr(reference, "all_ops", lambda: {"undocumented_op": _Undocumented()})
    monkeypatch.setattr(reference, "builtin_blocks", lambda: {"plain": fake_block})
    gaps = "\n".join(reference.undocumented())
    for expected in ("op undocumented_op", "no docstring summary", "no 'Shape:' line", "no 'Cost:' line",
                     "attribute 'size' has no doc=", "block plain", "parameter 'x' has no doc"):
        assert expected in gaps


def test_stale_regions_and_missing_sections_are_detected():
    text = DOC.read_text(encoding="utf-8")
    edited = text.replace("| `out` |", "| `outs` |", 1)
    assert reference.stale_regions(edited) == ["ops"]
    assert reference.stale_regions(reference.render_regions(edited)) == []
    without_when = text.replace("### `when`", "### the condition")
    assert "'## Layer rows' covers no `when` (in a heading or table row)" in reference.missing_sections(without_when)
    with pytest.raises(ValueError, match="GENERATED blocks"):
        reference.render_regions(re.sub(r"<!-- BEGIN GENERATED blocks.*?END GENERATED blocks -->", "", text,
                                        flags=re.DOTALL))


def test_op_docstring_sections_are_read_along_the_class_hierarchy():
    relu = reference.op_doc(reference.user_ops()["relu"])
    assert relu.shape == "unchanged."  # stated once, by the activations' base class
    assert relu.cost == "act = 1 op per element."
    concat = reference.op_doc(reference.user_ops()["concat"])
    assert concat.cost.startswith("none (")  # an op that counts nothing says why


def test_reference_frames_have_a_row_per_attribute_and_parameter():
    ops, blocks = reference.op_reference(), reference.block_reference()
    assert len(ops) == sum(max(1, len(op.attrs)) for op in reference.user_ops().values())
    assert len(blocks) == sum(len(b.params) for b in builtin_blocks().values())
    conv_kernel = ops[(ops["op"] == "conv2d") & (ops["attribute"] == "kernel")].iloc[0]
    assert conv_kernel["default"] == 1


def _doc_examples() -> dict[str, str]:
    """The complete specs in the reference: yaml blocks whose first line is `# file: NAME`."""
    blocks = re.findall(r"```yaml\n# file: (\S+)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return dict(blocks)


def test_the_reference_examples_compile_and_validate(tmp_path, validator):
    examples = _doc_examples()
    assert {"tiny.yaml", "tiny_wide.yaml", "tiny_head.yaml", "branches.yaml", "se_net.yaml", "deep.yaml",
            "two_inputs.yaml"} <= set(examples)
    for name, text in examples.items():
        (tmp_path / name).write_text(text)
    for name in examples:
        model = archcalc.load(tmp_path / name)
        assert model.totals()["madds"] > 0
        assert not list(validator.iter_errors(read_yaml(tmp_path / name))), name
    # the first spec: stem 3x3 stride 2 with padding same on 32 px -> 16 x 16
    tiny = archcalc.load(tmp_path / "tiny.yaml")
    assert tiny.node("stem.conv")["shape"] == (16, 16, 16)
    assert tiny.node("fc")["shape"] == (10,)
    # depth 1.2: ceil(2 * 1.2) = 3 repeats; the head reads c_in = 24 -> 144 channels
    deep = archcalc.load(tmp_path / "deep.yaml")
    assert [b.name for b in deep.blocks if b.type == "bottleneck"] == [f"stage1.block{i}" for i in (1, 2, 3)]
    assert deep.node("head")["shape"][0] == 144


def test_cli_docs_prints_rewrites_and_checks(tmp_path):
    runner = CliRunner()
    printed = runner.invoke(app, ["docs"])
    assert printed.exit_code == 0 and "#### `conv2d`" in printed.output and "#### `bottleneck`" in printed.output
    stale = tmp_path / "spec-language.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace("| `out` |", "| `outs` |", 1))
    checked = runner.invoke(app, ["docs", str(stale), "--check"])
    assert checked.exit_code == 1 and "'ops' is stale" in checked.output
    assert runner.invoke(app, ["docs", str(stale)]).exit_code == 0
    assert stale.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
    assert runner.invoke(app, ["docs", str(stale), "--check"]).exit_code == 0


# ------------------------------------------------------------------ the JSON Schema
def test_schema_file_is_current_and_the_cli_prints_it(tmp_path):
    generated = spec_schema()
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == generated, \
        "docs/spec.schema.json is stale: run `archcalc schema -o docs/spec.schema.json`"
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0 and json.loads(result.output) == generated
    out = tmp_path / "schema.json"
    assert CliRunner().invoke(app, ["schema", "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text()) == generated


def test_schema_names_every_op_attribute_and_block_parameter():
    schema = spec_schema()
    rows = schema["definitions"]["layer_row"]["anyOf"]
    by_op = {r["properties"]["op"].get("const"): r for r in rows if "op" in r["properties"]}
    by_block = {r["properties"]["block"].get("const"): r for r in rows if "block" in r["properties"]}
    for kind, op in reference.user_ops().items():
        assert set(op.attrs) <= set(by_op[kind]["properties"])
        assert [a for a in op.attrs if op.attrs[a].required] == by_op[kind]["required"][1:]
    for name, block in builtin_blocks().items():
        assert set(block.params) <= set(by_block[name]["properties"])
    assert "input" not in by_op


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_every_shipped_spec_validates(path, validator):
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(read_yaml(path))]
    assert not errors, "\n".join(errors)


def test_the_schema_knows_every_block_definition_and_parameter_key():
    definition = spec_schema()["definitions"]["block_definition"]
    assert set(definition["properties"]) == BLOCK_KEYS
    assert set(definition["properties"]["params"]["additionalProperties"]["properties"]) == PARAM_KEYS


def test_the_built_in_blocks_validate_as_block_definitions(validator):
    raw = read_yaml(ROOT / "archcalc" / "blocks" / "builtin.yaml")
    spec = {"input": {"channels": 3, "resolution": 8}, "layers": [{"op": "relu"}], "blocks": raw}
    assert not list(validator.iter_errors(spec))


BASE = {
    "input": {"channels": 3, "resolution": 32},
    "defaults": {"kernel": 3, "activation": "relu", "norm": "batch_norm"},
    "layers": [
        {"name": "stem", "block": "conv_bn_act", "c": 16, "s": 2},
        {"name": "body", "block": "bottleneck", "t": 6, "c": 16, "n": 2},
        {"name": "pool", "op": "global_avg_pool"},
    ],
}


def _set(path: str, value):
    """A mutation of BASE: set the dotted ``path`` (``layers.1.t``) to ``value`` (None deletes)."""
    def mutate(spec: dict) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target = spec
        for key in parents:
            target = target[key]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return mutate


BAD = {
    "unknown top-level key": _set("layer", []),
    "missing layers": _set("layers", None),
    "input without resolution": _set("input.resolution", None),
    "zero width": _set("width", 0),
    "unknown rounding rule": _set("rounding", {"channels": "ceil"}),
    "unknown op": _set("layers.2", {"op": "conv3d", "out": 8}),
    "unknown op attribute": _set("layers.2", {"op": "conv2d", "out": 8, "kernal": 3}),
    "op attribute of the wrong type": _set("layers.2", {"op": "conv2d", "out": 8, "kernel": "3"}),
    "op attribute below its minimum": _set("layers.2", {"op": "conv2d", "out": 8, "stride": 0}),
    "missing required op attribute": _set("layers.2", {"op": "conv2d", "kernel": 3}),
    "n on an op row": _set("layers.2.n", 2),
    "a kernel with three sizes": _set("layers.2", {"op": "conv2d", "out": 8, "kernel": [1, 7, 7]}),
    "a block size parameter with a zero": _set("layers.0.k", [1, 0]),
    "unknown block parameter": _set("layers.1.x", 1),
    "missing required block parameter": _set("layers.1.t", None),  # t, unless expanded is given
    "block parameter outside its choices": _set("layers.0.norm", "group_norm"),
    "zero repeats": _set("layers.1.n", 0),
    "unknown scale mode": _set("layers.0.scale", "double"),
    "when that is not a boolean": _set("layers.2.when", "yes"),
}


@pytest.mark.parametrize("mutation", BAD.values(), ids=list(BAD))
def test_bad_specs_fail_the_schema_and_the_compiler(mutation, validator, tmp_path):
    spec = copy.deepcopy(BASE)
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert not list(validator.iter_errors(spec)) and archcalc.load(path)  # the base is fine
    mutation(spec)
    assert list(validator.iter_errors(spec)), "the schema accepts a bad spec"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError):  # the schema and the compiler agree it is bad
        archcalc.load(path)


@pytest.mark.parametrize("row", [
    {"op": "conv2d", "out": "${classes * 2}", "kernel": "${kernel}", "bias": "${norm == 'none'}"},
    {"op": "${activation}"},
    {"op": "conv2d", "out": 8, "kernel": [1, 7], "padding": [0, 3], "stride": "${[1, 2]}"},
    {"block": "conv_bn_act", "c": 8, "k": [7, 1], "s": [2, 1]},
    {"block": "bottleneck", "expanded": 64, "c": 16, "n": "${ceil(2 * depth)}"},
    {"op": "conv2d", "out": "${6 * c_in}", "from": "${'stem' if width < 1 else 'body'}"},
    {"block": "conv_bn_act", "c": "${make_divisible(24 * width, 8)}", "when": "${width > 0.5}", "scale": "none"},
    {"include": "other.yaml", "until": "stem"},
])
def test_expressions_are_valid_where_the_language_allows_them(row, validator):
    spec = copy.deepcopy(BASE)
    spec["layers"].append(row)
    assert not list(validator.iter_errors(spec))


def test_the_readme_first_spec_compiles_with_what_it_claims(tmp_path, validator):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    text = re.search(r"A first spec.*?```yaml\n(.*?)```", readme, re.DOTALL).group(1)
    path = tmp_path / "first.yaml"
    path.write_text(text)
    assert not list(validator.iter_errors(read_yaml(path)))
    model = archcalc.load(path)
    # stem: 3x3 stride 2, padding same on 64 px -> 32 x 32; a (3x3) and b (1x1) keep 32 x 32
    assert model.node("sum")["shape"] == (16, 32, 32)
    assert model.node("cat")["shape"] == (32, 32, 32)  # 16 + 16 channels
    assert model.node("pool")["shape"] == (32, 16, 16)  # stride defaults to the kernel, 2
    assert [model.node(name)["shape"] for name in model.outputs] == [(10,), (32, 32, 32)]
