"""Small row factories: each returns a flushed row with sensible defaults, overridable."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from models import (
    Course,
    CourseCatalog,
    CourseModule,
    Difficulty,
    Enrollment,
    Payment,
    PaymentMethod,
    Role,
    User,
)

_sequence = itertools.count(1)


def make_user(session: Session, **values: Any) -> User:
    n = next(_sequence)
    defaults: dict[str, Any] = {
        "username": f"user{n}",
        "email": f"user{n}@example.com",
        "name": f"User {n}",
        "role": Role.STUDENT,
        "password_hash": "not-a-real-hash",
    }
    user = User(**(defaults | values))
    session.add(user)
    session.flush()
    return user


def make_course(session: Session, *, instructor: User | None = None, **values: Any) -> Course:
    instructor = instructor or make_user(session, role=Role.INSTRUCTOR)
    defaults: dict[str, Any] = {
        "title": f"Course {next(_sequence)}",
        "instructor_id": instructor.user_id,
        "category": "Programming",
        "difficulty": Difficulty.BEGINNER,
        "price": Decimal("49.99"),
        "duration": 120,
    }
    course = Course(**(defaults | values))
    session.add(course)
    session.flush()
    session.add(CourseCatalog(course_id=course.course_id, is_active=True))
    session.flush()
    return course


def make_module(session: Session, course: Course, **values: Any) -> CourseModule:
    defaults: dict[str, Any] = {"course_id": course.course_id, "title": "Module", "position": 0}
    module = CourseModule(**(defaults | values))
    session.add(module)
    session.flush()
    return module


def make_payment(session: Session, user: User, course: Course, **values: Any) -> Payment:
    defaults: dict[str, Any] = {
        "user_id": user.user_id,
        "course_id": course.course_id,
        "amount": course.price,
        "transaction_id": f"tx_{next(_sequence)}",
        "method": PaymentMethod.CARD,
    }
    payment = Payment(**(defaults | values))
    session.add(payment)
    session.flush()
    return payment


def make_enrollment(session: Session, user: User, course: Course, **values: Any) -> Enrollment:
    enrollment = Enrollment(**({"user_id": user.user_id, "course_id": course.course_id} | values))
    session.add(enrollment)
    session.flush()
    return enrollment
