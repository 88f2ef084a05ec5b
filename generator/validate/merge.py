"""Merge validated files into spec sets; a folder may hold one set or one set per subfolder."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from generator.diagnostics import Diagnostics, Span
from generator.load import LoadedFile
from generator.validate.models import SpecFile
from generator.validate.specset import Located, SpecSet

Validated = list[tuple[LoadedFile, SpecFile]]


def group_into_sets(files: Validated, diags: Diagnostics) -> list[Validated]:
    """One group when the files define `api` once; else one group per top-level subfolder.

    `specs/` may hold several independent APIs (`specs/blog/`, `specs/shop/`), each defining
    `api` once; any other arrangement with two `api` blocks is a redefinition error.
    """
    with_api = [(f, s) for f, s in files if s.api is not None]
    if len(with_api) <= 1:
        return [files]
    groups: dict[str, Validated] = defaultdict(list)
    for loaded, spec in files:
        top = loaded.rel.split("/", 1)[0] if "/" in loaded.rel else ""
        groups[top].append((loaded, spec))
    apis_per_group = {k: sum(s.api is not None for _, s in g) for k, g in groups.items()}
    if "" not in groups and all(n == 1 for n in apis_per_group.values()):
        return [groups[k] for k in sorted(groups)]
    first = with_api[0][0]
    for loaded, _ in with_api[1:]:
        diags.error(
            "E201",
            f"`api` is defined twice (first at {first.key_span(('api',))})",
            loaded.key_span(("api",)),
            "a spec set defines `api` once; put separate APIs in separate subfolders",
        )
    return []


def merge_set(files: Validated, diags: Diagnostics) -> SpecSet | None:
    """Merge one group's files; names defined twice are errors citing both places."""
    api_files = [(f, s) for f, s in files if s.api is not None]
    if not api_files:
        label = files[0][0].label if files else "<specs>"
        diags.error(
            "E202",
            "no `api` block in this spec set",
            Span(label, 1, 1),
            "add `api: {name: my_api}` to one of the files",
        )
        return None
    api_file, api_spec = api_files[0]
    assert api_spec.api is not None
    spec_set = SpecSet(
        root=api_file.label.rsplit("/", 1)[0], api=Located(api_spec.api, api_file, ("api",))
    )
    for loaded, spec in files:
        if spec.auth is not None:
            if spec_set.auth is not None:
                _twice(diags, "auth", "", spec_set.auth, loaded, ("auth",))
            else:
                spec_set.auth = Located(spec.auth, loaded, ("auth",))
        _merge_named(diags, "role", spec_set.roles, spec.roles, loaded, "roles")
        _merge_named(diags, "enum", spec_set.enums, spec.enums, loaded, "enums")
        _merge_named(diags, "entity", spec_set.entities, spec.entities, loaded, "entities")
        for entity, rows in (spec.seed or {}).items():
            located = [Located(r, loaded, ("seed", entity, i)) for i, r in enumerate(rows)]
            spec_set.seed.setdefault(entity, []).extend(located)
    return spec_set


def _merge_named(
    diags: Diagnostics,
    kind: str,
    into: dict[str, Located[Any]],
    items: Mapping[str, Any] | None,
    loaded: LoadedFile,
    section: str,
) -> None:
    for name, value in (items or {}).items():
        if name in into:
            _twice(diags, kind, name, into[name], loaded, (section, name))
        else:
            into[name] = Located(value, loaded, (section, name))


def _twice(
    diags: Diagnostics,
    kind: str,
    name: str,
    first: Located[Any],
    loaded: LoadedFile,
    path: tuple[str, ...],
) -> None:
    what = f"{kind} `{name}`" if name else f"`{kind}`"
    diags.error(
        "E203", f"{what} is defined twice (first at {first.key_span()})", loaded.key_span(path)
    )
