"""The certificate as a document: a Jinja2 template rendered to a one-page A4 PDF by WeasyPrint.

The template and everything it uses (stylesheet, ornaments) live in
``templates/certificates/``; the QR code is drawn by segno as inline SVG. Nothing is ever
fetched from the network or from elsewhere on disk: WeasyPrint's fetcher here answers
``data:`` URLs and files inside that folder, and refuses everything else, so no value a
learner types can make the renderer reach out. Text goes through Pango, so any script
renders with the Noto family the stylesheet's font stacks fall back to.

Names and titles are user input, up to 255 characters: the template autoescapes them, and
each is set at the largest size at which it fits its band (measured with the font's own
advances), so the page stays one page and nothing is cut off.

:func:`render_pdf` blocks on CPU (about 50 ms warm for a Latin name, 90 ms for a CJK one,
`make bench`): callers run it in a worker thread or a job. It may run in several threads at
once; the font configurations it reuses are lent to one render at a time.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import segno
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from core.clock import long_date
from core.settings import PROJECT_ROOT

TEMPLATES = (PROJECT_ROOT / "templates" / "certificates").resolve()
TEMPLATE = "certificate.html"
STYLESHEET = TEMPLATES / "certificate.css"
CONTENT_TYPES = {".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True, slots=True)
class CertificateDocument:
    platform_name: str
    learner_name: str
    course_title: str
    instructor_name: str
    completed_on: date
    issued_on: date
    unique_id: str
    verification_url: str


def render_pdf(document: CertificateDocument) -> bytes:
    """The certificate as PDF bytes: one A4 landscape page, whatever the lengths of its texts."""
    html = HTML(
        string=render_html(document),
        base_url=TEMPLATES.as_uri() + "/",
        url_fetcher=LocalOnlyFetcher(),
    )
    with _pool.borrow() as resources:
        pdf = html.write_pdf(stylesheets=[resources.stylesheet], font_config=resources.fonts)
    assert isinstance(pdf, bytes)  # what write_pdf returns when given no target
    return pdf


def render_html(document: CertificateDocument) -> str:
    """The certificate's HTML (autoescaped: names and titles are user input)."""
    return _environment().get_template(TEMPLATE).render(**_context(document))


def qr_svg(url: str) -> str:
    """The QR code of ``url`` as an inline ``<svg>`` (no size: the stylesheet sizes it).

    Error correction M survives a crease or a smudge on a printed certificate; the quiet
    zone (four modules, what scanners expect) is part of the drawing.
    """
    qr = segno.make(url, error="m", boost_error=False)
    svg: str = qr.svg_inline(omitsize=True, border=4, dark="#1c2a43", svgclass="qr")
    return svg


class FetchRefused(ValueError):
    """The certificate asked for something outside its own folder."""


class LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint is untyped
    """WeasyPrint's fetcher, limited to ``data:`` URLs and the files of the template folder.

    Autoescaping already keeps a name from becoming an ``<img>``; this is the second lock,
    for whatever the template or stylesheet might come to reference. A refusal is an ordinary
    exception: WeasyPrint logs it and renders without the resource. One instance per render
    (the parent class keeps per-request state).
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            response: URLFetcherResponse = super().fetch(url, headers)
            return response
        path = template_file(url)
        if path is None:
            raise FetchRefused(f"certificates fetch nothing outside their folder: {url}")
        content_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        return URLFetcherResponse(
            path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type}
        )


def template_file(url: str) -> Path | None:
    """The file a ``file:`` URL names, if it is inside the template folder (links resolved)."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path)).resolve()
    if not path.is_relative_to(TEMPLATES) or not path.is_file():
        return None
    return path


@dataclass(frozen=True, slots=True)
class _Resources:
    fonts: FontConfiguration
    stylesheet: CSS


class _ResourcePool:
    """Font configurations with their parsed stylesheet, lent to one render at a time.

    A FontConfiguration holds fontconfig's configuration, Pango's font map and the fonts it
    has loaded; building one is most of a cold render (about 0.1 s), reusing one is what
    makes the next render fast. Pango's font maps must not serve two threads at once, hence
    one per render in progress. Their number is capped at the number of cores (renders are
    CPU-bound; more at once would not finish sooner), so that a thread pool of forty does not
    keep forty of them (about 50 MiB each once CJK fonts are loaded): a render beyond the cap
    waits for one to come back.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._built = 0
        self._lock = threading.Lock()
        self._free: queue.LifoQueue[_Resources] = queue.LifoQueue()  # the warmest first

    @contextmanager
    def borrow(self) -> Iterator[_Resources]:
        resources = self._take()
        try:
            yield resources
        finally:
            self._free.put(resources)

    def _take(self) -> _Resources:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                build = self._built < self._size
                if build:
                    self._built += 1
            if not build:
                return self._free.get()
            try:
                return self._build()
            except BaseException:
                with self._lock:  # the place is free again for the next render to build
                    self._built -= 1
                raise

    @staticmethod
    def _build() -> _Resources:
        fonts = FontConfiguration()
        stylesheet = CSS(
            filename=str(STYLESHEET), font_config=fonts, url_fetcher=LocalOnlyFetcher()
        )
        return _Resources(fonts=fonts, stylesheet=stylesheet)


_pool = _ResourcePool(size=max(2, os.cpu_count() or 2))


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
    )


def _context(document: CertificateDocument) -> dict[str, Any]:
    return {
        "platform_name": document.platform_name,
        "learner_name": document.learner_name,
        "course_title": document.course_title,
        "instructor_name": document.instructor_name,
        "completed_on": long_date(document.completed_on),
        "issued_on": long_date(document.issued_on),
        "unique_id": document.unique_id,
        "verification_url": document.verification_url,
        "qr": Markup(qr_svg(document.verification_url)),  # noqa: S704 (segno's own markup)
        "name": _TextStyle.of(document.learner_name, NAME_BAND),
        "course": _TextStyle.of(document.course_title, COURSE_BAND),
        "instructor": _TextStyle.of(document.instructor_name, INSTRUCTOR_BAND),
    }


@dataclass(frozen=True, slots=True)
class _Band:
    """The room the stylesheet gives one user-supplied text, and the sizes it may take."""

    face: str  # the font file it is set in (fonts-noto-core), to measure it
    width_mm: float
    height_mm: float
    line_height: float  # as in the stylesheet
    sizes: tuple[float, ...]  # in pt, largest first


# The widths and line heights are the stylesheet's; the heights add up, with the fixed texts
# around them, to the bands between header, statement and footer. The smallest size holds 255
# characters of the widest letters, the columns' limit.
NAME_BAND = _Band(
    "NotoSerifDisplay-Italic.ttf", 245, 36, 1.18, (46, 40, 34, 28, 24, 20, 17, 15, 13, 11.5)
)
UPRIGHT_NAME_BAND = replace(NAME_BAND, face="NotoSerifDisplay-Regular.ttf")
COURSE_BAND = _Band(
    "NotoSerifDisplay-Regular.ttf", 245, 26, 1.22, (25, 22, 19, 16, 14, 12, 10.5, 9.5)
)
INSTRUCTOR_BAND = _Band("NotoSerif-Regular.ttf", 70, 20, 1.25, (15, 12.5, 10.5, 9, 7.5, 6.5, 6))
FONT_FILES = Path("/usr/share/fonts/truetype/noto")
PT_PER_MM = 72 / 25.4
WRAP_SLACK = 0.9  # lines break between words, so they are rarely full


@dataclass(frozen=True, slots=True)
class _TextStyle:
    """How the template sets one user-supplied text: its size, direction and slant."""

    size: float
    direction: str  # "rtl" for Arabic or Hebrew, so punctuation and digits sit right
    upright: bool  # scripts with no italic (CJK, Arabic ...) are never slanted artificially

    @classmethod
    def of(cls, text: str, band: _Band) -> _TextStyle:
        upright = not _has_italic(text)
        if upright and band is NAME_BAND:
            band = UPRIGHT_NAME_BAND
        return cls(size=_fitting_size(text, band), direction=_direction(text), upright=upright)


def _fitting_size(text: str, band: _Band) -> float:
    """The largest size at which ``text``, wrapped to the band's width, fits its height."""
    width_em = _width_in_em(text, band.face)
    line_pt = band.width_mm * PT_PER_MM * WRAP_SLACK
    for size in band.sizes:
        lines = max(1, math.ceil(width_em * size / line_pt))
        if lines * size * band.line_height <= band.height_mm * PT_PER_MM:
            return size
    return band.sizes[-1]


def _width_in_em(text: str, face: str) -> float:
    """The text's width in ems, from the face's own advances (a "W" is three "i"s wide).

    Letters the face lacks are drawn by a fallback font: a CJK ideograph is one em, anything
    else is counted at the width of a wide Latin letter, to err on the small side.
    """
    advances = _advances(face)
    return sum(
        0.0
        if unicodedata.combining(c)
        else advances.get(ord(c))
        or (1.0 if unicodedata.east_asian_width(c) in ("W", "F") else 0.75)
        for c in text
    )


@lru_cache(maxsize=8)
def _advances(face: str) -> dict[int, float]:
    """Each character's advance in ems; empty (so every letter is estimated) without the file."""
    path = FONT_FILES / face
    if not path.is_file():
        return {}
    font = TTFont(path, lazy=True)
    widths = font["hmtx"].metrics
    em = font["head"].unitsPerEm
    return {code: widths[glyph][0] / em for code, glyph in font.getBestCmap().items()}


def _direction(text: str) -> str:
    for c in text:
        kind = unicodedata.bidirectional(c)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def _has_italic(text: str) -> bool:
    """Whether every letter is Latin, Greek or Cyrillic: the scripts Noto Serif has italics for."""
    return all(
        unicodedata.name(c, "").startswith(("LATIN", "GREEK", "CYRILLIC"))
        for c in text
        if c.isalpha()
    )
