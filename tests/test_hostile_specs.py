"""Hostile specs (VERIFY.md, "The generator's own input"): every string a spec can carry, and
names real people use or abuse, give either located diagnostics or code that parses with every
string intact, and no output path outside the output folder."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.pipeline import build

NASTY_TEXT = st.lists(
    st.one_of(
        st.sampled_from(
            [
                '"',
                "'",
                '"""',
                "\\",
                "{}",
                "{{x}}",
                "%s",
                "%",
                "\x00",
                "\n",
                "\r",
                "\u2028",
                "\u2029",
                "\t",
                "`",
                "$me",
                "../",
                "ﬁ",
                "é",
                "\ufeff",
                "nan",
                "inf",
                "*/",
                "-->",
                "#",
            ]
        ),
        st.text(max_size=6),
    ),
    max_size=6,
).map("".join)
NAMES = st.one_of(
    st.sampled_from(
        [
            "type",
            "format",
            "match",
            "case",
            "class",
            "from",
            "import",
            "metadata",
            "registry",
            "model_config",
            "model_dump",
            "json",
            "dict",
            "self",
            "id",
            "select",
            "order",
            "group",
            "user",
            "table",
            "__init__",
            "_x",
            "x_",
            "a__b",
            "\uff30ost",
            "post",
            "Post",
            "posts",
            "ﬁeld",
            "9lives",
            "print",
            "list",
            "str",
            "query",
            "base",
            "health",
            "t" * 70,
        ]
    ),
    st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True),
)


MODULE_STATEMENTS = (
    ast.Import,
    ast.ImportFrom,
    ast.ClassDef,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Assign,
    ast.AnnAssign,
    ast.If,
    ast.For,
)
CLASS_STATEMENTS = (ast.Assign, ast.AnnAssign, ast.FunctionDef, ast.AsyncFunctionDef, ast.Pass)


def _docstring_or_named_call(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and (
        (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))
        or (
            isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name | ast.Attribute)
        )
    )


def assert_allow_listed(tree: ast.Module, path: str) -> None:
    """Module and class scope hold only declarations: no spec string became a statement."""
    for node in tree.body:
        assert isinstance(node, MODULE_STATEMENTS) or _docstring_or_named_call(node), (
            path,
            ast.dump(node)[:200],
        )
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                assert isinstance(item, CLASS_STATEMENTS) or (
                    isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant)
                ), (path, node.name, ast.dump(item)[:200])


def _spec(entity: str, field: str, text: str, values: list[str], pattern: str) -> str:
    document = {
        "api": {"name": "hostile", "title": text, "description": text},
        "entities": {
            entity: {
                "description": text,
                "fields": {
                    field: {
                        "type": "string",
                        "description": text,
                        "example": text,
                        "default": text,
                        "max_length": 255,
                    },
                    "level": {"type": "enum", "values": values or ["a"]},
                    "code": {"type": "string", "pattern": pattern, "nullable": True},
                },
            }
        },
    }
    return yaml.safe_dump(document, allow_unicode=True)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(NAMES, NAMES, NASTY_TEXT, st.lists(NASTY_TEXT, min_size=1, max_size=4), NASTY_TEXT)
def test_hostile_spec_is_diagnosed_or_generates_safe_code(
    tmp_path_factory: object, entity: str, field: str, text: str, values: list[str], pattern: str
) -> None:
    root = Path(tmp_path_factory.mktemp("hostile"))  # type: ignore[attr-defined]
    source = _spec(entity, field, text, values, pattern)
    (root / "api.yaml").write_text(source, encoding="utf-8")
    # YAML itself may change a string (it folds NEL, U+0085, to a space): compare with what
    # the loader reads, which is what the spec means.
    loaded = yaml.safe_load(source)
    text = loaded["api"]["title"]
    values = next(iter(loaded["entities"].values()))["fields"]["level"]["values"]
    result = build(root, label_root="spec", format_code=False)
    if not result.ok:
        for d in result.diagnostics:
            assert re.match(r"^spec/api\.yaml:\d+:\d+: (error|warning): \S", d.render()), d.render()
        assert result.files == {}
        return
    for path, content in result.files.items():
        assert not path.startswith("/") and ".." not in path.split("/"), path
        if path.endswith(".py"):
            assert_allow_listed(ast.parse(content, filename=path), path)
        if path.endswith(".json"):
            json.loads(content)
    enums = ast.parse(result.files["hostile/hostile/enums.py"])
    stored = {
        node.value.value
        for node in ast.walk(enums)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
    }
    assert set(values) <= stored
    package = ast.parse(result.files["hostile/hostile/__init__.py"])
    doc = ast.get_docstring(package, clean=False) or ""
    assert " ".join(doc.split()) == " ".join(f"{text}: {text}".split()) or not text.strip()
