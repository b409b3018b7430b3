"""Real image files for upload tests, made with Pillow (and by hand where Pillow won't make a bad one)."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def jpeg(size=(80, 60), color=(200, 40, 40), exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", exif=exif if exif is not None else b"")
    return out.getvalue()


def png(size=(40, 30), color=(10, 120, 200, 128)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, "PNG")
    return out.getvalue()


def rotated_jpeg_with_gps() -> bytes:
    """A 80×60 picture that the camera held upright (EXIF orientation 6: rotate 90° clockwise), with GPS."""
    exif = Image.Exif()
    exif[0x0112] = 6                                        # Orientation
    exif[0x010F] = "TabletCam"                              # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (31.0, 13.0, 40.0)
    gps[3] = "E"
    gps[4] = (121.0, 28.0, 12.0)
    return jpeg(size=(80, 60), exif=exif)


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header that claims a huge size, with a tiny (wrong) body: a decompression bomb shape."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


SVG_WITH_SCRIPT = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script>
<rect width="10" height="10"/></svg>"""


def noisy_jpeg(size=(400, 300)) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(out, "JPEG")
    return out.getvalue()


def truncated_jpeg() -> bytes:
    data = noisy_jpeg()
    return data[: len(data) // 2]
