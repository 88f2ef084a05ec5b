"""The pre-commit hooks (`.pre-commit-hooks.yaml`), run by pre-commit itself.

pre-commit installs the hook repository into a virtualenv of its own, so this needs pre-commit
(the `test` extra) and a package index for gen's dependencies; about 20 s per hook install.

`pre-commit try-repo` on a working tree commits its uncommitted changes into a temporary clone,
but only the files git already tracks (`git add -u`): new files would be missing. So the hook
repository here is a snapshot of this working tree (tracked and untracked, minus what
.gitignore leaves out) committed into a fresh repository.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# One pytest-xdist worker runs the module, which builds its hook repository once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("precommit")]

ROOT = Path(__file__).resolve().parents[1]
SPEC = """\
api: {name: notes, title: Notes API, version: 1.0.0}
entities:
  note:
    fields:
      title: {type: string, max_length: 200}
"""
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "gen tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "gen tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def git(cwd: Path, *args: str) -> str:
    done = run(cwd, "git", *args, env={**os.environ, **GIT_IDENTITY})
    assert done.returncode == 0, done.stderr
    return done.stdout


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """pre-commit with a store of its own (hook environments are reused within this module)."""
    assert importlib.util.find_spec("pre_commit"), "pre-commit is missing: pip install -e '.[test]'"
    home = tmp_path_factory.mktemp("pre-commit-home")
    return {**os.environ, **GIT_IDENTITY, "PRE_COMMIT_HOME": str(home), "SKIP": ""}


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This working tree, committed into a fresh repository: (its path, the commit)."""
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    repo = tmp_path_factory.mktemp("hook-repo")
    for rel in filter(None, listed.split("\0")):
        source = ROOT / rel
        if source.is_file() and not source.is_symlink():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / rel)
    git(repo, "init", "-q")
    return repo, commit_all(repo, "snapshot of the working tree")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository with one committed spec and no output yet (a stale tree)."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "api.yaml").write_text(SPEC, encoding="utf-8")
    git(tmp_path, "init", "-q")
    commit_all(tmp_path, "a spec")
    return tmp_path


def pre_commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run(cwd, sys.executable, "-m", "pre_commit", *args, env=env)


def gen_build(cwd: Path) -> None:
    done = run(cwd, sys.executable, "-m", "generator", "build", "specs/")
    assert done.returncode == 0, done.stderr


def readme_config(repo: Path, rev: str) -> str:
    """The `.pre-commit-config.yaml` that README.md shows, pointed at the snapshot."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using gen with pre-commit", 1)[1]
    config = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert config is not None, "README.md: no yaml block under 'Using gen with pre-commit'"
    text = re.sub(r"(?m)^(\s*- repo: )\S+", lambda m: m.group(1) + repo.as_posix(), config[1])
    return re.sub(r"(?m)^(\s*rev: )\S+", lambda m: m.group(1) + rev, text)


def test_the_manifest_is_valid(env: dict[str, str]) -> None:
    done = pre_commit(ROOT, env, "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_try_repo_gen_check_fails_on_a_stale_tree_and_passes_once_built(
    hook_repo: tuple[Path, str], project: Path, env: dict[str, str]
) -> None:
    repo, _ = hook_repo
    stale = pre_commit(project, env, "try-repo", str(repo), "gen-check", "--all-files")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "missing: output/notes/notes/models/note.py" in stale.stdout
    assert not (project / "output").exists(), "gen-check must not write"

    gen_build(project)
    commit_all(project, "generated")
    fresh = pre_commit(project, env, "try-repo", str(repo), "gen-check", "--all-files")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "Passed" in fresh.stdout


def test_the_readme_config_checks_and_gen_build_acts_like_a_formatter(
    hook_repo: tuple[Path, str], project: Path, env: dict[str, str]
) -> None:
    repo, rev = hook_repo
    config = readme_config(repo, rev)
    (project / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    commit_all(project, "pre-commit config")
    assert pre_commit(project, env, "validate-config").returncode == 0

    stale = pre_commit(project, env, "run", "--all-files")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "gen check" in stale.stdout

    build_config = config.replace("id: gen-check", "id: gen-build")
    (project / ".pre-commit-config.yaml").write_text(build_config, encoding="utf-8")
    commit_all(project, "gen-build instead")  # pre-commit refuses an unstaged config
    first = pre_commit(project, env, "run", "gen-build", "--all-files")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "created: output/notes/notes/custom/note.py" in first.stdout
    assert "written: output/notes/notes/models/note.py" in first.stdout
    assert (project / "output" / "notes" / "pyproject.toml").is_file()

    commit_all(project, "generated by the hook")
    second = pre_commit(project, env, "run", "gen-build", "--all-files")
    assert second.returncode == 0, second.stdout + second.stderr

    (project / "specs" / "api.yaml").write_text(
        SPEC + "      body: {type: text, nullable: true}\n", encoding="utf-8"
    )
    git(project, "add", "specs")
    changed = pre_commit(project, env, "run", "gen-build")  # the staged files, as on commit
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "written: output/notes/notes/models/note.py" in changed.stdout
    assert "git add output" in changed.stdout

    (project / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    commit_all(project, "spec and output together")
    assert pre_commit(project, env, "run", "--all-files").returncode == 0
