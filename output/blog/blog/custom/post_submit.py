# Created by gen from specs/blog once; yours to edit. `gen build` never overwrites this file.
"""The `submit` action of `post`: `POST /posts/{id}/submit`.

The generated route validates the request, loads the row (404 when it does not
exist), calls this handler inside the request's transaction and commits after it.
Raise an `AppError` (from `blog.core.errors`) to refuse the action.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from blog.models.post import Post


async def submit(session: AsyncSession, post: Post) -> Post:
    """Carry out `submit`; the default changes nothing and returns the row."""
    return post
