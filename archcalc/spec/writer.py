"""Writing spec YAML the way the hand-written specs read: one flow mapping per layer row."""
from __future__ import annotations

import json
import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}


def scalar(value: Any) -> str:
    """One YAML value: identifiers plain, other strings double-quoted, lists in brackets.

    >>> scalar("relu6"), scalar("${classes}"), scalar([1, 7]), scalar(1e-05), scalar(True)
    ('relu6', '"${classes}"', '[1, 7]', '1.0e-05', 'true')
    """
    import yaml

    if isinstance(value, str):
        plain = _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS
        return value if plain else json.dumps(value)  # a JSON string is a double-quoted YAML string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def flow(mapping: dict) -> str:
    """A one-line YAML mapping.

    >>> flow({"name": "stem", "block": "conv_bn_act", "c": 32, "s": 2})
    '{name: stem, block: conv_bn_act, c: 32, s: 2}'
    """
    return "{" + ", ".join(f"{key}: {scalar(value)}" for key, value in mapping.items()) + "}"
