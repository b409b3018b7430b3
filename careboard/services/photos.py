"""Photos from tablets: verified by decoding them with Pillow, scaled down, turned upright, re-encoded as a
fresh JPEG without any metadata (no EXIF/GPS, no ICC profile, no comment: only the JFIF header), with a
thumbnail, and stored under the uploads folder by the hash of their content.

Decoding is bounded twice before a pixel is decoded: by the pixels the header claims (PHOTO_MAX_PIXELS) and
by the memory the decoded image and its scaling take (PHOTO_MAX_DECODED_BYTES: pixels × bytes per pixel of
the mode, plus the full-size copy that scaling makes); a JPEG is decoded at 1/2 to 1/8 of its size when that
is still at least PHOTO_MAX_SIDE (Pillow's draft mode).

Nothing is written until a photo has passed every check: the callers (services/checklist.py) check the
person and the state first, then `prepare` reads and verifies the file, and `store` writes the row and then
the files; a transaction that does not commit removes the files it wrote, so a refused upload leaves no file
and no row. A file's name is never used for anything but the refusal of a suspicious one; paths come from
the hash."""
from __future__ import annotations

import functools
import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageMode, ImageOps, UnidentifiedImageError
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from careboard.models import Photo, User
from careboard.services.errors import PhotoRefused

THUMB_SIDE = 360
JPEG_QUALITY = 85
RESIZED_AS_IS = ("L", "RGB", "RGBA", "LA", "CMYK")     # modes scaled down as decoded; others are converted first
_WRITTEN = "careboard.photos.written"                  # session.info: files written in the open transaction


@dataclass(frozen=True)
class Prepared:
    """A verified photo, re-encoded in memory and not yet stored."""

    sha256: str
    data: bytes
    thumb: bytes
    width: int
    height: int


@functools.cache
def accepted_formats() -> tuple[str, ...]:
    """The formats a photo may come in (JPEG includes MPO), with Pillow's plugins and the HEIC/HEIF opener
    that iPads and many phones need registered once, on the first upload rather than at import."""
    Image.init()
    try:
        from pillow_heif import register_heif_opener   # here: registered on the first upload, not at import
    except ImportError:                    # pragma: no cover - pillow-heif is a dependency
        return ("JPEG", "PNG", "WEBP")
    register_heif_opener()
    return ("JPEG", "PNG", "WEBP", "HEIF")


def upload_folder() -> Path:
    folder = current_app.config.get("CAREBOARD_UPLOAD_FOLDER") or os.path.join(current_app.instance_path, "uploads")
    return Path(folder)


def check_name(filename: str | None) -> None:
    """Browsers send a bare file name; a path in it means a hand-made request."""
    name = filename or ""
    if any(part in name for part in ("/", "\\", "\x00")) or name.strip(". ") == "" and name != "":
        raise PhotoRefused(_("The file name “%(name)s” is not acceptable: choose the photo again.", name=name[:80]))


def prepare(stream: BinaryIO, filename: str | None = None) -> Prepared:
    """Read, verify and re-encode one upload. Raises PhotoRefused with a message for the user."""
    check_name(filename)
    max_bytes = current_app.config["PHOTO_MAX_BYTES"]
    raw = stream.read(max_bytes + 1)
    if not raw:
        raise PhotoRefused(_("The file is empty: take the photo again."))
    if len(raw) > max_bytes:
        raise PhotoRefused(_("The photo is larger than %(mb)d MB: take it at a lower resolution.",
                             mb=max_bytes // (1024 * 1024)))
    side = current_app.config["PHOTO_MAX_SIDE"]
    image = _decode(raw, side)
    image = _scaled(image, side)
    ImageOps.exif_transpose(image, in_place=True)         # upright as the camera held it
    image = _bare(_flatten(image))
    data = _jpeg(image)
    thumb_image = image.copy()
    thumb_image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Prepared(sha256=hashlib.sha256(data).hexdigest(), data=data, thumb=_jpeg(thumb_image),
                    width=image.width, height=image.height)


def bytes_per_pixel(mode: str) -> int:
    """What Pillow holds per pixel of `mode`: a band's size (1 for 8 bits, 2 for I;16, 4 for I and F), and
    4 bytes for every 8-bit mode of more than one band (RGB included: Pillow pads it to 32 bits)."""
    info = ImageMode.getmode(mode)
    band = int(info.typestr[-1])
    return 4 if len(info.bands) > 1 and band == 1 else len(info.bands) * band


def _working_mode(image: Image.Image) -> str:
    """The mode the full-size image is scaled down in: its own, or RGB(A) for palettes and the rest."""
    if image.mode in RESIZED_AS_IS:
        return image.mode
    has_alpha = "A" in ImageMode.getmode(image.mode).bands or "transparency" in image.info
    return "RGBA" if has_alpha else "RGB"


def decoded_bytes(image: Image.Image, side: int) -> int:
    """The memory that decoding `image` and scaling it down to `side` hold at once, known from its header:
    the decoded pixels, their conversion to the working mode if there is one, the premultiplied copy that
    Pillow resamples transparent images in, and the first (horizontal) pass of the scaling."""
    work = _working_mode(image)
    per_pixel = bytes_per_pixel(image.mode)
    if work != image.mode:
        per_pixel += bytes_per_pixel(work)
    if work in ("RGBA", "LA"):
        per_pixel += 4
    scaling = _target(image.size, side)[0] * image.height * bytes_per_pixel(work) if max(image.size) > side else 0
    return image.width * image.height * per_pixel + scaling


def _target(size: tuple[int, int], side: int) -> tuple[int, int]:
    """The size of a picture scaled to `side` on its long side."""
    width, height = size
    scale = side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _too_many(width: int, height: int) -> PhotoRefused:
    return PhotoRefused(_("The photo has too many pixels (%(w)d × %(h)d): take it at a lower resolution.",
                          w=width, h=height))


def _decode(raw: bytes, side: int) -> Image.Image:
    not_a_photo = _("This file is not a photo we can read (JPEG, PNG or HEIC): take the photo again.")
    formats = accepted_formats()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=formats)
            width, height = image.size
            if width * height > current_app.config["PHOTO_MAX_PIXELS"]:
                raise _too_many(width, height)
            if max(width, height) > side:
                image.draft(None, _target(image.size, side))   # JPEG: decoded at 1/2..1/8, still >= side
            if decoded_bytes(image, side) > current_app.config["PHOTO_MAX_DECODED_BYTES"]:
                raise _too_many(width, height)            # the pixels times what each takes in memory
            image.load()                                  # decodes every pixel: a truncated file fails here
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused(_("The photo has too many pixels: take it at a lower resolution.")) from None
    except UnidentifiedImageError:
        raise PhotoRefused(not_a_photo) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise PhotoRefused(_("The photo is damaged or incomplete: take it again.")) from None
    return image


def _scaled(image: Image.Image, side: int) -> Image.Image:
    """Down to `side` on the long side, in the working mode (a palette is expanded first, so that it is
    resampled rather than picked)."""
    work = _working_mode(image)
    if work != image.mode:
        image = image.convert(work)
    if max(image.size) > side:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency goes onto white, other modes are converted."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _bare(image: Image.Image) -> Image.Image:
    """The pixels alone in a new image: nothing of the upload's `info` (comment, EXIF, ICC profile, XMP)
    can reach the encoder, which writes a comment it finds there."""
    bare = Image.new("RGB", image.size)
    bare.paste(image)
    return bare


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)     # no exif=, icc_profile=, comment=
    return out.getvalue()


def path_of(sha256: str, *, thumb: bool = False) -> Path:
    return upload_folder() / sha256[:2] / f"{sha256}{'_thumb' if thumb else ''}.jpg"


def _write(path: Path, data: bytes) -> bool:
    """Atomically: a reader never sees half a file. False when the file was there already."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def _forget_files(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def _remove_uncommitted_files(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:                        # the outermost transaction ended without a commit
        for path in session.info.pop(_WRITTEN, ()):
            path.unlink(missing_ok=True)


@functools.cache
def _cleanup_on_rollback() -> None:
    """Once, on the first upload: files written in a transaction that is rolled back (or closed without a
    commit) are removed, so no file outlives a refused or failed upload."""
    event.listen(Session, "after_commit", _forget_files)
    event.listen(Session, "after_transaction_end", _remove_uncommitted_files)


def store(session: Session, prepared: Prepared, *, actor: User) -> Photo:
    """The photo's row (the same content twice is one photo), then its files. Call it after every check:
    the files stay only if the transaction commits."""
    _cleanup_on_rollback()
    photo = session.scalar(select(Photo).where(Photo.sha256 == prepared.sha256))
    if photo is None:
        photo = Photo(sha256=prepared.sha256, width=prepared.width, height=prepared.height,
                      size=len(prepared.data), uploaded_by_id=actor.id)
        session.add(photo)
        session.flush()
    for thumb, data in ((False, prepared.data), (True, prepared.thumb)):
        path = path_of(prepared.sha256, thumb=thumb)
        if _write(path, data):
            session.info.setdefault(_WRITTEN, []).append(path)
    return photo
