"""Channel-rounding rules, each a named function with its source.

A spec picks its rules by name under ``rounding:``; the compiler looks them up here, so a
new rule is added in this one file (register it in :data:`CHANNEL_RULES`,
:data:`EXPANSION_RULES` or :data:`SCALE_MODES`).
"""
from __future__ import annotations

from typing import Callable


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (halves up), never below
    ``min_value`` (default: ``divisor``) and never more than 10% below ``value``.

    This is TF-slim's ``_make_divisible`` (``research/slim/nets/mobilenet/mobilenet.py``),
    copied verbatim by torchvision and Keras::

        new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
        if new_v < 0.9 * v: new_v += divisor

    >>> make_divisible(0.35 * 32)   # int(15.2)//8*8 = 8 < 0.9*11.2, so one more step
    16
    >>> make_divisible(1.4 * 1280)
    1792
    """
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return int(new_value)


def truncate_depth(value: float, min_depth: int = 8) -> int:
    """MobileNetV1's rule (slim ``mobilenet_v1.py``): ``max(int(d * multiplier), min_depth)``.

    It truncates and has no divisibility constraint.

    >>> truncate_depth(0.75 * 32)
    24
    >>> truncate_depth(0.25 * 20)
    8
    """
    return max(int(value), min_depth)


def nearest_channels(value: float, min_depth: int = 1) -> int:
    """Round to the nearest whole channel count (halves up), at least ``min_depth``.

    The default for specs that name no rule: at width 1 every count is left as written.

    >>> nearest_channels(0.75 * 6)
    5
    """
    return max(int(value + 0.5), min_depth)


def exact_channels(value: float, **_: int) -> int:
    """No rounding: the scaled value must already be a whole number (ShuffleNet's s×)."""
    rounded = int(round(value))
    if abs(rounded - value) > 1e-9:
        raise ValueError(f"width-scaled channel count {value:g} is not a whole number")
    return rounded


def expand_make_divisible(in_channels: int, factor: float, divisor: int = 8) -> int:
    """Hidden width of an expansion, slim ``expand_input_by_factor``:
    ``make_divisible(in_channels * factor, 8)`` (its ``divisible_by`` is not the spec's).

    A factor of 1 keeps the input width exactly (slim: ``expand_input(1, divisible_by=1)``).
    """
    if factor == 1:
        return int(in_channels)
    return make_divisible(in_channels * factor, divisor)


def expand_round(in_channels: int, factor: float, divisor: int = 8) -> int:
    """torchvision's hidden width: ``int(round(inp * expand_ratio))`` (``divisor`` unused).

    For the published MobileNetV2 widths it equals :func:`expand_make_divisible`.
    """
    return int(round(in_channels * factor))


def scale_width(width: float) -> float:
    """Ordinary layers: channels are multiplied by the width multiplier."""
    return width


def scale_grow_only(width: float) -> float:
    """The paper's last layer: "for multipliers less than one, we apply width multiplier to
    all layers except the very last convolutional layer"; slim/torchvision/Keras still grow
    it for width > 1 (1.4 -> 1792). Hence ``max(1, width)``."""
    return max(1.0, width)


def scale_none(width: float) -> float:
    """Layers whose width is fixed by the task, e.g. the classifier's class count."""
    return 1.0


CHANNEL_RULES: dict[str, Callable[..., int]] = {
    "nearest": nearest_channels,
    "make_divisible": make_divisible,
    "truncate": truncate_depth,
    "exact": exact_channels,
}
EXPANSION_RULES: dict[str, Callable[..., int]] = {
    "make_divisible": expand_make_divisible,
    "round": expand_round,
}
DEFAULT_CHANNEL_RULE = "nearest"
DEFAULT_EXPANSION_RULE = "make_divisible"


def channel_rule(rounding: dict) -> tuple[str, Callable[..., int], dict]:
    """The spec's ``rounding:`` section -> (rule name, rule, its keyword arguments).

    The one place where the spec keys ``divisor`` and ``min_depth`` meet each rule's own
    parameters and defaults (slim: divisor 8, min_depth 8; ``nearest``: min_depth 1).
    """
    name = rounding.get("channels", DEFAULT_CHANNEL_RULE)
    kwargs = {
        "make_divisible": {"divisor": rounding.get("divisor", 8), "min_value": rounding.get("min_depth", 8)},
        "truncate": {"min_depth": rounding.get("min_depth", 8)},
        "nearest": {"min_depth": rounding.get("min_depth", 1)},
        "exact": {},
    }[name]
    return name, CHANNEL_RULES[name], kwargs


def expansion_rule(rounding: dict) -> Callable[..., int]:
    return EXPANSION_RULES[rounding.get("expansion", DEFAULT_EXPANSION_RULE)]


SCALE_MODES: dict[str, Callable[[float], float]] = {
    "width": scale_width,
    "grow_only": scale_grow_only,
    "none": scale_none,
}



__all__ = [
    "make_divisible",
    "truncate_depth",
    "nearest_channels",
    "exact_channels",
    "expand_make_divisible",
    "expand_round",
    "scale_width",
    "scale_grow_only",
    "scale_none",
    "CHANNEL_RULES",
    "EXPANSION_RULES",
    "SCALE_MODES",
]
