"""Diff stage: the previous schema snapshot against the new IR -> Alembic operations."""
