"""People and their sign-in links: ``users`` and ``user_accounts`` (OAuth providers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from models.base import Base, TimestampMixin, db_enum
from models.enums import Role

if TYPE_CHECKING:
    from models.courses import Course


class User(TimestampMixin, Base):
    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    email: Mapped[str] = mapped_column(String(100), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # Accounts made through OAuth hold an unusable marker until their owner sets a password
    # (see core.passwords.unusable_password_hash).
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        db_enum(Role, "user_role"),
        default=Role.STUDENT,
        server_default=Role.STUDENT.value,
    )
    name: Mapped[str] = mapped_column(String(100))
    avatar_url: Mapped[str | None] = mapped_column(String(255))
    # Deactivated users keep their history (payments, certificates) but cannot sign in.
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # The names fastapi-users expects, over the seed's columns.
    id: Mapped[int] = synonym("user_id")
    hashed_password: Mapped[str] = synonym("password_hash")

    @property
    def is_superuser(self) -> bool:
        return self.role is Role.ADMIN

    @is_superuser.setter
    def is_superuser(self, value: bool) -> None:
        raise AttributeError("the role decides who is an administrator; set role instead")

    accounts: Mapped[list[UserAccount]] = relationship(
        back_populates="user",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    courses: Mapped[list[Course]] = relationship(back_populates="instructor", lazy="raise")


class UserAccount(Base):
    """A link between a user and an OAuth provider's identity."""

    __tablename__ = "user_accounts"
    __table_args__ = (UniqueConstraint("provider", "provider_user_id"),)

    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(50))
    provider_user_id: Mapped[str] = mapped_column(String(100))
    # Provider tokens, encrypted at rest by the auth service (ciphertext is longer than the token).
    access_token: Mapped[str | None] = mapped_column(String(1024))
    refresh_token: Mapped[str | None] = mapped_column(String(1024))

    user: Mapped[User] = relationship(back_populates="accounts", lazy="raise")
