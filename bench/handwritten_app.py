"""The hand-written baseline of the load benchmark: FastAPI + SQLAlchemy async over the generated
blog's own `posts` and `users` tables, written the way one would by hand (no layers, no policies,
no cache), with the same envelope and the same bearer-token check on create.

    DATABASE_URL=postgresql+asyncpg://... SECRET_KEY=... uvicorn bench.handwritten_app:app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, ForeignKey, String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

engine = create_async_engine(
    os.environ["DATABASE_URL"], pool_size=5, max_overflow=10, pool_pre_ping=True
)
sessions = async_sessionmaker(engine, expire_on_commit=False)
SECRET_KEY = os.environ["SECRET_KEY"]


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    bio: Mapped[str | None] = mapped_column(Text())
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    website: Mapped[str | None] = mapped_column(String(2048))
    is_active: Mapped[bool]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(220))
    summary: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text())
    status: Mapped[str] = mapped_column(String(20), default="draft")
    featured: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime | None]
    views: Mapped[int] = mapped_column(default=0)
    reading_minutes: Mapped[int | None]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    category_id: Mapped[int | None]
    created_by: Mapped[int | None]
    updated_by: Mapped[int | None]
    deleted_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(UTC))
    updated_at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(UTC))

    author: Mapped[User] = relationship(lazy="raise")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    display_name: str
    role: str
    bio: str | None
    avatar_url: str | None
    website: str | None
    created_at: datetime
    updated_at: datetime


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    slug: str
    summary: str | None
    body: str
    status: str
    featured: bool
    published_at: datetime | None
    views: int
    reading_minutes: int | None
    author_id: int
    category_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime
    author: UserOut | None = None


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=200)
    slug: str = Field(max_length=220, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    summary: str | None = Field(default=None, max_length=500)
    body: str = Field(max_length=200_000)
    reading_minutes: int | None = Field(default=None, ge=1, le=240)


class Meta(BaseModel):
    page: int
    limit: int
    total: int


class One(BaseModel):
    success: bool = True
    data: PostOut


class Many(BaseModel):
    success: bool = True
    data: list[PostOut]
    meta: Meta


COLUMNS = [name for name in PostOut.model_fields if name != "author"]


def post_out(post: Post, *, with_author: bool = False) -> PostOut:
    """The response shape of a post, its author embedded when asked for."""
    author = UserOut.model_validate(post.author) if with_author else None
    return PostOut.model_validate({**{k: getattr(post, k) for k in COLUMNS}, "author": author})


async def get_session() -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]
app = FastAPI()
VISIBLE = (Post.deleted_at.is_(None), Post.status == "published")


@app.get("/api/v1/posts/{id}")
async def get_post(id: int, session: Session) -> One:
    post = await session.scalar(select(Post).where(Post.id == id, *VISIBLE))
    if post is None:
        raise HTTPException(404)
    return One(data=post_out(post))


@app.get("/api/v1/posts")
async def list_posts(
    session: Session,
    page: Annotated[int, Query(ge=1)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    include: str = "",
) -> Many:
    statement = select(Post).where(*VISIBLE).order_by(Post.id).limit(limit)
    statement = statement.offset((page - 1) * limit)
    if "author" in include.split(","):  # one more query for every author on the page
        statement = statement.options(selectinload(Post.author))
    total = await session.scalar(select(func.count()).select_from(Post).where(*VISIBLE))
    rows = (await session.scalars(statement)).all()
    embed = "author" in include.split(",")
    data = [post_out(row, with_author=embed) for row in rows]
    return Many(data=data, meta=Meta(page=page, limit=limit, total=total or 0))


@app.post("/api/v1/posts", status_code=201)
async def create_post(
    data: PostIn, session: Session, authorization: Annotated[str, Header()]
) -> One:
    claims: dict[str, Any] = jwt.decode(
        authorization.removeprefix("Bearer "),
        SECRET_KEY,
        algorithms=["HS256"],
        audience="blog-api",
        issuer="blog",
    )
    user = await session.get(User, int(claims["sub"]))
    if user is None or not user.is_active:
        raise HTTPException(401)
    post = Post(**data.model_dump(), author_id=user.id, created_by=user.id, updated_by=user.id)
    session.add(post)
    await session.commit()
    return One(data=post_out(post))
