"""`gen diff --summary`: endpoints, migration risks and permissions between two spec versions."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator import ir
from generator.cli import main
from generator.pipeline import build, compile_specs
from generator.review import (
    EndpointChange,
    endpoints,
    permission_matrix,
    render_summary,
    review,
)

OLD = """\
api: {name: journal, title: Journal API, version: 1.0.0}
roles:
  admin: {inherits: [editor]}
  editor: {inherits: [writer]}
  writer: {}
auth:
  user_entity: user
  username_field: email
  password_field: password
  roles_field: role
  access_token_ttl: 15m
  refresh_token_ttl: 14d
  registration: {enabled: true, default_role: writer}
enums:
  role: [admin, editor, writer]
entities:
  user:
    owner: self
    fields:
      email: {type: email, unique: true}
      password: {type: password, min_length: 12}
      role: {type: enum, enum: role, default: writer}
    permissions: {list: [admin], read: [owner, admin], create: [admin], update: [owner, admin],
                  delete: [admin]}
    field_permissions:
      role: {write: [admin]}
  entry:
    owner: author
    fields:
      title: {type: string, max_length: 200}
      summary: {type: string, max_length: 500, nullable: true}
      status: {type: enum, values: [draft, published], default: draft}
    relations:
      author: {type: many_to_one, target: user}
    permissions: {list: [anonymous], read: [anonymous], create: [writer], update: [owner, editor],
                  delete: [owner, admin]}
  tag:
    fields:
      name: {type: string, max_length: 50}
    permissions: {list: [anonymous], read: [anonymous], create: [editor], delete: [editor]}
    endpoints: {crud: [list, read, create, delete]}
"""
NEW = (
    OLD.replace("version: 1.0.0", "version: 2.0.0")
    .replace(
        "      summary: {type: string, max_length: 500, nullable: true}\n",
        "      subtitle: {type: string, max_length: 100, nullable: true}\n"
        "      body: {type: text, max_length: 20000}\n",
    )
    .replace("values: [draft, published]", "values: [draft, published, archived]")
    .replace("update: [owner, editor],", "update: [editor],")
    .replace(
        "create: [editor], delete: [editor]}\n    endpoints: {crud: [list, read, create, delete]}",
        "create: [editor]}\n    endpoints: {crud: [list, read, create]}",
    )
    + """\
  note:
    fields:
      text: {type: text, max_length: 2000}
    permissions: {list: [authenticated], read: [authenticated]}
    endpoints: {crud: [list, read]}
"""
)
ENTRIES = "/api/v1/entries"
ENTRY_ROUTES = (
    f"GET {ENTRIES}",
    f"POST {ENTRIES}",
    f"GET {ENTRIES}/{{id}}",
    f"PATCH {ENTRIES}/{{id}}",
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "gen tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "gen tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def write_specs(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "api.yaml").write_text(text, encoding="utf-8")
    return folder


def compiled(folder: Path) -> tuple[ir.Project, ...]:
    projects, diags = compile_specs(folder)
    assert not diags.has_errors, diags.render()
    return projects


def gen(cwd: Path, *args: str) -> tuple[int, str, str]:
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(previous)
    return result.exit_code, result.stdout, result.stderr


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **GIT_IDENTITY},
        check=True,
        capture_output=True,
    )


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return write_specs(tmp_path / "old", OLD), write_specs(tmp_path / "new", NEW)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose api/specs held OLD at HEAD~1, NEW at HEAD."""
    root = tmp_path / "repo"
    specs = write_specs(root / "api" / "specs", OLD)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "old")
    write_specs(specs, NEW)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "new")
    return root


# --- the review itself -----------------------------------------------------------------------


def test_endpoint_changes_are_judged_breaking_or_additive(folders: tuple[Path, Path]) -> None:
    old, new = folders
    journal = review(compiled(old), compiled(new)).projects[0]
    assert journal.status == "changed"
    changes = set(journal.endpoints)
    expected_breaking = {
        EndpointChange(("DELETE /api/v1/tags/{id}",), "breaking", "removed (delete tag)"),
        EndpointChange((f"POST {ENTRIES}",), "breaking", "request: new required field `body`"),
        EndpointChange(
            (f"POST {ENTRIES}", f"PATCH {ENTRIES}/{{id}}"),
            "breaking",
            "request: field `summary` removed (sending it is a 422)",
        ),
        EndpointChange(ENTRY_ROUTES, "breaking", "`entry` in responses: field `summary` removed"),
        EndpointChange(
            ENTRY_ROUTES, "breaking", "`entry` in responses: `status` may be `archived`"
        ),
    }
    expected_additive = {
        EndpointChange(("GET /api/v1/notes",), "additive", "added (list notes)"),
        EndpointChange(("GET /api/v1/notes/{id}",), "additive", "added (read note)"),
        EndpointChange(
            (f"POST {ENTRIES}", f"PATCH {ENTRIES}/{{id}}"),
            "additive",
            "request: new optional field `subtitle`",
        ),
        EndpointChange(
            (f"PATCH {ENTRIES}/{{id}}",), "additive", "request: new optional field `body`"
        ),
        EndpointChange(
            (f"POST {ENTRIES}", f"PATCH {ENTRIES}/{{id}}"),
            "additive",
            "request: `status` accepts `archived`",
        ),
        EndpointChange(ENTRY_ROUTES, "additive", "`entry` in responses: new field `body`"),
        EndpointChange(ENTRY_ROUTES, "additive", "`entry` in responses: new field `subtitle`"),
    }
    assert changes == expected_breaking | expected_additive
    impacts = [c.impact for c in journal.endpoints]
    assert impacts == sorted(impacts, key=lambda i: i != "breaking"), "breaking changes first"


def test_schema_changes_carry_the_migration_risk(folders: tuple[Path, Path]) -> None:
    old, new = folders
    schema = {(c.risk, c.summary) for c in review(compiled(old), compiled(new)).projects[0].schema}
    assert ("safe", "create table `notes`") in schema
    assert ("safe", "add column `entries.subtitle`") in schema
    assert ("destructive", "drop column `entries.summary` and its values") in schema
    assert (
        "destructive",
        "add column `entries.body` (NOT NULL without a default: fails on a table with rows)",
    ) in schema


def test_the_permission_matrix_works_out_inheritance_owner_and_pseudo_roles(
    folders: tuple[Path, Path],
) -> None:
    old, _ = folders
    matrix = permission_matrix(compiled(old)[0])
    assert matrix.roles == ("anonymous", "authenticated", "owner", "writer", "editor", "admin")
    rows = dict(matrix.rows)
    assert rows["entry.list"] == ("yes",) * 6
    assert rows["entry.create"] == ("-", "-", "-", "yes", "yes", "yes")
    assert rows["entry.update"] == ("-", "own", "yes", "own", "yes", "yes")
    assert rows["entry.delete"] == ("-", "own", "yes", "own", "own", "yes")
    assert rows["user.list"] == ("-", "-", "-", "-", "-", "yes")
    assert "tag.update" not in rows, "an operation that does not exist has no row"
    assert matrix.cell("tag.update", "admin") == "n/a"


def test_without_auth_every_operation_is_anonymous(tmp_path: Path) -> None:
    spec = "api: {name: open}\nentities:\n  thing:\n    fields:\n      name: string\n"
    matrix = permission_matrix(compiled(write_specs(tmp_path, spec))[0])
    assert matrix.roles == ("anonymous", "authenticated", "owner")
    assert dict(matrix.rows)["thing.delete"] == ("yes", "yes", "yes")


def test_permission_changes_and_narrowed_operations(folders: tuple[Path, Path]) -> None:
    old, new = folders
    journal = review(compiled(old), compiled(new)).projects[0]
    changed = {(p.operation, p.role): (p.before, p.after) for p in journal.permissions}
    assert changed[("entry.update", "owner")] == ("yes", "-")
    assert changed[("entry.update", "writer")] == ("own", "-")
    assert ("entry.update", "editor") not in changed
    assert changed[("tag.delete", "editor")] == ("yes", "n/a")
    assert changed[("note.list", "authenticated")] == ("n/a", "yes")
    assert journal.narrowed_operations == ("entry.update",), "a removed operation is an endpoint"
    assert journal.breaking == 5 + 1


def test_added_and_removed_apis_and_no_change(folders: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = folders
    other = write_specs(
        tmp_path / "other", "api: {name: other}\nentities:\n  x: {fields: {a: string}}\n"
    )
    both = compiled(old) + compiled(other)
    result = review(compiled(new), both)
    assert [(p.name, p.status) for p in result.projects] == [
        ("journal", "changed"),
        ("other", "added"),
    ]
    added = result.projects[1]
    assert {c.summary for c in added.endpoints} >= {"added (list xes)", "added (create x)"}
    assert [c.risk for c in added.schema] == ["safe"]
    assert review(both, compiled(new)).projects[1].status == "removed"
    same = review(compiled(old), compiled(old))
    assert not same.changed
    assert "No changes" in render_summary(same, "a", "b")


def test_the_summary_is_markdown_with_escaped_cells(tmp_path: Path) -> None:
    before = "api: {name: e}\nentities:\n  t:\n    fields:\n      s: {type: enum, values: [a]}\n"
    after = before.replace("values: [a]", "values: [a, 'x|y']")
    result = review(
        compiled(write_specs(tmp_path / "a", before)), compiled(write_specs(tmp_path / "b", after))
    )
    text = render_summary(result, "a", "b")
    assert "`t` in responses: `s` may be `x\\|y`" in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.replace("\\|", "").count("|") == 4, line


def test_endpoints_match_the_generated_openapi_document(tmp_path: Path) -> None:
    """The review's idea of each body is what the generated app really serves."""
    spec = """\
api: {name: shelf}
enums:
  genre: [novel, poetry]
entities:
  author:
    fields:
      name: {type: string, max_length: 100}
  book:
    soft_delete: true
    fields:
      title: {type: string, max_length: 200}
      genre: {type: enum, enum: genre, default: novel}
      pages: {type: integer, min: 1, nullable: true}
      price: {type: decimal, precision: 8, scale: 2}
      isbn: {type: string, max_length: 20, read_only: true, nullable: true}
      secret: {type: string, max_length: 20, write_only: true}
      keywords: {type: list, of: string, max_items: 5}
      size:
        type: object
        fields:
          width: {type: integer}
          height: {type: integer, nullable: true}
    relations:
      author: {type: many_to_one, target: author}
      editor: {type: many_to_one, target: author, required: false}
      shelves: {type: many_to_many, target: shelf}
  shelf:
    fields:
      label: {type: string, max_length: 40}
    endpoints: {crud: [list, read, create]}
"""
    folder = write_specs(tmp_path / "specs", spec)
    result = build(folder, cache_dir=tmp_path / "cache")
    assert result.ok, [d.render() for d in result.diagnostics]
    document = json.loads(result.files["shelf/openapi.json"])
    served = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if path not in ("/health", "/ready")
    }
    project = result.projects[0]
    assert {e.key for e in endpoints(project)} == served
    schemas = document["components"]["schemas"]
    for endpoint in endpoints(project):
        entity = next(e for e in project.entities if endpoint.path.startswith(f"/api/v1/{e.path}"))
        body = {"create": "Create", "update": "Update"}.get(endpoint.operation.split()[0])
        if body is not None:
            model = schemas[f"{entity.class_name}{body}"]
            mine = [w for w in endpoint.request or () if "." not in w.name and "[" not in w.name]
            assert {w.name for w in mine} == set(model["properties"]), endpoint.key
            required = {w.name for w in mine if w.required}
            assert required == set(model.get("required", ())), endpoint.key
        if endpoint.response is not None:
            model = schemas[f"{entity.class_name}Read"]
            top = {w.name for w in endpoint.response if "." not in w.name and "[" not in w.name}
            assert top == set(model["properties"]), endpoint.key
            nullable = {w.name for w in endpoint.response if w.name in top and w.nullable}
            assert nullable == {
                name
                for name, prop in model["properties"].items()
                if {"type": "null"} in prop.get("anyOf", ())
            }, endpoint.key


# --- the command line -----------------------------------------------------------------------


def test_gen_diff_summary_with_old_folder(folders: tuple[Path, Path]) -> None:
    old, _ = folders
    code, out, err = gen(old.parent, "diff", "new", "--old", "old", "--summary")
    assert code == 1, err
    assert out.startswith("# gen diff --summary: old -> new\n")
    assert "## journal (changed): endpoints 5 breaking, 7 additive;" in out
    assert "| **breaking** | `DELETE /api/v1/tags/{id}` | removed (delete tag) |" in out
    assert "| **destructive** | `entries` | drop column `entries.summary` and its values |" in out
    assert "| `entry.update` | - | own -> - | yes -> - | own -> - | yes | yes |" in out
    assert "`api.version`: 1.0.0 -> 2.0.0" in out
    assert gen(old.parent, "diff", "new", "--old", "old")[1] == out, "--old implies --summary"
    code, out, _ = gen(old.parent, "diff", "old", "--old", "old")
    assert code == 0
    assert "No changes" in out


def test_gen_diff_against_a_git_revision(repo: Path, tmp_path: Path) -> None:
    code, out, err = gen(repo, "diff", "api/specs", "--against", "HEAD~1")
    assert code == 1, err
    assert out.startswith("# gen diff --summary: HEAD~1:api/specs -> api/specs\n")
    assert "removed (delete tag)" in out
    code, out, _ = gen(repo, "diff", "api/specs", "--summary")  # HEAD by default
    assert code == 0, out
    assert "No changes" in out

    write_specs(repo / "api" / "specs", OLD)  # uncommitted: the working tree against HEAD
    code, out, _ = gen(tmp_path, "diff", str(repo / "api" / "specs"), "--summary")
    assert code == 1
    assert "added (delete tag)" in out


def test_gen_diff_against_reports_bad_revisions_and_old_spec_errors(repo: Path) -> None:
    code, _, err = gen(repo, "diff", "api/specs", "--against", "no-such-branch")
    assert code == 2
    assert "unknown revision 'no-such-branch'" in err
    code, _, err = gen(repo, "diff", "api/specs", "--against", "--output=x")
    assert code == 2
    assert "not a revision" in err

    (repo / "api" / "specs" / "api.yaml").write_text("api: {name: journal}\nentities: 3\n")
    git(repo, "commit", "-q", "-am", "broken")
    write_specs(repo / "api" / "specs", NEW)
    code, _, err = gen(repo, "diff", "api/specs", "--against", "HEAD")
    assert code == 2
    assert "HEAD:api/specs/api.yaml:" in err


def test_gen_diff_against_outside_git_is_an_error(folders: tuple[Path, Path]) -> None:
    _, new = folders
    code, _, err = gen(new.parent, "diff", "new", "--summary")
    assert code == 2
    assert "git" in err


def test_against_and_old_together_are_a_usage_error(folders: tuple[Path, Path]) -> None:
    code, _, err = gen(folders[0].parent, "diff", "new", "--old", "old", "--against", "HEAD")
    assert code == 2
    assert "not both" in err


def test_gen_diff_without_the_new_options_prints_the_unified_diff(
    folders: tuple[Path, Path],
) -> None:
    old, _ = folders
    root = old.parent
    assert gen(root, "build", "old")[0] == 0
    assert gen(root, "diff", "old") == (0, "", "")
    write_specs(old, OLD.replace("{type: string, max_length: 200}", "{type: text}"))
    code, out, _ = gen(root, "diff", "old")
    assert code == 1
    assert "--- a/journal/" in out
    assert "+++ b/journal/journal/models/entry.py" in out
    assert "# gen diff" not in out
