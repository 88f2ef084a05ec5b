"""gen's switches in the environment: how openapi.json (`GEN_OPENAPI`), the client models
(`GEN_CLIENT`) and the cached units (`GEN_EMIT_CACHE`) are produced, and whether `gen build` and
`gen check` hand their build to a `gen daemon` (`GEN_DAEMON`). Each is read here, against one
table of its values, so that a wrong value is one clear error before a build starts."""

from __future__ import annotations

import os

# The first value of each is the default (the variable unset or empty).
SWITCHES: dict[str, tuple[str, ...]] = {
    "GEN_OPENAPI": ("ir", "import", "verify"),
    "GEN_CLIENT": ("render", "datamodel", "verify"),
    "GEN_EMIT_CACHE": ("on", "off", "verify"),
    # auto: use a daemon that runs; off: build in the process; start: start one when none runs.
    "GEN_DAEMON": ("auto", "off", "start"),
}

#: Switches that change where a build runs, never what it writes: left out of the stamp.
RUN_ONLY = frozenset({"GEN_DAEMON"})


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
