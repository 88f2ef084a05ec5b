"""The build's switches in the environment: how openapi.json (`GEN_OPENAPI`), the client models
(`GEN_CLIENT`) and the cached units (`GEN_EMIT_CACHE`) are produced. Each is read here, against
one table of its values, so that a wrong value is one clear error before a build starts."""

from __future__ import annotations

import os

# The first value of each is the default (the variable unset or empty).
SWITCHES: dict[str, tuple[str, ...]] = {
    "GEN_OPENAPI": ("ir", "import", "verify"),
    "GEN_CLIENT": ("render", "datamodel", "verify"),
    "GEN_EMIT_CACHE": ("on", "off", "verify"),
}


class ModeError(ValueError):
    """A switch has a value it does not know."""


def mode(name: str) -> str:
    """The value switch `name` selects."""
    values = SWITCHES[name]
    value = os.environ.get(name, "") or values[0]
    if value not in values:
        raise ModeError(f"{name}={value!r}: expected one of {', '.join(values)}")
    return value


def mode_errors() -> list[str]:
    """One message per switch set to a value it does not know."""
    errors = []
    for name in SWITCHES:
        try:
            mode(name)
        except ModeError as exc:
            errors.append(str(exc))
    return errors
