"""The IR: frozen dataclasses describing one resolved, normalized API."""

from generator.ir.model import *  # noqa: F403
