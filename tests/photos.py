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


SCRIPT = b"<html><script>alert(document.cookie)</script></html>"
XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description>'
       b"<x:secret>GPS 31.2304 121.4737</x:secret></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>")


def _gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "TabletCam"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (31.0, 13.0, 40.0)
    return exif


def _icc() -> bytes:
    from PIL import ImageCms
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_with_metadata(size=(120, 90)) -> bytes:
    """A JPEG with everything a camera or a hand-made file can carry: a comment (COM) holding a script,
    EXIF with GPS (APP1), XMP (APP1), an ICC profile (APP2) and extra APPn bytes."""
    out = io.BytesIO()
    Image.new("RGB", size, (30, 160, 90)).save(out, "JPEG", comment=SCRIPT, exif=_gps_exif(), icc_profile=_icc(),
                                              xmp=XMP, extra=b"\xff\xed\x00\x0cPhotoshop!")
    return out.getvalue()


def png_with_metadata(size=(120, 90)) -> bytes:
    """A PNG with text chunks (tEXt, zTXt, iTXt) holding a script, an ICC profile and EXIF."""
    from PIL import PngImagePlugin
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", SCRIPT.decode())
    text.add_text("Description", SCRIPT.decode(), zip=True)
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = io.BytesIO()
    Image.new("RGBA", size, (30, 160, 90, 200)).save(out, "PNG", pnginfo=text, icc_profile=_icc(),
                                                    exif=_gps_exif())
    return out.getvalue()


def webp_with_metadata(size=(120, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 160, 90)).save(out, "WEBP", exif=_gps_exif(), icc_profile=_icc(), xmp=XMP)
    return out.getvalue()


def jpeg_segments(data: bytes) -> list[int]:
    """The markers of a JPEG's header, in order: SOI, then every segment up to and including SOS (0xFFDA),
    after which only entropy-coded data and EOI follow."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, at = [0xD8], 2
    while True:
        assert data[at] == 0xFF, f"no marker at {at}"
        while data[at + 1] == 0xFF:                        # fill bytes
            at += 1
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        length = int.from_bytes(data[at + 2:at + 4], "big")
        at += 2 + length
