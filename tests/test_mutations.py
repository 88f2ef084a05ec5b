"""Mutation tests: the generated suite must notice when the generated backend is broken.

Each case copies the generated `blog` project, applies one deliberate breakage (a textual edit
of one generated file), runs the generated test module that should catch it, and asserts that
it fails. The control case runs the same modules on the untouched copy and asserts they pass,
so a failure below is the mutation's doing. Slow by nature (it runs generated suites).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "blog"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Mutation:
    """Replace `before` by `after` in `path` (exactly once); `tests` must then fail."""

    name: str
    path: str
    before: str
    after: str
    tests: str


MUTATIONS = (
    Mutation(
        "drop an owner check",
        "blog/services/post.py",
        "    require_owner(scope, policy.owns(principal, post))\n",
        "",
        "tests/test_posts_access.py",
    ),
    Mutation(
        "drop a constraint from a validator",
        "blog/schemas/post.py",
        "title: Annotated[str, Field(min_length=3, max_length=200, pattern=NO_NUL)]\n    slug",
        "title: Annotated[str, Field(max_length=200, pattern=NO_NUL)]\n    slug",
        "tests/test_posts.py",
    ),
    Mutation(
        "make DELETE not delete",
        "blog/repositories/tag.py",
        "    await session.delete(tag)\n",
        "",
        "tests/test_tags.py",
    ),
    Mutation(
        "leak a password hash in a response",
        "blog/schemas/user.py",
        "    model_config = ConfigDict(from_attributes=True)\n\n    id: int\n",
        "    model_config = ConfigDict(from_attributes=True)\n\n    id: int\n    password: str\n",
        "tests/test_users.py",
    ),
    Mutation(
        "accept an expired token",
        "blog/core/security.py",
        'options={"require": list(REQUIRED_CLAIMS)},',
        'options={"require": list(REQUIRED_CLAIMS), "verify_exp": False},',
        "tests/test_auth.py",
    ),
    Mutation(
        "drop a row filter",
        "blog/policies/user.py",
        "        allowed.append(User.is_active.is_(True))\n",
        "        allowed.append(true())\n",
        "tests/test_users_access.py",
    ),
    Mutation(
        "make a migration's downgrade leave a table behind",
        "migrations/versions/0003_create_refresh_tokens.py",
        '    op.drop_table("refresh_tokens")\n',
        "",
        "tests/test_migrations.py",
    ),
    Mutation(
        "show a field only admins may read",
        "blog/schemas/user.py",
        '    hide_unless_admin = field_validator("email", "last_seen_at", mode="after")'
        '(readable_by("admin"))\n',
        "",
        "tests/test_users_access.py",
    ),
    Mutation(
        "let a reused refresh token through",
        "blog/services/auth.py",
        "    if stored.revoked_at is not None or not await repository.claim_refresh_token("
        "session, stored):\n",
        "    if False:\n",
        "tests/test_auth.py",
    ),
    Mutation(
        "turn rate limiting off",
        "blog/middleware.py",
        "    if settings.RATE_LIMIT_ENABLED:\n",
        "    if False:\n",
        "tests/test_rate_limits.py",
    ),
    Mutation(
        "skip cache invalidation",
        "blog/middleware.py",
        "                await self.cache.invalidate(activity.written_tables)\n",
        "                pass\n",
        "tests/test_cache.py",
    ),
)


@pytest.fixture(scope="module")
def project(built_output: Path) -> Path:
    """The generated blog project, as the specs build it now (tests/conftest.py)."""
    return built_output / EXAMPLE


def copy_of(project: Path, into: Path) -> Path:
    target = into / EXAMPLE
    shutil.copytree(
        project, target, ignore=shutil.ignore_patterns("__pycache__", "*.db", ".*_cache")
    )
    return target


def run_tests(project: Path, *tests: str) -> subprocess.CompletedProcess[str]:
    """The generated tests in `tests`, on SQLite, stopping at the first failure."""
    environment = {
        k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "TEST_REDIS_URL")
    }
    environment["PYTHONPATH"] = str(project)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def apply(project: Path, mutation: Mutation) -> None:
    path = project / mutation.path
    text = path.read_text(encoding="utf-8")
    assert text.count(mutation.before) == 1, f"{mutation.name}: the code to break is not there"
    path.write_text(text.replace(mutation.before, mutation.after), encoding="utf-8")


def test_mutations_are_distinct_and_cover_the_issue() -> None:
    assert len({m.name for m in MUTATIONS}) == len(MUTATIONS) >= 8


def test_the_untouched_project_passes_the_same_tests(project: Path, tmp_path: Path) -> None:
    copy = copy_of(project, tmp_path)
    result = run_tests(copy, *sorted({m.tests for m in MUTATIONS}))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name.replace(" ", "-"))
def test_the_generated_suite_catches(project: Path, tmp_path: Path, mutation: Mutation) -> None:
    copy = copy_of(project, tmp_path)
    apply(copy, mutation)
    result = run_tests(copy, mutation.tests)
    assert result.returncode == 1, (
        f"{mutation.name}: {mutation.tests} did not fail\n{result.stdout[-3000:]}"
    )
