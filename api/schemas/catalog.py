"""The public course catalog (the seed's Course Service list)."""

from __future__ import annotations

from api.schemas.base import CamelModel
from models import Difficulty


class CatalogCourse(CamelModel):
    course_id: int
    title: str
    instructor: str
    rating: float | None
    duration: int
    category: str
    cover_image_url: str | None
    description: str
    price: float
    difficulty: Difficulty


class CatalogList(CamelModel):
    courses: list[CatalogCourse]
