"""Course files: ``media_repository`` (videos, images, documents) in upload order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from models.base import Base, db_enum
from models.courses import Course
from models.enums import MediaType
from models.users import User


class MediaFile(Base):
    __tablename__ = "media_repository"
    __table_args__ = (
        # The seed's B-tree index for ordered retrieval; unique because ``index`` is the
        # sequence number of the file within its course.
        Index("ix_media_repository_course_id_index", "course_id", "index", unique=True),
        CheckConstraint('"index" >= 0', name="index_not_negative"),
    )

    media_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.course_id", ondelete="CASCADE"))
    instructor_id: Mapped[int] = mapped_column(
        ForeignKey("users.user_id", ondelete="RESTRICT"), index=True
    )
    media_type: Mapped[MediaType] = mapped_column(db_enum(MediaType, "media_type"))
    media_url: Mapped[str] = mapped_column(String(255))
    # The key of the file stored for this row by an upload (None for an external link): the
    # row owns that file, which is served and deleted by this key, never by the URL's text.
    storage_key: Mapped[str | None] = mapped_column(String(255), unique=True, index=True)
    index: Mapped[int] = mapped_column("index", Integer)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    course: Mapped[Course] = relationship(lazy="raise")
    instructor: Mapped[User] = relationship(lazy="raise")
