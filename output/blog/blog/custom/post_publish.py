# Created by gen from specs/blog once; yours to edit. `gen build` never overwrites this file.
"""The `publish` action of `post`: `POST /posts/{id}/publish`.

The generated route validates the request, loads the row (404 when it does not
exist), calls this handler inside the request's transaction and commits after it.
Raise an `AppError` (from `blog.core.errors`) to refuse the action.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from blog.models.post import Post
from blog.schemas.post import PostPublishRequest


async def publish(session: AsyncSession, post: Post, data: PostPublishRequest) -> Post:
    """Carry out `publish`; the default changes nothing and returns the row."""
    return post
