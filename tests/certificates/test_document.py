"""The certificate document: what the PDF a learner downloads must show, whatever their name.

Each document is rendered once for the module, then read the way its readers read it: its
text (poppler's ``pdftotext``), its page and fonts (pypdf, fontTools), and the page as an
image (``pdftoppm``) whose QR code is decoded (zxing-cpp). Helpers that read a PDF are at
the end.
"""

from __future__ import annotations

import html
import io
import itertools
import re
import subprocess
import threading
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pypdf
import pytest
import zxingcpp
from fontTools.ttLib import TTFont
from PIL import Image

from core.clock import long_date
from services.certificate_documents import (
    TEMPLATES,
    CertificateDocument,
    FetchRefused,
    LocalOnlyFetcher,
    _ResourcePool,
    qr_svg,
    render_pdf,
)

DOCUMENT = CertificateDocument(
    platform_name="Online Learning Platform",
    learner_name="Zoë Ångström-Núñez",
    course_title="Foundations of Data Engineering",
    instructor_name="Dr. Amara Okafor",
    completed_on=date(2026, 12, 2),
    issued_on=date(2026, 12, 3),
    unique_id="CERT-7KQ2-M9XD-4TPA-B3HC",
    verification_url="http://127.0.0.1:8000/verify/CERT-7KQ2-M9XD-4TPA-B3HC",
)
A4_LANDSCAPE = (842, 595)  # points
INSIDE_THE_FRAME = (41, 41, 801, 554)  # the gold frame, 14.4 mm in from each edge, in points


@dataclass(frozen=True)
class Script:
    name: str  # a learner's name in that script
    font: str  # the Noto family that must draw it, as PDFs name fonts (hyphens for spaces)
    rtl: bool = False


SCRIPTS = {
    "latin-accents": Script("Zoë Ångström-Núñez", "Noto-Serif-Display"),
    "yoruba": Script("Adébáyọ̀ Ọláńrewájú", "Noto-Serif-Display"),
    "arabic": Script("ليلى عبد الله", "Noto-Naskh-Arabic", rtl=True),
    "chinese": Script("王小明", "Noto-Serif-CJK"),
    "japanese": Script("山田太郎", "Noto-Serif-CJK"),
    "korean": Script("김민준", "Noto-Serif-CJK"),
}

LONG_TEXTS = {  # name, course title, instructor: 255 characters each, the columns' limit
    "words": (
        ("Maximiliana Theodora " * 13)[:255],
        ("Distributed Systems and Cloud Architecture " * 6)[:255],
        ("Bartholomew Fitzgerald " * 12)[:255],
    ),
    "widest-letters": ("W" * 255, "M" * 255, "W" * 255),  # one word each, wrapped anywhere
    "capitals": (
        ("MARIA DEL CARMEN FERNANDEZ DE LA TORRE " * 7)[:255],
        ("INTRODUCTION TO QUANTUM COMPUTING " * 8)[:255],
        ("PROFESSOR WOLFGANG MUELLER " * 10)[:255],
    ),
    "cjk": ("王" * 255, ("数据工程" * 64)[:255], "山" * 255),
}


# --- the documents, each rendered once ---------------------------------------------------------


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_pdf(DOCUMENT)


@pytest.fixture(scope="module", params=list(SCRIPTS))
def script_pdf(request: pytest.FixtureRequest) -> tuple[Script, bytes]:
    script = SCRIPTS[request.param]
    return script, render_pdf(replace(DOCUMENT, learner_name=script.name))


@pytest.fixture(scope="module", params=list(LONG_TEXTS))
def long_pdf(request: pytest.FixtureRequest) -> tuple[tuple[str, ...], bytes]:
    texts = LONG_TEXTS[request.param]
    name, title, instructor = texts
    document = replace(DOCUMENT, learner_name=name, course_title=title, instructor_name=instructor)
    return texts, render_pdf(document)


@dataclass
class Server:
    url: str
    requests: list[str]  # the paths asked for


@pytest.fixture(scope="module")
def http_server() -> Iterator[Server]:
    """A web server on loopback that records every request reaching it."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Server(url=f"http://127.0.0.1:{server.server_port}", requests=requests)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def hostile_pdf(http_server: Server) -> tuple[str, bytes]:
    """A name made of markup, with an image and a stylesheet on the recording server."""
    name = f'<b>Eve</b> & <img src="{http_server.url}/name.png">'
    title = f'<link rel="stylesheet" href="{http_server.url}/title.css">Rust'
    return name, render_pdf(replace(DOCUMENT, learner_name=name, course_title=title))


# --- what the certificate shows ----------------------------------------------------------------


class TestContent:
    def test_shows_the_learner_course_instructor_id_dates_and_platform(self, pdf: bytes) -> None:
        text = pdf_text(pdf)
        for shown in (
            "Zoë Ångström-Núñez",
            "Foundations of Data Engineering",
            "Dr. Amara Okafor",
            "CERT-7KQ2-M9XD-4TPA-B3HC",
            "Completed on 2 December 2026",
            "3 December 2026",
            DOCUMENT.verification_url,
        ):
            assert shown in text
        assert "ONLINE LEARNING PLATFORM" in text  # set in capitals, letter-spaced

    def test_is_one_a4_landscape_page(self, pdf: bytes) -> None:
        pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
        assert len(pages) == 1
        size = (float(pages[0].mediabox.width), float(pages[0].mediabox.height))
        assert size == pytest.approx(A4_LANDSCAPE, abs=1)

    def test_its_qr_code_opens_the_verification_page(self, pdf: bytes) -> None:
        codes = zxingcpp.read_barcodes(page_image(pdf, dpi=150))
        assert [(code.format, code.text) for code in codes] == [
            (zxingcpp.BarcodeFormat.QRCode, DOCUMENT.verification_url)
        ]

    def test_nothing_overlaps_and_all_is_inside_the_frame(self, pdf: bytes) -> None:
        assert collisions(pdf) == []
        assert outside_the_frame(pdf) == []

    def test_dates_read_the_same_on_every_machine(self) -> None:
        assert long_date(date(2026, 12, 2)) == "2 December 2026"
        assert long_date(date(2027, 1, 31)) == "31 January 2027"

    def test_the_qr_code_is_inline_svg(self) -> None:
        svg = qr_svg(DOCUMENT.verification_url)
        assert svg.startswith("<svg")
        assert svg.endswith("</svg>")


class TestNamesInEveryScript:
    def test_the_name_is_in_the_text(self, script_pdf: tuple[Script, bytes]) -> None:
        script, pdf = script_pdf
        assert shows(pdf, script.name, rtl=script.rtl)

    def test_every_letter_is_drawn_by_a_noto_font_of_its_script(
        self, script_pdf: tuple[Script, bytes]
    ) -> None:
        # A letter no font has is drawn as a .notdef box, yet still mapped to the letter in
        # the text: only the glyphs the embedded fonts really have count here.
        script, pdf = script_pdf
        fonts = [font for font in embedded_fonts(pdf) if font.name.startswith(script.font)]
        assert fonts, f"no {script.font} font embedded"
        drawn = {letter for font in fonts for letter in font.drawn_letters()}
        assert letters(script.name) <= drawn

    def test_nothing_overlaps_and_all_is_inside_the_frame(
        self, script_pdf: tuple[Script, bytes]
    ) -> None:
        _, pdf = script_pdf
        assert collisions(pdf) == []
        assert outside_the_frame(pdf) == []


class TestUntrustedText:
    def test_markup_in_a_name_is_printed_literally(self, hostile_pdf: tuple[str, bytes]) -> None:
        name, pdf = hostile_pdf
        text = pdf_text(pdf).replace(" ", "")  # the long name wraps, at a slash as it happens
        assert name.replace(" ", "") in text
        assert "title.css" in text

    def test_nothing_is_fetched_for_it(
        self, hostile_pdf: tuple[str, bytes], http_server: Server
    ) -> None:
        assert http_server.requests == []

    def test_the_fetcher_refuses_the_network(self, http_server: Server) -> None:
        with pytest.raises(FetchRefused):
            LocalOnlyFetcher().fetch(f"{http_server.url}/direct.png")
        assert http_server.requests == []

    @pytest.mark.parametrize(
        "url",
        [
            "file:///etc/passwd",
            (TEMPLATES / ".." / ".." / "settings.toml").as_uri(),
            TEMPLATES.as_uri() + "/missing.svg",
            "ftp://127.0.0.1/x",
        ],
    )
    def test_the_fetcher_refuses_files_outside_the_template_folder(self, url: str) -> None:
        with pytest.raises(FetchRefused):
            LocalOnlyFetcher().fetch(url)

    def test_the_fetcher_serves_the_folder_and_data_urls(self) -> None:
        css = LocalOnlyFetcher().fetch((TEMPLATES / "certificate.css").as_uri())
        assert css.read().startswith(b"/*")
        assert LocalOnlyFetcher().fetch("data:text/plain,hello").read() == b"hello"


class TestLongTexts:
    def test_still_one_page(self, long_pdf: tuple[tuple[str, ...], bytes]) -> None:
        _, pdf = long_pdf
        assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1

    def test_shrunk_and_wrapped_never_cut(self, long_pdf: tuple[tuple[str, ...], bytes]) -> None:
        texts, pdf = long_pdf
        text = pdf_text(pdf).replace(" ", "")
        for shown in texts:
            assert shown.replace(" ", "") in text
        assert collisions(pdf) == []
        assert outside_the_frame(pdf) == []


class TestThreads:
    def test_renders_in_several_threads_at_once(self) -> None:
        scripts = list(SCRIPTS.values())
        with ThreadPoolExecutor(max_workers=3) as pool:
            pdfs = list(
                pool.map(lambda s: render_pdf(replace(DOCUMENT, learner_name=s.name)), scripts)
            )
        for script, pdf in zip(scripts, pdfs, strict=True):
            assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1
            assert shows(pdf, script.name, rtl=script.rtl)


# --- reading a PDF -----------------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    """The text, NFC, whitespace collapsed (poppler, as pypdf splits letter-spaced words)."""
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return " ".join(unicodedata.normalize("NFC", out).split())


def shows(pdf: bytes, text: str, *, rtl: bool = False) -> bool:
    """Whether the PDF's text holds ``text`` (as a whole line, for right-to-left text)."""
    text = unicodedata.normalize("NFC", text)
    return text in drawn_lines(pdf) if rtl else text in pdf_text(pdf)


def letters(text: str) -> set[str]:
    """The letters and marks of ``text``, decomposed: "ọ̀" drawn whole or as "o" + marks alike."""
    return {c for c in unicodedata.normalize("NFD", text) if not c.isspace() and c != "-"}


def page_image(pdf: bytes, *, dpi: int) -> Image.Image:
    png = subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-singlefile"],  # stdin to stdout
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    return Image.open(io.BytesIO(png))


@dataclass(frozen=True)
class EmbeddedFont:
    name: str  # the /BaseFont without its subset tag: "Noto-Naskh-Arabic"
    glyph_count: int  # of the embedded font program
    to_unicode: dict[int, str]  # the PDF's map, glyph -> text, what copy and paste reads

    def drawn_letters(self) -> set[str]:
        """The letters this font draws with glyphs it has (WeasyPrint numbers a missing
        letter's .notdef box past the font's last glyph; 0 is .notdef itself)."""
        return {
            letter
            for glyph, text in self.to_unicode.items()
            if 0 < glyph < self.glyph_count
            for letter in letters(text)
        }


def embedded_fonts(pdf: bytes) -> list[EmbeddedFont]:
    fonts = []
    for font in pypdf.PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        program = (descriptor.get("/FontFile2") or descriptor["/FontFile3"]).get_object()
        fonts.append(
            EmbeddedFont(
                name=str(font["/BaseFont"]).split("+", 1)[1],
                glyph_count=TTFont(io.BytesIO(program.get_data()))["maxp"].numGlyphs,
                to_unicode=_to_unicode(font),
            )
        )
    return fonts


def _to_unicode(font: pypdf.generic.DictionaryObject) -> dict[int, str]:
    cmap = font["/ToUnicode"].get_object().get_data().decode()
    pairs = re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", cmap.split("beginbfchar", 1)[1])
    return {int(glyph, 16): bytes.fromhex(text).decode("utf-16-be") for glyph, text in pairs}


def drawn_lines(pdf: bytes) -> list[str]:
    """The text of each string the page shows, glyph by glyph through the fonts' maps, reversed.

    For right-to-left text: a PDF shows glyphs left to right, so the logical text is the
    glyphs' texts in reverse order. pdftotext and pypdf also reverse the letters inside one
    glyph, and so turn the ligature "لله" into "اهلل", while the PDF's own map is right.
    """
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    maps = {
        str(key): _to_unicode(font.get_object())
        for key, font in page["/Resources"]["/Font"].items()
    }
    lines, current = [], {}
    for operands, operator in pypdf.generic.ContentStream(page.get_contents(), reader).operations:
        if operator == b"Tf":
            current = maps[str(operands[0])]
        elif operator in (b"TJ", b"Tj"):
            items = operands[0] if operator == b"TJ" else [operands[0]]
            # pypdf reads some glyph strings as text; their bytes are what the page holds.
            raw = b"".join(
                item.original_bytes if isinstance(item, pypdf.generic.TextStringObject) else item
                for item in items
                if isinstance(item, bytes | str)
            )
            glyphs = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
            lines.append("".join(current.get(glyph, "") for glyph in reversed(glyphs)))
    return [unicodedata.normalize("NFC", line) for line in lines]


@dataclass(frozen=True)
class Word:
    text: str
    box: tuple[float, float, float, float]  # left, top, right, bottom, in points

    def core(self) -> tuple[float, float, float, float]:
        """The box without its top and bottom quarters: the lines of a paragraph may touch
        there (the line height is below the fonts' ascent plus descent), words drawn over
        each other also overlap inside."""
        left, top, right, bottom = self.box
        quarter = (bottom - top) / 4
        return left, top + quarter, right, bottom - quarter


def words(pdf: bytes) -> list[Word]:
    page = subprocess.run(
        ["pdftotext", "-bbox", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
    return [
        Word(html.unescape(text), (float(x0), float(y0), float(x1), float(y1)))
        for x0, y0, x1, y1, text in re.findall(pattern, page)
    ]


def collisions(pdf: bytes) -> list[tuple[str, str]]:
    """The pairs of words drawn over each other."""

    def overlap(a: Word, b: Word) -> bool:
        (al, at, ar, ab), (bl, bt, br, bb) = a.core(), b.core()
        return min(ar, br) - max(al, bl) > 0.5 and min(ab, bb) - max(at, bt) > 0.5

    return [(a.text, b.text) for a, b in itertools.combinations(words(pdf), 2) if overlap(a, b)]


def outside_the_frame(pdf: bytes) -> list[str]:
    left, top, right, bottom = INSIDE_THE_FRAME
    return [
        word.text
        for word in words(pdf)
        if word.box[0] < left or word.box[1] < top or word.box[2] > right or word.box[3] > bottom
    ]


def test_a_failed_font_setup_gives_its_place_back() -> None:
    """The renderer's pool builds at most ``size`` font configurations; one whose build
    fails must not keep its place, or enough failures would leave every later render
    waiting for ever."""

    class Flaky(_ResourcePool):
        failures = 1

        def _build(self) -> Any:
            if Flaky.failures:
                Flaky.failures -= 1
                raise OSError("fontconfig could not read its cache")
            return super()._build()

    pool = Flaky(size=1)
    with pytest.raises(OSError, match="fontconfig"), pool.borrow():
        pass
    done = threading.Event()

    def borrow_once() -> None:
        with pool.borrow():
            done.set()

    threading.Thread(target=borrow_once, daemon=True).start()
    assert done.wait(timeout=20), "the pool kept the failed build's place"
