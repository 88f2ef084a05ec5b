"""The YAML loader (generator/load/yaml_loader.py): values, the places of values and keys, the
raw text of non-string scalars, and the loader's own diagnostics."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml.constructor

from generator.diagnostics import Diagnostics
from generator.load import load_file

TEXT = """\
name: shop
port: 8080
flags: [yes, 'no', ~]
when: 2024-01-02
nested: {a: {b: text}}
name: again
<<: {x: 1}
? [1]
: list key
"""


def test_values_places_and_diagnostics() -> None:
    diags = Diagnostics()
    loaded = load_file("s.yaml", TEXT, diags)
    assert loaded is not None
    assert loaded.data == {
        "name": "shop",
        "port": 8080,
        "flags": [True, "no", None],
        "when": datetime.date(2024, 1, 2),
        "nested": {"a": {"b": "text"}},
    }
    assert loaded.places == {
        (): (1, 1),
        ("name",): (1, 7),
        ("port",): (2, 7),
        ("flags",): (3, 8),
        ("flags", 0): (3, 9),
        ("flags", 1): (3, 14),
        ("flags", 2): (3, 20),
        ("when",): (4, 7),
        ("nested",): (5, 9),
        ("nested", "a"): (5, 13),
        ("nested", "a", "b"): (5, 17),
    }
    assert loaded.key_places == {
        ("name",): (1, 1),
        ("port",): (2, 1),
        ("flags",): (3, 1),
        ("when",): (4, 1),
        ("nested",): (5, 1),
        ("nested", "a"): (5, 10),
        ("nested", "a", "b"): (5, 14),
    }
    assert loaded.raw_scalars == {
        ("port",): "8080",
        ("flags", 0): "yes",
        ("flags", 2): "~",
        ("when",): "2024-01-02",
    }
    assert diags.render().splitlines() == [
        "s.yaml:6:1: error: duplicate key `name` (first defined at s.yaml:1:1)",
        "s.yaml:7:1: error: YAML merge keys (`<<`) are not supported",
        "s.yaml:8:3: error: a mapping key must be a plain name",
    ]


def test_strings_are_taken_without_the_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A string is the node's own text: PyYAML's constructor, and its bookkeeping for each
    node, is only asked for other scalars (most scalars of a spec are strings)."""
    asked: list[str] = []
    construct = yaml.constructor.SafeConstructor.construct_object

    def counting(
        self: yaml.constructor.SafeConstructor, node: yaml.Node, deep: bool = False
    ) -> Any:
        asked.append(node.value)
        return construct(self, node, deep)

    monkeypatch.setattr(yaml.constructor.SafeConstructor, "construct_object", counting)
    loaded = load_file("s.yaml", "a: text\nb: [x, 'y', 1]\nc: !!str 2\n", Diagnostics())
    assert loaded is not None
    assert loaded.data == {"a": "text", "b": ["x", "y", 1], "c": "2"}
    assert asked == ["1"]
