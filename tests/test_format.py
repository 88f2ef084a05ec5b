"""generator/format.py: one pinned, isolated ruff process formats every generated .py file."""

from __future__ import annotations

import json
import pickle
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator import format as fmt
from generator.format import FormatError, black_check, format_python

MESSY = """\
import os,sys
def f( a,b ):
  return {'a':a,'b':b, 'path':os.path.join( 'x','y' )}
class  C :
    x : int=1
    def m(self):return sys.argv
"""

SNIPPETS = {
    "app/messy.py": MESSY,
    "app/long.py": (
        "def function_with_a_long_signature(first_argument, second_argument, third_argument,"
        " fourth_argument): pass\n"
    ),
    "app/trailing_comma.py": "x = [\n    1,\n    2,\n]\ny = f(a,)\n",
    "app/strings.py": "s = 'single'\nt = 'it\\'s'\nu = '''doc'''\n",
    "app/crlf.py": "a = 1\r\nb = 2\r\n",
}


@pytest.fixture
def run_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record the argv of every subprocess.run call (the real call still happens)."""
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(args: Any, *a: Any, **kw: Any) -> Any:
        calls.append([str(x) for x in args])
        return real_run(args, *a, **kw)

    monkeypatch.setattr(subprocess, "run", counting_run)
    return calls


def test_formats_a_messy_snippet_with_the_pinned_style() -> None:
    """Spacing, quotes and layout follow the pinned black-compatible ruff configuration."""
    out = format_python({"m.py": MESSY})["m.py"]
    assert out == (
        "import os, sys\n"
        "\n"
        "\n"
        "def f(a, b):\n"
        '    return {"a": a, "b": b, "path": os.path.join("x", "y")}\n'
        "\n"
        "\n"
        "class C:\n"
        "    x: int = 1\n"
        "\n"
        "    def m(self):\n"
        "        return sys.argv\n"
    )


def test_line_length_is_100_and_newlines_are_lf() -> None:
    """A 99-character line stays on one line, a longer call is split, CRLF becomes LF."""
    fits = "x = " + repr("a" * 93) + "\n"
    assert len(fits.rstrip("\n")) == 99
    out = format_python({"fits.py": fits.replace("'", '"'), "c.py": "a = 1\r\nb = 2\r\n"})
    assert out["fits.py"] == fits.replace("'", '"')
    assert out["c.py"] == "a = 1\nb = 2\n"
    long = format_python({"l.py": SNIPPETS["app/long.py"]})["l.py"]
    assert all(len(line) <= 100 for line in long.splitlines())
    assert long.count("\n") > 2


def test_non_python_values_are_returned_untouched_and_key_order_kept() -> None:
    """Only *.py values are formatted; other files come back byte-identical, same key order."""
    files = {"z.txt": "  x  =  1  \r\n", "b.py": "x=1\n", "a.toml": "k='v'\n", "x.pyi": "y=1\n"}
    out = format_python(files)
    assert list(out) == list(files)
    assert out["z.txt"] == files["z.txt"]
    assert out["a.toml"] == files["a.toml"]
    assert out["x.pyi"] == files["x.pyi"]
    assert out["b.py"] == "x = 1\n"


def test_formatting_is_idempotent() -> None:
    """format(format(x)) == format(x) for every snippet."""
    once = format_python(SNIPPETS)
    twice = format_python(once)
    assert twice == once


def test_all_files_go_to_one_ruff_process(run_calls: list[list[str]]) -> None:
    """Many .py files in nested folders are formatted by a single `ruff format` call."""
    files = {f"pkg{i % 3}/sub/mod{i}.py": f"x{i}  =  'v{i}'\n" for i in range(12)}
    out = format_python(files)
    assert len(run_calls) == 1
    argv = run_calls[0]
    assert argv[1] == "format"
    assert "--no-cache" in argv
    assert "--config" in argv
    assert all(out[p] == f'x{i} = "v{i}"\n' for i, p in enumerate(files))


def test_no_process_when_there_is_no_python(run_calls: list[list[str]]) -> None:
    """A mapping without .py files never starts ruff."""
    assert format_python({"README.md": "# hi\n"}) == {"README.md": "# hi\n"}
    assert run_calls == []


def test_syntax_error_raises_format_error_naming_the_file() -> None:
    """Broken generated code raises FormatError carrying the file's path and ruff's message."""
    with pytest.raises(FormatError) as info:
        format_python({"ok.py": "x = 1\n", "blog/models.py": "def f(:\n    pass\n"})
    assert info.value.path == "blog/models.py"
    assert "blog/models.py" in str(info.value)
    assert "parse" in str(info.value).lower()


def test_user_configuration_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A ruff.toml/pyproject.toml around the temp dir or the cwd cannot change the style."""
    hostile = '[format]\nquote-style = "single"\n'
    (tmp_path / "ruff.toml").write_text("line-length = 20\n" + hostile)
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 20\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "ruff").mkdir()
    (tmp_path / "ruff" / "ruff.toml").write_text("line-length = 20\n" + hostile)
    out = format_python({"a.py": "value = {'key': 'a rather long value here'}\n"})
    assert out["a.py"] == 'value = {"key": "a rather long value here"}\n'


def test_unsafe_keys_are_refused() -> None:
    """A key that could escape the temporary directory raises ValueError before ruff runs."""
    for bad in ("../x.py", "/abs/x.py", "a/../../x.py", "a\\x.py"):
        with pytest.raises(ValueError):
            format_python({bad: "x = 1\n"})


def test_cache_hit_skips_ruff(tmp_path: Path, run_calls: list[list[str]]) -> None:
    """With a warm cache the same input is formatted without starting any process."""
    cache = tmp_path / "cache"
    first = format_python(SNIPPETS, cache_dir=cache)
    assert len(run_calls) == 1
    second = format_python(SNIPPETS, cache_dir=cache)
    assert second == first
    assert len(run_calls) == 1


def test_only_cache_misses_are_sent_to_ruff(tmp_path: Path, run_calls: list[list[str]]) -> None:
    """After one file changes, only that file is passed to the (single) ruff call."""
    cache = tmp_path / "cache"
    format_python(SNIPPETS, cache_dir=cache)
    changed = dict(SNIPPETS, **{"app/strings.py": "s = 'changed'\n"})
    out = format_python(changed, cache_dir=cache)
    assert len(run_calls) == 2
    sent = [arg for arg in run_calls[1] if arg.endswith(".py")]
    assert sent == ["app/strings.py"]
    assert out["app/strings.py"] == 's = "changed"\n'
    assert out == format_python(changed)


def test_a_corrupt_cache_is_a_miss_and_is_repaired(
    tmp_path: Path, run_calls: list[list[str]]
) -> None:
    """A damaged cache file only costs its hits: ruff runs again and the file is rewritten."""
    cache = tmp_path / "cache"
    files = {"a.py": "a  =  1\n", "b.py": "b  =  2\n"}
    expected = format_python(files, cache_dir=cache)
    store = cache / fmt.CACHE_FILE
    store.write_bytes(store.read_bytes()[:-3])  # truncated
    assert format_python(files, cache_dir=cache) == expected
    assert len(run_calls) == 2
    assert format_python(files, cache_dir=cache) == expected
    assert len(run_calls) == 2


def test_the_cache_is_one_file(tmp_path: Path) -> None:
    """All entries go to one store file (beside its index and lock); no temporary file stays
    in the cache folder."""
    cache = tmp_path / "cache"
    format_python(SNIPPETS, cache_dir=cache)
    names = [fmt.CACHE_FILE, fmt.CACHE_FILE + ".index", fmt.CACHE_FILE + ".lock"]
    assert sorted(p.name for p in cache.iterdir()) == names


def test_unwritable_cache_is_ignored(tmp_path: Path) -> None:
    """A cache_dir that is a regular file does not break formatting."""
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert format_python({"a.py": "x=1\n"}, cache_dir=not_a_dir) == {"a.py": "x = 1\n"}


def test_cache_key_covers_version_config_and_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing the ruff version or the configuration changes the cache key."""
    key = fmt._cache_key("x = 1\n")
    assert key != fmt._cache_key("x = 2\n")
    monkeypatch.setattr(fmt, "RUFF_CONFIG", fmt.RUFF_CONFIG + "# changed\n")
    assert fmt._cache_key("x = 1\n") != key
    monkeypatch.undo()
    monkeypatch.setattr(fmt, "ruff_version", lambda: "ruff 0.0.0")
    assert fmt._cache_key("x = 1\n") != key


def test_black_agrees_with_ruff_output() -> None:
    """black --check (line length 100, py311) accepts what our ruff configuration produces."""
    formatted = format_python(SNIPPETS)
    assert black_check(formatted) == []


def test_black_check_reports_files_it_would_change() -> None:
    """black_check returns exactly the relative paths black would reformat."""
    files = {"ok.py": 'x = "a"\n', "pkg/bad.py": "x  =  'a'\n", "notes.txt": "x  =  'a'\n"}
    assert black_check(files) == ["pkg/bad.py"]


# --- a module formatted in groups of its parts -----------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _client_models_of(document: str) -> str:
    from generator.client_models import render_models

    return render_models(json.loads(document)["components"]["schemas"])


def _golden_client_models() -> dict[str, str]:
    documents = sorted(
        [ROOT / "output" / e / "openapi.json" for e in ("blog", "shop", "weather")]
        + list((ROOT / "tests" / "cases").glob("**/expected/*/openapi.json"))
    )
    return {
        f"golden{i}/models.py": _client_models_of(d.read_text(encoding="utf-8"))
        for i, d in enumerate(documents)
    }


def _benchmark_client_models(tmp_path: Path, entities: int) -> str:
    """The client models of bench/synth.py's project of `entities` entities."""
    from generator.openapi import served_document
    from generator.pipeline import compile_specs

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import synth  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    synth.write_specs(entities, tmp_path / "specs")
    projects, diags = compile_specs(tmp_path / "specs")
    assert not diags.has_errors
    return _client_models_of(served_document(projects[0], {}, None))


def _as_whole_and_in_groups(modules: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Each module formatted whole and in groups of its parts, by one ruff process."""
    files = {f"whole/{rel}": str(text) for rel, text in modules.items()}
    files |= {f"groups/{rel}": text for rel, text in modules.items()}
    out = format_python(files)
    whole = {rel: out[f"whole/{rel}"] for rel in modules}
    return whole, {rel: out[f"groups/{rel}"] for rel in modules}


def test_client_models_formatted_in_groups_are_the_module_formatted_whole(tmp_path: Path) -> None:
    """ruff formats the client models' classes each on their own: the formatted groups joined
    are what formatting the whole module gives, for every golden case and N=200."""
    modules = _golden_client_models()
    modules["bench200/models.py"] = _benchmark_client_models(tmp_path, 200)
    assert all(isinstance(text, fmt.ModuleParts) for text in modules.values())
    assert len(fmt._groups(modules["bench200/models.py"].parts)) > 50
    whole, in_groups = _as_whole_and_in_groups(modules)
    assert in_groups == whole


def _factories_of(spec_dirs: list[Path]) -> dict[str, str]:
    """tests/factories.py (unformatted) of every project the spec folders compile to."""
    from generator.emit import tests as tests_emitter
    from generator.pipeline import compile_specs

    modules: dict[str, str] = {}
    for index, spec_dir in enumerate(spec_dirs):
        projects, _ = compile_specs(spec_dir)
        for project in projects:
            for rendered in tests_emitter.emit(project):
                if rendered.path.endswith("/tests/factories.py"):
                    modules[f"case{index}/{rendered.path}"] = rendered.content
    return modules


def test_factories_formatted_in_groups_are_the_module_formatted_whole(tmp_path: Path) -> None:
    """tests/factories.py is emitted in parts (its head, one part per factory): formatted in
    groups, it is what formatting the whole module gives, for every golden case and N=200."""
    cases = ROOT / "tests" / "cases"
    spec_dirs = sorted(
        [ROOT / "specs" / e for e in ("blog", "shop", "weather")]
        + [p for p in cases.glob("*/spec") if not (p.parent / "stderr.txt").exists()]
        + [p for p in cases.glob("*/steps/*/spec") if not (p.parent / "stderr.txt").exists()]
    )
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import synth  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    synth.write_specs(200, tmp_path / "specs")
    modules = _factories_of([*spec_dirs, tmp_path / "specs"])
    bench = next(text for rel, text in modules.items() if rel.startswith(f"case{len(spec_dirs)}/"))
    assert isinstance(bench, fmt.ModuleParts) and len(fmt._groups(bench.parts)) > 5
    assert sum(isinstance(text, fmt.ModuleParts) for text in modules.values()) > 30
    whole, in_groups = _as_whole_and_in_groups(modules)
    assert in_groups == whole


def _messy_part(rng: random.Random, index: int) -> str:
    """A top-level statement ruff has work to do on: long lines, magic trailing commas, quotes,
    docstrings, nested blocks and blank lines to collapse."""
    name = f"Model{index}"
    fields = [
        f"    field_{k} : Annotated[ list[ str ] | None , "
        f"Field( description = '{'x' * rng.randint(0, 90)}' ) ] = None"
        for k in range(rng.randint(1, 4))
    ]
    choices = [
        f"class {name}( BaseModel ):\n" + "\n\n\n\n".join(fields),
        f'class {name}(StrEnum):\n    """\n    Values of `{name}`.\n    """\n\n'
        "    a = 'a'\n    b = \"b\"",
        f"def {name.lower()}( a,b, ):\n  if a:\n      return {{'a':a,'b':b}}\n  return [ a , b ]",
        f"{name}.model_rebuild()\nx_{index} = ( 1,\n)",
        f"@decorator( 'x' )\nclass {name}:\n    pass\n\n\n\n    # a comment\n    y = 1",
    ]
    return rng.choice(choices)


def test_messy_modules_formatted_in_groups_are_the_modules_formatted_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same for modules of class and function definitions, decorated or not, and plain
    statements, formatted in groups of three parts."""
    monkeypatch.setattr(fmt, "PARTS_PER_GROUP", 3)
    rng = random.Random(8)
    modules = {
        f"m{n}.py": fmt.ModuleParts(
            ["# header\nimport os,sys"] + [_messy_part(rng, k) for k in range(rng.randint(1, 12))]
        )
        for n in range(40)
    }
    whole, in_groups = _as_whole_and_in_groups(modules)
    assert in_groups == whole


@given(
    st.lists(st.text("abc\n", min_size=1).filter(str.strip), min_size=1, max_size=40),
    st.integers(min_value=0, max_value=39),
    st.text("abcd\n", min_size=1).filter(str.strip),
)
def test_the_groups_are_the_module_and_one_changed_part_changes_at_most_two(
    parts: list[str], index: int, new: str
) -> None:
    groups = fmt._groups(parts)
    assert "\n\n\n".join(groups) == "\n\n\n".join(parts)
    changed = list(parts)
    changed[index % len(parts)] = new
    assert len(set(fmt._groups(changed)) - set(groups)) <= 2


def test_a_changed_part_formats_its_group_only(
    tmp_path: Path, run_calls: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a cache, a changed part sends its group alone to ruff, and the module is what
    formatting it whole gives (no group of the old text is used); the cache holds groups, not
    the module."""
    monkeypatch.setattr(fmt, "PARTS_PER_GROUP", 2)
    cache = tmp_path / "cache"
    parts = ["import os"] + [f"class C{k}( object ):\n    x : int=1" for k in range(30)]
    first = format_python({"m.py": fmt.ModuleParts(parts)}, cache_dir=cache)
    assert first == format_python({"m.py": str(fmt.ModuleParts(parts))})
    parts[17] = "class C17:\n    y  =  'changed'"
    changed = {"m.py": fmt.ModuleParts(parts)}
    out = format_python(changed, cache_dir=cache)
    assert out == format_python({"m.py": str(changed["m.py"])})
    sent = [arg for arg in run_calls[2] if arg.endswith(".py")]
    assert len(sent) == 1 and sent[0].startswith("m.py.parts/")
    assert "y = " + '"changed"' in out["m.py"]
    stored = (cache / fmt.CACHE_FILE).read_bytes()
    assert out["m.py"].encode() not in stored and first["m.py"].encode() not in stored


def test_a_syntax_error_in_a_part_names_the_module_and_its_line() -> None:
    """ruff's message is the one for the whole module: its path, and the module's line."""
    module = fmt.ModuleParts(["import os", "class A:\n    x = 1", "def f(:\n    pass"])
    with pytest.raises(FormatError) as info:
        format_python({"ok.py": "x = 1\n", "client/models.py": module})
    assert info.value.path == "client/models.py"
    assert "7:" in info.value.message


def test_module_parts_are_their_text_and_not_blank() -> None:
    module = fmt.ModuleParts(["import os", "class A:\n    pass"])
    assert module == "import os\n\n\nclass A:\n    pass\n"
    assert pickle.loads(pickle.dumps(module)).parts == module.parts
    with pytest.raises(ValueError):
        fmt.ModuleParts(["import os", " \n"])


def test_a_small_job_runs_ruff_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few kilobytes are formatted on one thread, a large job on ruff's pool; the same text."""
    environments: list[Any] = []
    real_run = subprocess.run

    def recording_run(args: Any, *a: Any, **kw: Any) -> Any:
        environments.append(kw.get("env"))
        return real_run(args, *a, **kw)

    monkeypatch.setattr(subprocess, "run", recording_run)
    small = format_python({"m.py": MESSY})
    large = format_python({"m.py": MESSY, "big.py": "x = 1\n" * (fmt.ONE_THREAD_BELOW // 6)})
    assert environments[0]["RAYON_NUM_THREADS"] == "1" and environments[1] is None
    assert small["m.py"] == large["m.py"]
