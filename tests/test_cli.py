"""The command line: exit codes, what is written, and what is left alone."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main

SPEC = """\
api: {name: notes, title: Notes API, version: 1.0.0}
entities:
  note:
    fields:
      title: {type: string, max_length: 200}
      tags: {type: list, of: string, max_items: 5}
  folder:
    fields:
      name: string
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "api.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def run(project: Path, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(project)
    try:
        result = runner.invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)
    return result.exit_code, result.stdout, result.stderr


def mtimes(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()
    }


def test_build_writes_then_a_second_build_writes_nothing(project: Path) -> None:
    code, out, _ = run(project, "build", "specs")
    assert code == 0, out
    before = mtimes(project / "output")
    assert "notes/docs/normalization.md" in before
    code, out, _ = run(project, "build", "specs")
    assert code == 0
    assert out.startswith("gen: 0 written,")
    assert mtimes(project / "output") == before


def test_check_passes_when_current_and_fails_with_the_stale_list(project: Path) -> None:
    run(project, "build", "specs")
    assert run(project, "check", "specs")[0] == 0
    spec = project / "specs" / "api.yaml"
    spec.write_text(SPEC.replace("max_length: 200", "max_length: 300"), encoding="utf-8")
    code, out, err = run(project, "check", "specs")
    assert code == 1
    assert "stale: output/notes/docs/erd.md" in out
    assert "run `gen build specs -o output`" in err


def test_a_change_to_one_entity_rewrites_only_the_files_that_depend_on_it(project: Path) -> None:
    run(project, "build", "specs")
    before = mtimes(project / "output")
    spec = project / "specs" / "api.yaml"
    spec.write_text(SPEC.replace("max_length: 200", "max_length: 300"), encoding="utf-8")
    run(project, "build", "specs")
    after = mtimes(project / "output")
    changed = {p for p in after if after[p] != before.get(p)}
    assert "notes/docs/erd.md" in changed
    assert not any("folder" in p for p in changed)


def test_invalid_spec_exits_2_with_located_errors_and_writes_nothing(project: Path) -> None:
    (project / "specs" / "api.yaml").write_text(
        SPEC.replace("max_length: 200", "max_lenght: 200").replace(
            "version: 1.0.0", "version: 1.0"
        ),
        encoding="utf-8",
    )
    code, _, err = run(project, "build", "specs")
    assert code == 2
    assert "specs/api.yaml:1:" in err and "error:" in err
    assert "specs/api.yaml:5:" in err and "max_length" in err
    assert "nothing written" in err
    assert not (project / "output").exists()


@pytest.mark.parametrize("command", ["build", "check"])
def test_unknown_switch_values_are_one_error_line_each_and_nothing_is_written(
    project: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("GEN_OPENAPI", "fast")
    monkeypatch.setenv("GEN_CLIENT", "render")
    monkeypatch.setenv("GEN_EMIT_CACHE", "sometimes")
    code, _, err = run(project, command, "specs")
    assert code == 2
    assert err.splitlines() == [
        "gen: error: GEN_OPENAPI='fast': expected one of ir, import, verify",
        "gen: error: GEN_EMIT_CACHE='sometimes': expected one of on, off, verify",
    ]
    assert not (project / "output").exists()


def test_a_failed_build_leaves_the_previous_output_intact(project: Path) -> None:
    run(project, "build", "specs")
    before = {p: (project / "output" / p).read_bytes() for p in mtimes(project / "output")}
    (project / "specs" / "api.yaml").write_text("api: [", encoding="utf-8")
    assert run(project, "build", "specs")[0] == 2
    after = {p: (project / "output" / p).read_bytes() for p in mtimes(project / "output")}
    assert after == before


def test_diff_prints_a_unified_diff_and_exits_1_when_build_would_change(project: Path) -> None:
    run(project, "build", "specs")
    assert run(project, "diff", "specs")[0] == 0
    spec = project / "specs" / "api.yaml"
    spec.write_text(SPEC.replace("max_length: 200", "max_length: 300"), encoding="utf-8")
    code, out, _ = run(project, "diff", "specs")
    assert code == 1
    assert "+++ b/notes/docs/erd.md" in out and "+        varchar(300) title" in out


def test_validate_reports_success(project: Path) -> None:
    code, out, _ = run(project, "validate", "specs")
    assert code == 0 and "1 spec set(s) valid (notes)" in out


def test_compile_json_prints_the_ir(project: Path) -> None:
    code, out, _ = run(project, "compile", "specs", "--json")
    assert code == 0
    ir = json.loads(out)
    assert ir[0]["api"]["name"] == "notes"
    assert [e["name"] for e in ir[0]["entities"]] == ["folder", "note"]


def test_explain_names_each_decision_with_its_place(project: Path) -> None:
    code, out, _ = run(project, "explain", "specs")
    assert code == 0
    assert "specs/api.yaml:6:7: rule 1 (note): list field `tags`" in out
    code, out, _ = run(project, "explain", "specs", "--json")
    tables = {t["name"]: t for t in json.loads(out)[0]["tables"]}
    assert tables["notes_tags"]["primary_key"] == ["note_id", "position"]


def test_schema_is_a_json_schema_of_the_language() -> None:
    code, out, _ = run(Path.cwd(), "schema")
    schema = json.loads(out)
    assert code == 0 and set(schema["properties"]) == {
        "api",
        "roles",
        "auth",
        "enums",
        "entities",
        "seed",
    }


def test_init_creates_a_starter_that_builds(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "init", "myapi")
    assert code == 0 and "created myapi/specs/api.yaml" in out
    code, out, _ = run(tmp_path, "build", "myapi/specs", "-o", "myapi/output")
    assert code == 0, out
    assert (tmp_path / "myapi" / "output" / "myapi" / "docs" / "erd.md").exists()
    assert run(tmp_path, "init", "myapi")[0] == 2


def test_version() -> None:
    code, out, _ = run(Path.cwd(), "--version")
    assert code == 0 and out.startswith("gen, version ")


def test_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "build", "nope")
    assert code == 2 and "no such spec folder" in err


def test_files_it_did_not_generate_are_never_touched(project: Path) -> None:
    run(project, "build", "specs")
    notes = project / "output" / "notes" / "docs" / "mine.txt"
    notes.write_text("hand-written", encoding="utf-8")
    shutil.copy(project / "specs" / "api.yaml", project / "specs" / "api.yaml.bak")
    run(project, "build", "specs")
    assert notes.read_text(encoding="utf-8") == "hand-written"
