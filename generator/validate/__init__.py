"""Validate stage: loaded files -> merged, checked spec sets (or located diagnostics)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.diagnostics import Diagnostics
from generator.load import LoadedFile
from generator.validate.merge import group_into_sets, merge_set
from generator.validate.rules import check_rules
from generator.validate.specset import Located, SpecSet
from generator.validate.structure import validate_file

if TYPE_CHECKING:
    from generator.compile_cache import CompileCache

__all__ = ["Located", "SpecSet", "validate_specs"]


def validate_specs(
    files: list[LoadedFile], diags: Diagnostics, cache: CompileCache | None = None
) -> list[SpecSet]:
    """Every spec set the files define; problems go to diags (callers check has_errors). With
    a cache, the rules about one entity alone are taken from it (generator/compile_cache.py)."""
    validated = []
    for loaded in files:
        spec = validate_file(loaded, diags)
        if spec is not None:
            validated.append((loaded, spec))
    if len(validated) < len(files):
        # A file that failed its structure may be the one holding `api`: merging the rest
        # would only add errors that are consequences of the ones already reported.
        return []
    sets = []
    for group in group_into_sets(validated, diags):
        spec_set = merge_set(group, diags)
        if spec_set is not None:
            check_rules(spec_set, diags, cache)
            sets.append(spec_set)
    return sets
