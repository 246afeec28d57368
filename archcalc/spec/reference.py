"""The spec language's reference, generated from the op registry and the built-in blocks.

``docs/spec-language.md`` is hand-written prose with generated regions between
``<!-- BEGIN GENERATED name -->`` and ``<!-- END GENERATED name -->`` markers; this module
writes those regions (the op and block tables) and checks the whole file for gaps:

- :func:`undocumented` lists every op, attribute, block or block parameter without its
  documentation (an op documents itself in its class docstring: a one-line summary, then
  ``Shape:``, ``Cost:`` and, when it has parameters, ``Params:`` lines);
- :func:`missing_sections` lists every top-level key, row key, block-definition key,
  rounding rule and expression function the hand-written part does not cover;
- :func:`stale_regions` and :func:`render_regions` compare and rewrite the generated parts.

``archcalc docs`` is the command line over these; ``tests/test_docs.py`` fails on any gap.
For a notebook, :func:`op_reference` and :func:`block_reference` return DataFrames.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from archcalc.blocks import BLOCK_KEYS, PARAM_KEYS, PARAM_TYPES, ROW_KEYS, BlockDef, ParamDef, builtin_blocks
from archcalc.ops import Attr, OpDef, all_ops
from archcalc.ops.base import REQUIRED
from archcalc.spec.expr import expression_source

if TYPE_CHECKING:  # pandas is imported only when a DataFrame is asked for
    import pandas

SECTIONS = ("Shape", "Params", "Cost", "Memory")  # Memory: optional, what the memory analysis assumes
_SECTION_LINE = re.compile(r"^(\w+):\s*(.*)$")


# ---------------------------------------------------------------------------- ops
@dataclass(frozen=True)
class OpDoc:
    """What the reference says about one op, read from its OpDef."""

    kind: str
    summary: str
    details: str
    inputs: str
    shape: str
    params: str
    cost: str
    memory: str
    attrs: dict[str, Attr]


def user_ops() -> dict[str, OpDef]:
    """The ops a spec may write (the registry without internal ops such as the graph input)."""
    return {kind: op for kind, op in sorted(all_ops().items()) if not op.internal}


def docstring_sections(cls: type) -> dict[str, str]:
    """``{"summary": ..., "Shape": ..., "Cost": ..., "Params": ...}`` from a class docstring.

    The summary is the first paragraph; other paragraphs are the details. A section starts at
    a ``Word:`` line and runs to the next such line or a blank line. A section the class does
    not state is looked up along its bases (an activation inherits ``Shape: unchanged`` from
    their shared base); the details are the class's own.
    """
    found: dict[str, str] = {}
    for klass in cls.__mro__:
        if klass in (OpDef, object):
            break
        for key, text in _parse_docstring(klass.__dict__.get("__doc__") or "").items():
            if klass is cls or key != "details":
                found.setdefault(key, text)
    return found


def _parse_docstring(doc: str) -> dict[str, str]:
    lines = [line.strip() for line in doc.strip().splitlines()]
    parsed: dict[str, list[str]] = {}
    current: str | None = "summary"
    for line in lines:
        match = _SECTION_LINE.match(line)
        if match and match.group(1) in SECTIONS:
            current = match.group(1)
            parsed[current] = [match.group(2)]
        elif not line:
            current = None
        else:
            parsed.setdefault(current or "details", []).append(line)
            current = current or "details"
    return {key: " ".join(words).strip() for key, words in parsed.items()}


def op_doc(op: OpDef) -> OpDoc:
    sections = docstring_sections(type(op))
    cost = sections.get("Cost", "")
    if not cost and op.free_because:
        cost = f"none ({op.free_because})"
    return OpDoc(
        kind=op.kind,
        summary=sections.get("summary", ""),
        details=sections.get("details", ""),
        inputs=_input_count(op),
        shape=sections.get("Shape", ""),
        params=sections.get("Params", ""),
        cost=cost,
        memory=sections.get("Memory", ""),
        attrs=dict(op.attrs),
    )


def _input_count(op: OpDef) -> str:
    if op.max_inputs is None:
        return f"{op.min_inputs} or more"
    if op.max_inputs == op.min_inputs:
        return str(op.min_inputs)
    return f"{op.min_inputs} to {op.max_inputs}"


def _overrides_params(op: OpDef) -> bool:
    return type(op).params is not OpDef.params


# ---------------------------------------------------------------------------- gaps
def undocumented() -> list[str]:
    """Every op, attribute, built-in block and block parameter lacking its documentation."""
    gaps = []
    for kind, op in user_ops().items():
        doc = op_doc(op)
        where = f"op {kind} ({type(op).__module__}.{type(op).__name__})"
        if not doc.summary:
            gaps.append(f"{where}: no docstring summary")
        if not doc.shape:
            gaps.append(f"{where}: no 'Shape:' line in its docstring")
        if not doc.cost:
            gaps.append(f"{where}: no 'Cost:' line in its docstring (or free_because)")
        if _overrides_params(op) and not doc.params:
            gaps.append(f"{where}: it has parameters but no 'Params:' line in its docstring")
        gaps += [f"{where}: attribute {name!r} has no doc=" for name, attr in op.attrs.items() if not attr.doc.strip()]
    for name, block in builtin_blocks().items():
        if not block.doc:
            gaps.append(f"block {name} (archcalc/blocks/builtin.yaml): no doc")
        gaps += [f"block {name} (archcalc/blocks/builtin.yaml): parameter {p!r} has no doc"
                 for p, param in block.params.items() if not param.doc]
    return gaps


def required_topics() -> dict[str, list[str]]:
    """``{section title: [names]}``: each name must appear in backticks in a heading (or, for
    functions and rule names, a table row) of that ``## section`` of the hand-written reference."""
    from archcalc.compiler import expression_functions
    from archcalc.spec.loader import ROUNDING_KEYS, TOP_LEVEL
    from archcalc.width import CHANNEL_RULES, EXPANSION_RULES, SCALE_MODES

    return {
        "Top-level keys": sorted(TOP_LEVEL),
        "Layer rows": sorted(ROW_KEYS | {"include", "until"}),
        "Blocks": sorted(BLOCK_KEYS | PARAM_KEYS | set(PARAM_TYPES)),
        "Rounding and width": sorted({*ROUNDING_KEYS, *CHANNEL_RULES, *EXPANSION_RULES, *SCALE_MODES}),
        "Expressions": sorted(expression_functions({})),
    }


def missing_sections(markdown: str) -> list[str]:
    """Required topics the hand-written part of ``markdown`` does not cover."""
    sections = _sections_by_title(_strip_generated(markdown))
    gaps = []
    for title, names in required_topics().items():
        body = sections.get(title)
        if body is None:
            gaps.append(f"no '## {title}' section")
            continue
        covered = {name for line in body if line.startswith(("#", "|")) for name in re.findall(r"`(\w+)", line)}
        gaps += [f"'## {title}' covers no `{name}` (in a heading or table row)" for name in names if name not in covered]
    return gaps


def _sections_by_title(markdown: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        elif current is not None:
            current.append(line)
    return sections


# ---------------------------------------------------------------------------- markdown
def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default_text(default: Any) -> str:
    if default is REQUIRED:
        return "required"
    if isinstance(default, bool):
        return "`true`" if default else "`false`"
    if isinstance(default, str):
        return f"`{default}`"
    return f"`{default:g}`" if isinstance(default, float) else f"`{default}`"


def _attr_type(attr: Attr) -> str:
    text = attr.describe()
    return text + ", scaled by the width multiplier in layer rows" if attr.channels else text


def _param_type(param: ParamDef) -> str:
    text = param.expected()
    if param.type == "channels":
        text += ", scaled by the width multiplier in layer rows"
    if param.first_only:
        text += "; first of `n` repeats only"
    return text


def ops_markdown() -> str:
    """The generated op reference: a summary table, then each op with its attributes and rules."""
    docs = [op_doc(op) for op in user_ops().values()]
    lines = ["| op | inputs | attributes | summary |", "|---|---|---|---|"]
    lines += [f"| [`{d.kind}`](#op-{d.kind}) | {d.inputs} | {', '.join(f'`{a}`' for a in d.attrs) or '—'} | {_cell(d.summary)} |"
              for d in docs]
    for d in docs:
        lines += ["", f'<a id="op-{d.kind}"></a>', f"#### `{d.kind}`", "", " ".join(filter(None, (d.summary, d.details))), ""]
        if d.attrs:
            lines += ["| attribute | type | default | meaning |", "|---|---|---|---|"]
            lines += [f"| `{name}` | {_cell(_attr_type(a))} | {_default_text(a.default)} | {_cell(a.doc)} |"
                      for name, a in d.attrs.items()]
        else:
            lines.append("No attributes.")
        lines += ["", f"- **Inputs:** {d.inputs}", f"- **Shape:** {d.shape}"]
        if d.params:
            lines.append(f"- **Params:** {d.params}")
        lines.append(f"- **Cost:** {d.cost}")
        if d.memory:
            lines.append(f"- **Memory:** {d.memory}")
    return "\n".join(lines)


def _body_text(block: BlockDef) -> str:
    parts = []
    for item in block.body:
        what = item.get("op", item.get("block"))
        extra = []
        if "from" in item:
            sources = item["from"] if isinstance(item["from"], list) else [item["from"]]
            extra.append("from " + ", ".join(map(str, sources)))
        if "when" in item:
            extra.append(f"when {expression_source(item['when']) or item['when']}")
        what = f"`{what}`" if expression_source(what) else what
        parts.append(f"`{item['name']}` {what}" + (f" ({'; '.join(extra)})" if extra else ""))
    return " → ".join(parts)


def _first_sentence(text: str) -> str:
    return " ".join(text.split()).split(". ")[0].rstrip(".") + "."


def blocks_markdown() -> str:
    """The generated block reference: each built-in block with its parameters and body."""
    blocks = builtin_blocks()
    lines = ["| block | parameters | summary |", "|---|---|---|"]
    lines += [f"| [`{name}`](#block-{name}) | {', '.join(f'`{p}`' for p in b.params)} | {_cell(_first_sentence(b.doc))} |"
              for name, b in blocks.items()]
    for name, block in blocks.items():
        lines += ["", f'<a id="block-{name}"></a>', f"#### `{name}`", "", " ".join(block.doc.split()), ""]
        lines += ["| parameter | type | default | meaning |", "|---|---|---|---|"]
        lines += [f"| `{p}` | {_cell(_param_type(param))} | {_default_text(REQUIRED if param.required else param.default)} | {_cell(param.doc)} |"
                  for p, param in block.params.items()]
        lines.append("")
        if block.let:
            lines.append("- **let:** " + ", ".join(f"`{k} = {expression_source(v) or v}`" for k, v in block.let))
        lines.append(f"- **body:** {_body_text(block)}")
        if block.output:
            lines.append(f"- **output:** `{block.output}`")
    return "\n".join(lines)


GENERATORS: dict[str, Callable[[], str]] = {"ops": ops_markdown, "blocks": blocks_markdown}
_REGION = re.compile(r"(<!-- BEGIN GENERATED (\w+)[^>]*-->\n)(.*?)(<!-- END GENERATED \2 -->)", re.DOTALL)


def render_regions(markdown: str) -> str:
    """``markdown`` with every generated region rewritten from the registry."""
    missing = set(GENERATORS) - {m.group(2) for m in _REGION.finditer(markdown)}
    if missing:
        raise ValueError(f"no '<!-- BEGIN GENERATED {sorted(missing)[0]} -->' ... '<!-- END GENERATED "
                         f"{sorted(missing)[0]} -->' region to fill")

    def fill(match: re.Match) -> str:
        name = match.group(2)
        if name not in GENERATORS:
            raise ValueError(f"unknown generated region {name!r} (known: {', '.join(GENERATORS)})")
        return f"{match.group(1)}{GENERATORS[name]()}\n{match.group(4)}"

    return _REGION.sub(fill, markdown)


def stale_regions(markdown: str) -> list[str]:
    """Names of the generated regions whose text differs from what the registry gives now."""
    fresh = {m.group(2): m.group(3) for m in _REGION.finditer(render_regions(markdown))}
    return [m.group(2) for m in _REGION.finditer(markdown) if m.group(3) != fresh[m.group(2)]]


def _strip_generated(markdown: str) -> str:
    return _REGION.sub("", markdown)


# ---------------------------------------------------------------------------- frames
def op_reference() -> "pandas.DataFrame":
    """One row per (op, attribute) — ops without attributes get one row — with the rules."""
    import pandas as pd

    rows = []
    for op in user_ops().values():
        d = op_doc(op)
        base = dict(op=d.kind, inputs=d.inputs, shape=d.shape, params=d.params, cost=d.cost)
        for name, attr in d.attrs.items() or [(None, None)]:
            rows.append({**base, "attribute": name, "type": attr and _attr_type(attr),
                         "default": attr and (None if attr.required else attr.default), "doc": attr and attr.doc})
    return pd.DataFrame(rows)


def block_reference() -> "pandas.DataFrame":
    """One row per (built-in block, parameter)."""
    import pandas as pd

    return pd.DataFrame([
        dict(block=name, parameter=p, type=_param_type(param), default=None if param.required else param.default,
             first_only=param.first_only, doc=param.doc)
        for name, block in builtin_blocks().items() for p, param in block.params.items()
    ])
