"""The table the auth block adds: refresh tokens, stored as hashes, grouped in families."""

from __future__ import annotations

from generator import ir
from generator.compile import naming
from generator.compile.naming import REFRESH_TOKEN_TABLE
from generator.compile.normalize import ID_TYPES

TOKEN_HASH_LENGTH = 64  # hex SHA-256
FAMILY_ID_LENGTH = 32  # hex of 16 random bytes


def refresh_token_table(api: ir.Api, user_table: str) -> ir.Table:
    """One row per refresh token ever issued: its hash, family, lifetime and revocation."""
    table = REFRESH_TOKEN_TABLE
    datetime = ir.SqlType("datetime")
    return ir.Table(
        name=table,
        kind="token",
        columns=(
            ir.Column(
                "id",
                ID_TYPES[api.id_type],
                primary_key=True,
                autoincrement=api.id_type == "integer",
            ),
            ir.Column("user_id", ID_TYPES[api.id_type]),
            ir.Column("token_hash", ir.SqlType("string", length=TOKEN_HASH_LENGTH)),
            ir.Column("family_id", ir.SqlType("string", length=FAMILY_ID_LENGTH)),
            ir.Column("expires_at", datetime),
            ir.Column("revoked_at", datetime, nullable=True),
            ir.Column("created_at", datetime, server_default="CURRENT_TIMESTAMP"),
        ),
        primary_key=("id",),
        foreign_keys=(
            ir.ForeignKey(
                naming.constraint_name(f"fk_{table}_user_id_{user_table}"),
                ("user_id",),
                user_table,
                ("id",),
                "CASCADE",
            ),
        ),
        constraints=(
            ir.Constraint(
                naming.constraint_name(f"uq_{table}_token_hash"), "unique", ("token_hash",)
            ),
        ),
        indexes=(
            ir.Index(naming.constraint_name(f"ix_{table}_family_id"), ("family_id",)),
            ir.Index(naming.constraint_name(f"ix_{table}_user_id"), ("user_id",)),
        ),
    )
