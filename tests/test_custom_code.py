"""Custom code survives regeneration (GENERATED-APP.md "Custom code").

`custom/<entity>.py` is created once and never overwritten; the generated service keeps calling
it; files a user adds under the output folder are never touched; an entity removed from the spec
loses its generated files but not its custom file.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
  folder:
    fields:
      name: {type: string, max_length: 100}
"""
WITH_BODY = SPEC.replace(
    "      title: {type: string, max_length: 200}\n",
    "      title: {type: string, max_length: 200}\n      body: {type: text, nullable: true}\n",
)
WITHOUT_FOLDER = WITH_BODY.split("  folder:\n")[0]
UPPER_TITLE = '    return {**data, "title": data["title"].upper()}\n'
PACKAGE = Path("output/notes/notes")
FOLDER_FILES = [
    f"{layer}/folder.py" for layer in ("models", "schemas", "repositories", "services", "routes")
]
USER_FILES = {  # files a user adds: beside the output, in custom/, in a generated folder
    "output/NOTES.md": "# Our notes about the generated code\n",
    "output/notes/notes/custom/titles.py": '"""Helpers of ours."""\n\nPREFIX = "N-"\n',
    "output/notes/notes/models/scratch.py": "# not generated, not to be touched\n",
}


def gen(project: Path, *args: str) -> tuple[int, str, str]:
    cwd = os.getcwd()
    os.chdir(project)
    try:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)
    return result.exit_code, result.stdout, result.stderr


def build(project: Path, spec: str, *options: str) -> tuple[str, str]:
    (project / "specs" / "api.yaml").write_text(spec, encoding="utf-8")
    code, out, err = gen(project, "build", "specs", "-o", "output", *options)
    assert code == 0, out + err
    return out, err


def snapshot(project: Path, paths: list[str]) -> dict[str, tuple[bytes, int]]:
    return {p: ((project / p).read_bytes(), (project / p).stat().st_mtime_ns) for p in paths}


def make_hook_upper_case_titles(path: Path) -> str:
    """Edit before_create in place, as a user would."""
    text = path.read_text(encoding="utf-8")
    start = text.index("async def before_create(")
    end = text.index("    return data\n", start)
    edited = text[:end] + UPPER_TITLE + text[end + len("    return data\n") :]
    path.write_text(edited, encoding="utf-8")
    return edited


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    build(tmp_path, SPEC)
    for rel, text in USER_FILES.items():
        (tmp_path / rel).write_text(text, encoding="utf-8")
    return tmp_path


def test_an_edited_hook_survives_a_spec_change_and_the_service_still_calls_it(
    project: Path,
) -> None:
    hook = project / PACKAGE / "custom" / "note.py"
    edited = make_hook_upper_case_titles(hook)
    users = snapshot(project, list(USER_FILES))

    build(project, WITH_BODY)

    assert hook.read_text(encoding="utf-8") == edited
    assert "body" in (project / PACKAGE / "models" / "note.py").read_text(encoding="utf-8")
    service = (project / PACKAGE / "services" / "note.py").read_text(encoding="utf-8")
    assert "from notes.custom import note as hooks" in service
    assert "await hooks.before_create(session, " in service
    assert snapshot(project, list(USER_FILES)) == users

    check = (
        "import asyncio\n"
        "import notes.custom.note as custom\n"
        "import notes.services.note as service\n"
        "assert service.hooks is custom, service.hooks\n"
        "print(asyncio.run(service.hooks.before_create(None, {'title': 'hello'}))['title'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(project / "output" / "notes")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", check],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "HELLO\n"


def test_a_removed_entity_loses_its_generated_files_and_keeps_its_custom_file(
    project: Path,
) -> None:
    custom = project / PACKAGE / "custom" / "folder.py"
    custom.write_text(custom.read_text(encoding="utf-8") + "\n# our folder rules\n", "utf-8")
    kept = custom.read_bytes()
    users = snapshot(project, list(USER_FILES))

    build(project, WITHOUT_FOLDER, "--allow-destructive")  # drops its table

    for rel in FOLDER_FILES:
        assert not (project / PACKAGE / rel).exists(), rel
    assert custom.read_bytes() == kept
    assert snapshot(project, list(USER_FILES)) == users
    code, out, err = gen(project, "check", "specs", "-o", "output")
    assert code == 0, out + err

    build(project, WITH_BODY)  # the entity comes back: its custom file is still the user's
    assert custom.read_bytes() == kept
    assert all((project / PACKAGE / rel).is_file() for rel in FOLDER_FILES)


def test_the_custom_file_of_a_removed_entity_is_named_in_a_warning(project: Path) -> None:
    _, err = build(project, WITHOUT_FOLDER, "--allow-destructive")  # drops its table
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert any("output/notes/notes/custom/folder.py" in line for line in warnings), err


ACTION_SPEC = """\
api: {name: desk}
entities:
  ticket:
    fields:
      title: string
    endpoints:
      actions:
        close: {method: POST, path: "/{id}/close", roles: [anonymous], response: ticket}
"""


def test_an_action_handler_survives_and_its_removal_is_named(tmp_path: Path) -> None:
    """The action's handler is the user's: kept across rebuilds, kept (and named) when the
    spec drops the action, and still called when the action comes back."""
    from click.testing import CliRunner

    from generator.cli import main

    specs = tmp_path / "specs"
    specs.mkdir()
    runner = CliRunner()

    def build_with(text: str) -> str:
        (specs / "api.yaml").write_text(text, encoding="utf-8")
        result = runner.invoke(main, ["build", str(specs), "-o", str(tmp_path / "out")])
        assert result.exit_code == 0, result.output
        return result.stderr

    build_with(ACTION_SPEC)
    handler = tmp_path / "out" / "desk" / "desk" / "custom" / "ticket_close.py"
    edited = handler.read_text(encoding="utf-8").replace(
        "    return ticket\n", "    ticket.title = 'closed: ' + ticket.title\n    return ticket\n"
    )
    handler.write_text(edited, encoding="utf-8")
    err = build_with(
        ACTION_SPEC.replace("      actions:\n        close:", "      actions: {}\n        #")
    )
    assert handler.read_text(encoding="utf-8") == edited
    assert any(line.startswith("warning:") and str(handler) in line for line in err.splitlines())
    build_with(ACTION_SPEC)
    assert handler.read_text(encoding="utf-8") == edited
    service = (tmp_path / "out" / "desk" / "desk" / "services" / "ticket.py").read_text()
    assert "close_handler.close(" in service


CALL_CLOSE = """\
import asyncio, os, subprocess, sys
from httpx import ASGITransport, AsyncClient

subprocess.run([sys.executable, "-m", "desk", "migrate"], check=True, capture_output=True)
from desk.main import create_app

async def main() -> None:
    transport = ASGITransport(app=create_app())
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        made = await client.post("/api/v1/tickets", json={"title": "printer", "priority": 2})
        assert made.status_code == 201, made.text
        closed = await client.post(f"/api/v1/tickets/{made.json()['data']['id']}/close")
        assert closed.status_code == 200, closed.text
        print(closed.json()["data"]["title"])

asyncio.run(main())
"""


@pytest.mark.slow
def test_an_edited_action_handler_is_still_called_after_a_spec_change(tmp_path: Path) -> None:
    """Edit the handler, change the spec (a new field), rebuild: the running app's action
    route calls the edited handler."""
    (tmp_path / "specs").mkdir()
    build(tmp_path, ACTION_SPEC)
    handler = tmp_path / "output" / "desk" / "desk" / "custom" / "ticket_close.py"
    closing = "    ticket.title = 'closed: ' + ticket.title\n    return ticket\n"
    text = handler.read_text(encoding="utf-8")
    handler.write_text(text.replace("    return ticket\n", closing), encoding="utf-8")
    priority = "      priority: {type: integer, default: 1}\n"
    with_priority = ACTION_SPEC.replace("      title: string\n", "      title: string\n" + priority)
    build(tmp_path, with_priority)
    project = tmp_path / "output" / "desk"
    assert "priority" in (project / "desk" / "models" / "ticket.py").read_text(encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"PYTHONPATH": str(project), "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/d.db"}
    done = subprocess.run(
        [sys.executable, "-c", CALL_CLOSE],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "closed: printer"
