"""A JSON Schema (draft-07) of the spec format, generated from the same registry.

Editors with a YAML language server validate and complete specs with it (see
docs/spec-language.md, "Editor support"). It is built from the places that define the
language — the op registry's attribute schemas, the built-in blocks' parameters, the
loader's top-level and rounding keys, the row keys — so a new op, attribute or block
appears here without an edit. ``${...}`` expressions are allowed wherever the compiler
evaluates them: op attributes, block parameters, ``when``, ``scale`` and ``op``.

The schema is a first line of defence for editors. The compiler stays the authority: it
also checks what a schema cannot express (shapes, names that ``from`` reads, what an
expression evaluates to). Known limit: a spec that redefines a built-in block under the same
name with other parameters is valid to the compiler but not to this schema.
"""
from __future__ import annotations

import copy
from typing import Any

from archcalc.blocks import ITEM_KEYS, PARAM_TYPES, ROW_KEYS, ParamDef, builtin_blocks
from archcalc.ops import Attr
from archcalc.spec.loader import IDENTIFIER, ROUNDING_KEYS, TOP_LEVEL
from archcalc.spec.reference import op_doc, user_ops
from archcalc.width import SCALE_MODES

# draft-07: the newest draft the YAML language server (VS Code's YAML extension) fully supports
DRAFT = "http://json-schema.org/draft-07/schema#"
EXPRESSION = {"type": "string", "pattern": r"^\s*\$\{[\s\S]*\}\s*$"}
NAME = {"type": "string", "pattern": IDENTIFIER.pattern, "not": {"const": "input"}}
_JSON_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string", list: "array", dict: "object"}


def _with_expression(schema: dict, description: str = "", default: Any = None, has_default: bool = False) -> dict:
    """``schema`` or a ``${...}`` expression (a plain string schema already admits one)."""
    result = schema if schema.get("type") == "string" and "enum" not in schema and "pattern" not in schema \
        else {"anyOf": [schema, {"$ref": "#/definitions/expression"}]}
    result = dict(result)
    if description:
        result["description"] = description
    if has_default:
        result["default"] = default
    return result


def _number(kind: str, minimum: float | None) -> dict:
    schema: dict[str, Any] = {"type": kind}
    if minimum is not None:
        schema["minimum"] = minimum
    return schema


def attr_schema(attr: Attr) -> dict:
    """The values one op attribute accepts."""
    if attr.choices is not None:
        base: dict = {"enum": list(attr.choices)}
    else:
        kinds = attr.kind if isinstance(attr.kind, tuple) else (attr.kind,)
        options = [_number(_JSON_TYPES[k], attr.min) if k in (int, float) else {"type": _JSON_TYPES[k]} for k in kinds]
        base = options[0] if len(options) == 1 else {"anyOf": options}
    if attr.pair:
        base = _one_or_pair(base)
    description = attr.doc + (" (scaled by the width multiplier in layer rows)" if attr.channels else "")
    return _with_expression(base, description, None if attr.required else attr.default, not attr.required)


def _one_or_pair(one: dict) -> dict:
    """One value for both axes, or ``[height, width]`` (list items are not evaluated: literals)."""
    return {"anyOf": [one, {"type": "array", "minItems": 2, "maxItems": 2, "items": one}]}


def param_schema(param: ParamDef) -> dict:
    """The values one block parameter accepts."""
    if param.choices is not None:
        base: dict = {"enum": list(param.choices)}
    elif param.type == "channels":
        base = _number("integer", 1 if param.min is None else param.min)
    elif param.type in ("int", "number"):
        base = _number("integer" if param.type == "int" else "number", param.min)
    elif param.type == "size":
        base = _one_or_pair(_number("integer", param.min))
    elif param.type == "any":
        base = {}
    else:
        base = {"type": {"bool": "boolean", "str": "string"}[param.type]}
    if base == {}:
        result = {"description": param.doc} if param.doc else {}
        return result
    return _with_expression(base, param.doc, None if param.required else param.default, not param.required)


def _row_key_schemas(keys: set[str]) -> dict[str, dict]:
    """Schemas of the keys that are not op attributes or block parameters."""
    every = {
        "name": {**NAME, "description": "name of this row or item (others read it with from)"},
        "from": {"description": "input(s): an earlier name, or a list of them to join",
                 "anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}]},
        "when": _with_expression({"type": "boolean"}, "false removes this row or item"),
        "n": _with_expression({"type": "integer", "minimum": 1}, "repeat count of a block row"),
        "scale": _with_expression({"enum": list(SCALE_MODES)}, "how the width multiplier applies to this row"),
    }
    return {key: every[key] for key in ("name", "from", "when", "n", "scale") if key in keys}


def _op_variants(keys: set[str], require_name: bool) -> list[dict]:
    common = _row_key_schemas(keys - {"n"})  # n repeats blocks only
    variants = []
    for kind, op in user_ops().items():
        properties = {"op": {"const": kind, "description": op_doc(op).summary}, **common}
        properties.update({name: attr_schema(attr) for name, attr in op.attrs.items()})
        required = ["op", *(["name"] if require_name else []), *(n for n, a in op.attrs.items() if a.required)]
        variants.append({"type": "object", "properties": properties, "required": required,
                         "additionalProperties": False})
    # an op chosen by an expression (`op: "${act}"`): its attributes are known only when compiled
    variants.append({"type": "object", "properties": {"op": {"$ref": "#/definitions/expression"}, **common},
                     "required": ["op", *(["name"] if require_name else [])]})
    return variants


def _block_variants(keys: set[str], require_name: bool) -> list[dict]:
    common = _row_key_schemas(keys)
    blocks = builtin_blocks()
    variants = []
    for name, block in blocks.items():
        properties = {"block": {"const": name, "description": block.doc}, **common}
        properties.update({p: param_schema(param) for p, param in block.params.items()})
        required = ["block", *(["name"] if require_name else []),
                    *(p for p, param in block.params.items() if param.required and not param.unless)]
        variant = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
        # `t: {unless: expanded}`: one of the two is required
        either = [{"anyOf": [{"required": [p]}, {"required": [param.unless]}]}
                  for p, param in block.params.items() if param.required and param.unless]
        variants.append({**variant, "allOf": either} if either else variant)
    # a block defined in the spec's own `blocks:` section: its parameters are the spec's
    variants.append({"type": "object",
                     "properties": {"block": {"type": "string", "pattern": IDENTIFIER.pattern,
                                              "not": {"enum": list(blocks)}}, **common},
                     "required": ["block", *(["name"] if require_name else [])]})
    return variants


def _block_definition() -> dict:
    param = {
        "type": "object",
        "properties": {
            "type": {"enum": list(PARAM_TYPES)},
            "default": {},
            "min": {"type": "number"},
            "choices": {"type": "array"},
            "first_only": {"type": "boolean", "description": "applies to the first of n repeats only"},
            "unless": {"type": "string", "description": "another parameter that may be given instead of this one"},
            "doc": {"type": "string"},
        },
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "doc": {"type": "string"},
            "params": {"type": "object", "propertyNames": {"pattern": IDENTIFIER.pattern},
                       "additionalProperties": param},
            "let": {"type": "object", "propertyNames": {"pattern": IDENTIFIER.pattern},
                    "additionalProperties": {"type": ["number", "string", "boolean"]}},
            "body": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/body_item"}},
            "output": {"type": "string", "description": "the item whose tensor the block returns (default: the last)"},
            "inputs": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string", "pattern": IDENTIFIER.pattern},
                       "description": "names of the block's inputs, input first (default [input])"},
        },
        "required": ["body"],
        "additionalProperties": False,
    }


# hover text for the editor; docs/spec-language.md has the full story of each key
_TOP_LEVEL_HELP = {
    "name": "network name (default: the file name)",
    "description": "free text",
    "source": "where the architecture comes from (paper table, implementation)",
    "extends": "a parent spec, relative to this file; its keys are merged under this file's",
    "input": "input channels and resolution",
    "width": "width multiplier applied to channel counts (--width overrides it)",
    "classes": "number of classes, readable as ${classes} (--classes overrides it)",
    "rounding": "how width-scaled channel counts are rounded",
    "defaults": "named values readable in expressions; built-in blocks read kernel, activation, norm",
    "blocks": "block types defined by this spec (same format as archcalc/blocks/builtin.yaml)",
    "layers": "the network: rows of ops and blocks, in order",
    "outputs": "names of the output tensors (default: the last row)",
}


def _top_level() -> dict[str, dict]:
    described = {key: {"description": _TOP_LEVEL_HELP.get(key, text)} for key, (_, text) in TOP_LEVEL.items()}
    rounding = {key: {"enum": list(kind)} if isinstance(kind, tuple) else {"type": "integer", "minimum": 1}
                for key, kind in ROUNDING_KEYS.items()}
    schemas = {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "source": {"type": "string"},
        "extends": {"type": "string"},
        "input": {"type": "object", "additionalProperties": False,
                  "properties": {"channels": {"type": "integer", "minimum": 1},
                                 "resolution": {"type": "integer", "minimum": 1}}},
        "width": {"type": "number", "exclusiveMinimum": 0},
        "classes": {"type": "integer", "minimum": 1},
        "rounding": {"type": "object", "properties": rounding, "additionalProperties": False},
        "defaults": {"type": "object", "propertyNames": {"pattern": IDENTIFIER.pattern},
                     "additionalProperties": {"type": ["number", "string", "boolean"]}},
        "blocks": {"type": "object", "propertyNames": {"pattern": IDENTIFIER.pattern},
                   "additionalProperties": {"$ref": "#/definitions/block_definition"}},
        "layers": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/layer_row"}},
        "outputs": {"type": "array", "items": {"type": "string"}},
    }
    # a key without a refined schema above still gets the loader's types
    plain = {key: {"type": sorted({_JSON_TYPES.get(t, "object") for t in types} - {"boolean"})}
             for key, (types, _) in TOP_LEVEL.items()}
    return {key: {**schemas.get(key, plain[key]), **described[key]} for key in TOP_LEVEL}


def _kind_names() -> dict:
    """``op`` and ``block`` names stated once beside the variants: an editor completes them from
    here (it offers an op only from the variants that already fit the row, and a row whose
    required attributes are not written yet fits none of conv2d's)."""
    return {"type": "object", "properties": {
        "op": {"anyOf": [{"enum": list(user_ops())}, {"$ref": "#/definitions/expression"}]},
        "block": {"anyOf": [{"enum": list(builtin_blocks())}, {"type": "string"}]},
    }}


def spec_schema() -> dict:
    """The JSON Schema of a spec file, as a dict (``json.dumps`` it to write a file)."""
    include_row = {
        "type": "object",
        "properties": {"include": {"type": "string", "description": "another spec whose layer rows go here"},
                       "until": {"type": "string", "description": "the last included row's name"}},
        "required": ["include"],
        "additionalProperties": False,
    }
    return copy.deepcopy({
        "$schema": DRAFT,
        "title": "archcalc spec",
        "description": "A network spec for archcalc; the language reference is docs/spec-language.md",
        "type": "object",
        "properties": _top_level(),
        "additionalProperties": False,
        # a spec that extends another may leave out what the parent gives
        "if": {"not": {"required": ["extends"]}},
        "then": {"required": ["input", "layers"],
                 "properties": {"input": {"required": ["channels", "resolution"]}}},
        "definitions": {
            "expression": {**EXPRESSION, "description": "an expression ${...}, evaluated by archcalc"},
            "layer_row": {**_kind_names(), "anyOf": [*_op_variants(ROW_KEYS, False), *_block_variants(ROW_KEYS, False),
                                                     include_row]},
            "body_item": {**_kind_names(), "anyOf": [*_op_variants(ITEM_KEYS, True), *_block_variants(ITEM_KEYS, True)]},
            "block_definition": _block_definition(),
        },
    })
