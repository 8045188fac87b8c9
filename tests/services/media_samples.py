"""Small real files of each type, built byte by byte, and content that only pretends."""

from __future__ import annotations

import base64
import struct
import zlib


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte, one red pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _mp4(size: int, brand: bytes) -> bytes:
    """An ``ftyp`` box of ``size`` bytes with ``brand`` as its major brand, then an empty mdat."""
    compatible = (brand + b"isommp41avc1iso2")[: size - 16]
    ftyp = struct.pack(">I", size) + b"ftyp" + brand + b"\x00\x00\x02\x00" + compatible
    return ftyp + struct.pack(">I", 8) + b"mdat"


def _ebml(doctype: bytes) -> bytes:
    """An EBML header as muxers write it (versions, id and size lengths, DocType), then the
    start of a Segment of unknown size."""
    elements = (
        b"\x42\x86\x81\x01"  # EBMLVersion 1
        b"\x42\xf7\x81\x01"  # EBMLReadVersion 1
        b"\x42\xf2\x81\x04"  # EBMLMaxIDLength 4
        b"\x42\xf3\x81\x08"  # EBMLMaxSizeLength 8
        + b"\x42\x82"
        + bytes([0x80 | len(doctype)])
        + doctype
        + b"\x42\x87\x81\x04"  # DocTypeVersion 4
        b"\x42\x85\x81\x02"  # DocTypeReadVersion 2
    )
    header = b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(elements)]) + elements
    return header + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff"


PNG = _png()
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + bytes(32)
    + b"\xff\xd9"
)
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
WEBP = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
MP4 = _mp4(0x20, b"isom")  # what ffmpeg writes
# puremagic names none of these: the explicit ftyp check does.
MP4_VARIANTS = {
    "mp41-20": _mp4(0x14, b"mp41"),
    "avc1-28": _mp4(0x1C, b"avc1"),
    "iso5-32": _mp4(0x20, b"iso5"),
    "mp42-24": _mp4(0x18, b"mp42"),
}
WEBM = _ebml(b"webm")
PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)

# Content that is not an allowed type, whatever its name says.
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(64)
TEXT = b"just some notes, not a PDF\n"
MKV = _ebml(b"matroska")
QUICKTIME = _mp4(0x14, b"qt  ")
