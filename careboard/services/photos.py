"""Photos from tablets: verified by decoding them with Pillow, turned upright, stripped of metadata (GPS),
re-encoded as JPEG with a thumbnail, and stored under the uploads folder by the hash of their content.

Nothing is written until a photo has passed every check, so a refused upload leaves no file and no row.
A file's name is never used for anything but the refusal of a suspicious one; paths come from the hash."""
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
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from careboard.models import Photo, User
from careboard.services import DomainError

THUMB_SIDE = 360
JPEG_QUALITY = 85


class PhotoRefused(DomainError):
    """The upload is not a photo we keep; the message says why. Nothing was stored."""


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
        from pillow_heif import register_heif_opener
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
    image = _decode(raw)
    image = ImageOps.exif_transpose(image)                # upright as the camera held it
    image = _flatten(image)
    side = current_app.config["PHOTO_MAX_SIDE"]
    if max(image.size) > side:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    data = _jpeg(image)
    thumb_image = image.copy()
    thumb_image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Prepared(sha256=hashlib.sha256(data).hexdigest(), data=data, thumb=_jpeg(thumb_image),
                    width=image.width, height=image.height)


def _decode(raw: bytes) -> Image.Image:
    not_a_photo = _("This file is not a photo we can read (JPEG, PNG or HEIC): take the photo again.")
    formats = accepted_formats()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=formats)
            pixels = image.width * image.height
            if pixels > current_app.config["PHOTO_MAX_PIXELS"]:
                raise PhotoRefused(_("The photo has too many pixels (%(w)d × %(h)d): take it at a lower "
                                     "resolution.", w=image.width, h=image.height))
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


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency goes onto white, other modes are converted."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)     # no exif=, so no metadata at all
    return out.getvalue()


def path_of(sha256: str, *, thumb: bool = False) -> Path:
    return upload_folder() / sha256[:2] / f"{sha256}{'_thumb' if thumb else ''}.jpg"


def _write(path: Path, data: bytes) -> None:
    """Atomically: a reader never sees half a file."""
    if path.exists():
        return
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


def store(session: Session, prepared: Prepared, *, actor: User) -> Photo:
    """The photo's row (the same content twice is one photo) and its files."""
    photo = session.scalar(select(Photo).where(Photo.sha256 == prepared.sha256))
    if photo is None:
        photo = Photo(sha256=prepared.sha256, width=prepared.width, height=prepared.height,
                      size=len(prepared.data), uploaded_by_id=actor.id)
        session.add(photo)
        session.flush()
    _write(path_of(prepared.sha256), prepared.data)
    _write(path_of(prepared.sha256, thumb=True), prepared.thumb)
    return photo
