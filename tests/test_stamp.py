"""The no-op build: a stamp is used only when specs, gen and output are all unchanged."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import generator.pipeline
from generator import stamp
from generator.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPEC = """\
api: {name: notes, title: Notes API, version: 1.0.0}
entities:
  note:
    fields:
      title: {type: string, max_length: 200}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spec folder, and a HOME of its own (so the stamps and caches are this test's)."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "api.yaml").write_text(SPEC, encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Counts the pipeline builds that really ran (the CLI imports build when it needs it)."""
    ran: list[Path] = []
    real = generator.pipeline.build

    def counted(spec_dir: Path, **kwargs: object) -> generator.pipeline.BuildResult:
        ran.append(spec_dir)
        return real(spec_dir, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(generator.pipeline, "build", counted)
    return ran


def gen(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_a_second_build_stops_early_and_any_change_makes_it_build(
    project: Path, builds: list[Path]
) -> None:
    assert gen("build", "specs")[0] == 0
    assert len(builds) == 1
    code, out, _ = gen("build", "specs")
    assert code == 0 and out.startswith("gen: 0 written, ")
    assert len(builds) == 1, "a no-op build compiled the specs"
    code, out, _ = gen("check", "specs")
    assert code == 0 and out.startswith("gen: output is up to date (")
    assert len(builds) == 1, "a check of unchanged output compiled the specs"

    readme = project / "output" / "notes" / "README.md"
    original = readme.read_bytes()
    readme.write_bytes(original + b"edited\n")
    code, out, _ = gen("build", "specs")
    assert out.startswith("gen: 1 written, ") and readme.read_bytes() == original
    assert len(builds) == 2

    hooks = next((project / "output" / "notes" / "notes" / "custom").glob("note*.py"))
    hooks.unlink()
    assert "1 custom created" in gen("build", "specs")[1]
    assert len(builds) == 3

    spec = project / "specs" / "api.yaml"
    spec.write_text(SPEC.replace("200", "300"), encoding="utf-8")
    assert gen("check", "specs")[0] == 1
    assert len(builds) == 4
    code, out, _ = gen("build", "specs")
    assert code == 0 and not out.startswith("gen: 0 written, ")
    assert len(builds) == 5

    assert gen("build", "specs", "--force")[1].startswith("gen: 0 written, ")
    assert len(builds) == 6


def test_an_invalid_build_leaves_no_stamp(project: Path) -> None:
    out = project / "output"
    stamp.write_stamp(project / "home" / ".cache" / "gen", out, stamp.Stamp("x", "y", 1, ()))
    (project / "specs" / "api.yaml").write_text("api: [", encoding="utf-8")
    assert gen("build", "specs")[0] == 2
    assert stamp.read_stamp(project / "home" / ".cache" / "gen", out) is None


def test_the_stamp_reads_the_spec_files_the_loader_reads(tmp_path: Path) -> None:
    from generator.load.yaml_loader import find_spec_files

    for name in ("a.yaml", "b/c.yml", "b/d.txt", "e.YAML", "f.yaml/g.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x: 1\n", encoding="utf-8")
    assert stamp.spec_files(tmp_path) == find_spec_files(tmp_path)
    assert stamp.spec_files(ROOT / "specs") == find_spec_files(ROOT / "specs")


def test_the_input_digest_follows_every_spec_byte(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "api.yaml").write_text(SPEC, encoding="utf-8")
    out = tmp_path / "out"

    def digest() -> str:
        return stamp.input_digest(specs, sorted(specs.glob("*.yaml")), out)

    first = digest()
    assert digest() == first
    (specs / "api.yaml").write_text(SPEC + "\n", encoding="utf-8")
    assert digest() != first
    (specs / "api.yaml").write_text(SPEC, encoding="utf-8")
    assert digest() == first
    (specs / "api.yaml").rename(specs / "other.yaml")
    assert digest() != first
    assert stamp.input_digest(specs, sorted(specs.glob("*.yaml")), tmp_path / "elsewhere") != (
        digest()
    )
    assert stamp.input_digest(specs, [], out, ["allow_destructive=True"]) != stamp.input_digest(
        specs, [], out, ["allow_destructive=False"]
    )


@pytest.mark.parametrize(
    "edit",
    ["templates/models/entity.py.j2", "generator/__init__.py", "generator/emit/schemas.py"],
)
def test_the_input_digest_follows_gen_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    """A template, the generator version or any generator module: a new digest."""
    copy = tmp_path / "gen"
    shutil.copytree(ROOT / "generator", copy / "generator", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copytree(ROOT / "templates", copy / "templates")
    monkeypatch.setattr(stamp, "_GENERATOR_ROOT", copy / "generator")
    specs = tmp_path / "specs"
    specs.mkdir()
    before = stamp.input_digest(specs, [], tmp_path / "out")
    target = copy / edit
    text = target.read_text(encoding="utf-8")
    if edit == "generator/__init__.py":
        assert '__version__ = "' in text
        text = text.replace('__version__ = "', '__version__ = "9')
    else:
        text += "\n"
    target.write_text(text, encoding="utf-8")
    assert stamp.input_digest(specs, [], tmp_path / "out") != before


def test_the_input_digest_follows_installed_distributions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "ruff-0.6.0.dist-info").mkdir(parents=True)
    monkeypatch.setattr("sys.path", [str(site)])
    before = stamp.input_digest(tmp_path, [], tmp_path / "out")
    (site / "ruff-0.6.0.dist-info").rename(site / "ruff-0.6.1.dist-info")
    assert stamp.input_digest(tmp_path, [], tmp_path / "out") != before


def test_the_input_digest_follows_the_ruff_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    ruff = tools / "ruff"
    ruff.write_text("#!/bin/sh\n", encoding="utf-8")
    ruff.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    before = stamp.input_digest(tmp_path, [], tmp_path / "out")
    ruff.write_text("#!/bin/sh\necho 0.7\n", encoding="utf-8")
    assert stamp.input_digest(tmp_path, [], tmp_path / "out") != before


def test_the_output_digest_sees_edits_deletions_and_a_missing_manifest(tmp_path: Path) -> None:
    from generator.write import write_output

    out = tmp_path / "out"
    write_output(out, {"a/x.py": "x = 1\n", "a/custom/y.py": "# yours\n"}, {"a/custom/y.py"})
    digest = stamp.output_digest(out)
    assert digest is not None and stamp.output_digest(out) == digest
    (out / "a" / "custom" / "y.py").write_text("# edited: still yours\n", encoding="utf-8")
    assert stamp.output_digest(out) == digest  # custom code is the user's to edit
    (out / "a" / "x.py").write_text("x = 2\n", encoding="utf-8")
    assert stamp.output_digest(out) is None
    (out / "a" / "x.py").write_text("x = 1\n", encoding="utf-8")
    assert stamp.output_digest(out) == digest
    os.unlink(out / "a" / "custom" / "y.py")
    assert stamp.output_digest(out) is None
    (out / "a" / "custom" / "y.py").write_text("# yours\n", encoding="utf-8")
    (out / ".gen-manifest.json").unlink()
    assert stamp.output_digest(out) is None


def test_the_output_digest_after_a_write_trusts_only_the_manifest_that_write_left(
    tmp_path: Path,
) -> None:
    from generator.write import write_output

    out = tmp_path / "out"
    result = write_output(
        out, {"a/x.py": "x = 1\n", "a/custom/y.py": "# yours\n"}, {"a/custom/y.py"}
    )
    assert result.manifest == (out / ".gen-manifest.json").read_bytes()
    digest = stamp.output_digest(out)
    assert digest is not None and stamp.output_digest(out, written=result.manifest) == digest
    (out / "a" / "x.py").write_text("x = 2\n", encoding="utf-8")
    # another manifest than the one on disk: every file is hashed again
    assert stamp.output_digest(out, written=result.manifest + b" ") is None
    # the same write leaves the same manifest (nothing written): its result says so too
    again = write_output(
        out, {"a/x.py": "x = 1\n", "a/custom/y.py": "# yours\n"}, {"a/custom/y.py"}
    )
    assert again.written == ("a/x.py",) and again.manifest == result.manifest
    assert stamp.output_digest(out, written=again.manifest) == digest
    os.unlink(out / "a" / "custom" / "y.py")
    assert stamp.output_digest(out, written=again.manifest) is None  # custom files still checked


def test_the_output_digest_sees_a_revision_file_the_manifest_does_not_list(tmp_path: Path) -> None:
    from generator.write import write_output

    out = tmp_path / "out"
    write_output(out, {"p/migrations/versions/0001_initial.py": "x = 1\n"})
    assert stamp.output_digest(out) is not None
    (out / "p" / "migrations" / "versions" / "0002_by_hand.py").write_text("y = 1\n")
    assert stamp.output_digest(out) is None


def test_a_stamp_is_used_only_with_the_same_inputs_and_output(tmp_path: Path) -> None:
    from generator.write import write_output

    cache, out = tmp_path / "cache", tmp_path / "out"
    write_output(out, {"x.txt": "x\n"})
    output = stamp.output_digest(out)
    assert output is not None
    stamp.write_stamp(cache, out, stamp.Stamp("inputs", output, 1, ("warning: w",)))
    assert stamp.unchanged_stamp(cache, out, "inputs") == stamp.Stamp(
        "inputs", output, 1, ("warning: w",)
    )
    assert stamp.unchanged_stamp(cache, out, "other inputs") is None
    assert stamp.unchanged_stamp(cache, tmp_path / "another-out", "inputs") is None
    (out / "x.txt").write_text("y\n", encoding="utf-8")
    assert stamp.unchanged_stamp(cache, out, "inputs") is None
    stamp.stamp_path(cache, out).write_text("{not json", encoding="utf-8")
    assert stamp.read_stamp(cache, out) is None
