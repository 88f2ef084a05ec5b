# Created by gen from spec once; yours to edit. `gen build` never overwrites this file.
"""Hooks around the writes of `label_code`; the generated service calls them in order.

Each hook runs inside the request's transaction: raising an `AppError` (from
`saas.core.errors`) aborts the operation with that error, and anything written
through `session` is committed together with the row.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from saas.models.label_code import LabelCode


async def before_create(session: AsyncSession, data: dict[str, Any]) -> dict[str, Any]:
    """Adjust the validated body of a new row; return the values to insert."""
    return data


async def after_create(session: AsyncSession, label_code: LabelCode) -> None:
    """Run once the new row is inserted (it has its id) and before the commit."""


async def before_update(
    session: AsyncSession, label_code: LabelCode, changes: dict[str, Any]
) -> dict[str, Any]:
    """Adjust the fields about to change; return the changes to apply."""
    return changes


async def after_update(session: AsyncSession, label_code: LabelCode) -> None:
    """Run once the row is updated and before the commit."""


async def before_delete(session: AsyncSession, label_code: LabelCode) -> None:
    """Run before the row is deleted; raise an AppError to refuse the deletion."""


async def after_delete(session: AsyncSession, label_code: LabelCode) -> None:
    """Run once the row is deleted and before the commit."""
