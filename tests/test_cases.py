"""Golden cases (after sqlc's end-to-end testdata): tests/cases/<case>/spec -> expected/.

A case with `spec/` and `expected/` must build exactly that tree (file set and bytes). A case
with `spec/` and `stderr.txt` must fail with exactly those diagnostics and produce no file.
An evolution case has `steps/NN/spec` (and `steps/NN/expected` or `stderr.txt`): each step
builds against the output of the step before, as a project's history would.
Regenerate with: pytest tests/test_cases.py --update-goldens [-k case]
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from generator.diagnostics import Diagnostic
from generator.explain import explain_text
from generator.pipeline import BuildResult, build
from generator.write import write_output

CASES = Path(__file__).parent / "cases"
FIX = "pytest tests/test_cases.py --update-goldens -k {case}"


def _cases() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "spec").is_dir())


def _step_cases() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "steps").is_dir())


def _read_tree(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _write_tree(root: Path, files: dict[str, str]) -> None:
    shutil.rmtree(root, ignore_errors=True)
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="")


def _stderr(diagnostics: tuple[Diagnostic, ...]) -> str:
    return "".join(d.render() + "\n" for d in diagnostics)


@pytest.mark.parametrize("case", _cases())
def test_case(case: str, update_goldens: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The case's spec builds to exactly its expected tree, or fails with exactly its stderr."""
    root = CASES / case
    monkeypatch.chdir(root)
    result = build(Path("spec"), label_root="spec")
    _check_result(case, root, result, update_goldens)


@pytest.mark.parametrize("case", _step_cases())
def test_evolution_case(
    case: str, update_goldens: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each step builds, against the previous step's output, to exactly its expectation."""
    out = tmp_path / "output"
    for step in sorted(p for p in (CASES / case / "steps").iterdir() if p.is_dir()):
        monkeypatch.chdir(step)
        allow = (step / "allow-destructive").exists()
        result = build(Path("spec"), label_root="spec", out_dir=out, allow_destructive=allow)
        _check_result(f"{case}/{step.name}", step, result, update_goldens)
        if result.ok:
            write_output(out, result.files, result.once)


def _check_result(case: str, root: Path, result: BuildResult, update_goldens: bool) -> None:
    stderr_file, expected_dir = root / "stderr.txt", root / "expected"
    explain_file = root / "explain.txt"
    if update_goldens:
        if result.ok:
            stderr_file.unlink(missing_ok=True)
            _write_tree(expected_dir, result.files)
            explain_file.write_text(explain_text(result.projects), encoding="utf-8")
            if result.diagnostics:
                (root / "warnings.txt").write_text(_stderr(result.diagnostics), encoding="utf-8")
            else:
                (root / "warnings.txt").unlink(missing_ok=True)
        else:
            shutil.rmtree(expected_dir, ignore_errors=True)
            stderr_file.write_text(_stderr(result.diagnostics), encoding="utf-8")
        return
    fix = FIX.format(case=case.split("/")[0])
    if stderr_file.exists():
        assert not result.ok, f"{case}: expected errors, the build succeeded; {fix}"
        assert result.files == {}, f"{case}: a failing build produced files"
        _assert_same(
            "stderr.txt", stderr_file.read_text(encoding="utf-8"), _stderr(result.diagnostics), fix
        )
        return
    assert result.ok, f"{case}: unexpected errors:\n{_stderr(result.diagnostics)}\n{fix}"
    warnings_file = root / "warnings.txt"
    expected_warnings = warnings_file.read_text(encoding="utf-8") if warnings_file.exists() else ""
    _assert_same("warnings.txt", expected_warnings, _stderr(result.diagnostics), fix)
    expected_explain = explain_file.read_text(encoding="utf-8") if explain_file.exists() else ""
    _assert_same("explain.txt", expected_explain, explain_text(result.projects), fix)
    expected = _read_tree(expected_dir)
    missing = sorted(set(expected) - set(result.files))
    extra = sorted(set(result.files) - set(expected))
    assert not missing and not extra, f"{case}: missing {missing}, extra {extra}; {fix}"
    for path in sorted(expected):
        _assert_same(path, expected[path], result.files[path], fix)


def _assert_same(path: str, expected: str, actual: str, fix: str) -> None:
    if expected != actual:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"expected/{path}",
                f"actual/{path}",
            )
        )
        pytest.fail(f"{path} differs from its golden:\n{diff}\nTo accept: {fix}", pytrace=False)
