"""The one-pass YAML reader (spec/yamlio._read_plain) reads exactly what the general reader
reads: the same values of the same types, the same line of every key and item, the same
error for every bad text. Texts it does not read itself (anchors, aliases, tags, merge
keys, repeated keys, several documents, ...) go to the general reader, which then decides."""
from __future__ import annotations

from pathlib import Path

import pytest

from archcalc.errors import SpecError
from archcalc.spec import yamlio

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "specs").rglob("*.yaml")) + sorted((ROOT / "archcalc" / "blocks").glob("*.yaml"))


def _same(a, b) -> bool:
    """Equal values of the same types, with the same lines, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return (a.line, a.key_lines, list(a)) == (b.line, b.key_lines, list(b)) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return (a.line, a.item_lines, len(a)) == (b.line, b.item_lines, len(b)) and all(map(_same, a, b))
    return a == b


def _outcome(text: str, general: bool):
    try:
        return "value", yamlio._parse_yaml(text, "spec.yaml", general=general)
    except SpecError as exc:
        return "error", str(exc)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_spec_is_read_in_one_pass_as_the_general_reader_reads_it(path: Path) -> None:
    text = path.read_text()
    loader = yamlio._LineLoader(text)
    try:
        fast = yamlio._read_plain(loader, path.name)  # raises _NotPlain if it would hand the text on
    finally:
        loader.dispose()
    assert _same(fast, yamlio._parse_yaml(text, path.name, general=True))


TEXTS = [
    "a: 1\nb: [1, 2.5, true, null, '3', \"x\", ~, 0x10, 1_000, .inf, -.nan, yes, Off]\n",
    "- {x: 1}\n- - 2\n  - 3\n- ''\n",
    "",
    "# only a comment\n",
    "---\n...\n",
    "a: &a {x: 1}\nb: *a\n",                    # anchor and alias
    "a: &a {x: 1, y: 2}\nb: {<<: *a, y: 3}\n",  # merge key
    "b: {<<: {x: 1}, y: 3}\n",                  # merge key without an alias
    "'<<': 1\n",                                # a quoted << is an ordinary key
    "a: !!str 5\nb: ! 5\nc: 5\n",                # explicit and non-specific tags beside a plain 5
    "a: ! 5\nb: !!int '7'\n",
    "a: ! 5\nb: !!int 5\n",                     # the same text, under two tags
    "a: !!python/object:os.system x\n",          # an unsafe tag: refused
    "b: {y: 1, y: 3}\n",                        # a key written twice
    "1: a\n1.0: b\n",                           # equal keys of two types
    "? [1, 2]\n: x\n",                          # a key that is no scalar
    "~: 1\n",                                   # a null key
    "a: 2001-12-14\n",                          # a timestamp
    "a: 1\n---\nb: 2\n",                        # two documents
    "a: [1, 2\n",                               # malformed
    "a: 1\nb: [" + "1" * 5000 + "]\n",          # an int past Python's digit limit
    "a: 1\nb: {c: 1, c: 2}\nd: [" * 1 + "x\n",  # a repeated key before a syntax error
    "a: " + "[" * 70 + "]" * 70 + "\n",         # deeper than the nesting budget
    "a: " + "[" * 70 + "\n",                    # deeper than the budget, and malformed
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_one_pass_reader_agrees_with_the_general_reader(text: str) -> None:
    fast, general = _outcome(text, general=False), _outcome(text, general=True)
    assert fast[0] == general[0] and (_same(fast[1], general[1]) if fast[0] == "value" else fast[1] == general[1])


@pytest.mark.parametrize("text", ["a: [1, 2, 3, 4, 5, 6]\n", "a: &x [1, 2]\nb: [*x, *x, *x]\n", "a: {b: [1, 2, 3]\n"])
def test_the_node_budget_is_reported_alike(monkeypatch, text: str) -> None:
    monkeypatch.setenv("ARCHCALC_MAX_YAML_NODES", "5")
    fast, general = _outcome(text, general=False), _outcome(text, general=True)
    assert fast == general and fast[0] == "error" and "ARCHCALC_MAX_YAML_NODES" in fast[1]


def _containers(value):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list)):
            yield item
            stack.extend(item.values() if isinstance(item, dict) else item)


@pytest.mark.parametrize("text", ["a: {x: [1, {y: 2}]}\nb: []\n", "a: &a {x: [1]}\nb: *a\n"], ids=["plain", "alias"])
@pytest.mark.parametrize("general", [False, True])
def test_a_tagged_read_records_its_file_on_every_container_and_an_untagged_one_on_none(text: str, general: bool) -> None:
    # (the one-pass reader tags each container as it makes it; the general one walks the result)
    tagged = list(_containers(yamlio._parse_yaml(text, "spec.yaml", general=general, tag=True)))
    assert len(tagged) >= 4 and all(item.file == "spec.yaml" for item in tagged)
    untagged = list(_containers(yamlio._parse_yaml(text, "spec.yaml", general=general)))
    assert not any(hasattr(item, "file") for item in untagged)
