"""GET /api/courses/catalog/list: the public catalog of published courses."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import SessionDep, StateDep
from api.envelope import Envelope, ErrorEnvelope, ok
from api.schemas.base import INT32_MAX, Offset
from api.schemas.catalog import CatalogCourse, CatalogList
from core.errors import InvalidInput
from models import Difficulty
from services.catalog import CATALOG_SORTS, CatalogQuery, list_catalog

router = APIRouter(prefix="/api/courses", tags=["courses"])

# Prices are NUMERIC(10, 2).
MAX_PRICE = Decimal("99999999.99")


def _sort(raw: str | None) -> tuple[tuple[str, bool], ...]:
    if not raw:
        return ()
    fields = []
    for part in (piece.strip() for piece in raw.split(",")):
        name = part.lstrip("-")
        if name not in CATALOG_SORTS:
            raise InvalidInput(
                f"cannot sort on {name!r}; use {', '.join(CATALOG_SORTS)}", field="sort"
            )
        fields.append((name, part.startswith("-")))
    return tuple(fields)


@router.get(
    "/catalog/list",
    response_model=Envelope[CatalogList],
    responses={400: {"model": ErrorEnvelope}},
    summary="Published courses, filtered and paged (public)",
)
async def catalog_list(
    session: SessionDep,
    state: StateDep,
    category: Annotated[str | None, Query(max_length=50)] = None,
    difficulty: Difficulty | None = None,
    duration: Annotated[
        int | None, Query(ge=0, le=INT32_MAX, description="Courses of at most this many minutes")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Search title and description")
    ] = None,
    min_price: Annotated[Decimal | None, Query(alias="minPrice", ge=0, le=MAX_PRICE)] = None,
    max_price: Annotated[Decimal | None, Query(alias="maxPrice", ge=0, le=MAX_PRICE)] = None,
    sort: Annotated[
        str | None, Query(description="e.g. -rating,title; fields: " + ", ".join(CATALOG_SORTS))
    ] = None,
    limit: Annotated[int | None, Query(ge=1, description="Page size, at most 100")] = None,
    offset: Annotated[Offset, Query()] = 0,
) -> Envelope[CatalogList]:
    api = state.settings.api
    query = CatalogQuery(
        category=category,
        difficulty=difficulty,
        max_duration=duration,
        search=q.strip() if q else None,
        min_price=min_price,
        max_price=max_price,
        sort=_sort(sort),
        limit=api.page_size(limit),
        offset=offset,
    )
    rows = await list_catalog(session, query)
    courses = [
        CatalogCourse(
            course_id=course.course_id,
            title=course.title,
            instructor=instructor_name,
            rating=course.rating,
            duration=course.duration,
            category=course.category,
            cover_image_url=course.cover_image_url,
            description=course.description,
            price=course.price,
            difficulty=course.difficulty,
        )
        for course, instructor_name in rows
    ]
    return ok(CatalogList(courses=courses))
