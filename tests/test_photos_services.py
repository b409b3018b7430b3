"""The photo service: what is stored carries no metadata at all (the JPEG header walked marker by marker),
decoding is bounded by memory and not only by pixels (measured in a subprocess), and the files of a
transaction that does not commit are removed."""
from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from careboard.models import Photo
from careboard.services import photos
from careboard.services.errors import PhotoRefused
from tests.photos import SCRIPT, jpeg, jpeg_segments, jpeg_with_metadata, png_with_metadata, webp_with_metadata

SOI, APP0, SOS, COM = 0xD8, 0xE0, 0xDA, 0xFE
APPN = range(0xE0, 0xF0)
MB = 1024 * 1024


def files(app) -> dict[str, bytes]:
    folder = Path(app.instance_path) / "uploads"
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()} \
        if folder.exists() else {}


# ---------------------------------------------------------------- no metadata


@pytest.mark.parametrize("content", [jpeg_with_metadata(), png_with_metadata(), webp_with_metadata()],
                         ids=["jpeg", "png", "webp"])
def test_the_stored_photo_and_thumbnail_have_no_comment_and_no_app_segment_but_jfif(app, session, people,
                                                                                       content):
    source = Image.open(io.BytesIO(content))
    assert {"comment", "icc_profile", "exif", "xmp"} & set(source.info) or source.text   # what there is to drop
    photo = photos.store(session, photos.prepare(io.BytesIO(content), "p.jpg"), actor=people["sales1"])
    session.commit()
    for path in (photos.path_of(photo.sha256), photos.path_of(photo.sha256, thumb=True)):
        data = path.read_bytes()
        markers = jpeg_segments(data)
        assert markers[0] == SOI and markers[-1] == SOS
        assert COM not in markers
        assert [m for m in markers if m in APPN] == [APP0]                  # JFIF alone
        assert data[6:11] == b"JFIF\x00"
        assert SCRIPT not in data and b"<script" not in data and b"TabletCam" not in data
        assert b"xmpmeta" not in data and b"Photoshop" not in data
        stored = Image.open(io.BytesIO(data))
        assert not {"comment", "icc_profile", "exif", "xmp"} & set(stored.info)


# ---------------------------------------------------------------- memory


@pytest.mark.parametrize("mode,size,expected", [
    ("RGB", (1000, 1000), 4 * 1_000_000),                 # Pillow keeps RGB in 32 bits
    ("L", (1000, 1000), 1_000_000),
    ("I;16", (1000, 1000), (2 + 4) * 1_000_000),          # converted to RGB before scaling
    ("RGBA", (1000, 1000), (4 + 4) * 1_000_000),          # plus the premultiplied copy
    ("P", (1000, 1000), (1 + 4) * 1_000_000),
    ("CMYK", (1000, 1000), 4 * 1_000_000),
])
def test_decoded_bytes_count_the_mode_and_the_full_size_copies(mode, size, expected):
    image = Image.new(mode, size)
    assert photos.decoded_bytes(image, side=2560) == expected
    scaled = photos.decoded_bytes(image, side=500)                    # plus the first pass of the scaling
    assert scaled == expected + 500 * 1000 * photos.bytes_per_pixel(photos._working_mode(image))


def test_bytes_per_pixel_of_every_mode():
    assert {m: photos.bytes_per_pixel(m) for m in ("1", "L", "P", "I;16", "I;16B", "I", "F", "RGB", "RGBA", "LA",
                                                     "CMYK", "YCbCr")} == \
        {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I": 4, "F": 4, "RGB": 4, "RGBA": 4, "LA": 4, "CMYK": 4,
         "YCbCr": 4}


PEAK = textwrap.dedent("""
    import sys
    from flask import Flask
    from flask_babel import Babel
    from careboard.config import Config
    from careboard.services import photos
    from careboard.services.errors import PhotoRefused
    app = Flask("peak")
    app.config.from_object(Config)
    Babel(app)
    with app.app_context():
        try:
            prepared = photos.prepare(open(sys.argv[1], "rb"), "photo")
            result = f"accepted {prepared.width}x{prepared.height}"
        except PhotoRefused as refused:
            result = "refused"
    with open("/proc/self/status") as status:           # the peak resident memory of this process
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(result, peak_kb // 1024)
""")


def peak_of(path: Path) -> tuple[str, int]:
    """The check run alone in a fresh interpreter: its result and the process's peak memory in MB. Pillow's
    buffers are C allocations, which tracemalloc does not see; and the kernel's VmHWM rather than
    getrusage's ru_maxrss, which a child started by fork and exec inherits from its (large) parent."""
    done = subprocess.run([sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parent.parent, check=True)
    result, peak = done.stdout.rsplit(" ", 1)
    return result, int(peak)


def test_a_small_rgba_png_of_7070_pixels_a_side_is_refused_before_it_is_decoded(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGBA", (7070, 7070), (10, 120, 200, 128)).save(path, optimize=True)
    assert path.stat().st_size < 400_000 and 7070 * 7070 < 50_000_000         # under both older limits
    result, peak = peak_of(path)
    assert result == "refused"
    assert peak < 250, f"{peak} MB"


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(tmp_path):
    path = tmp_path / "big.jpg"
    Image.linear_gradient("L").resize((7000, 7000)).convert("RGB").save(path, quality=80)
    result, peak = peak_of(path)
    assert result == "accepted 2560x2560"
    assert peak < 250, f"{peak} MB"                                  # decoded whole, it would be 196 MB alone


def test_the_decoded_memory_limit_is_a_setting(app):
    app.config["PHOTO_MAX_DECODED_BYTES"] = 4 * 300 * 300 - 1
    with app.app_context(), pytest.raises(PhotoRefused, match="像素过多"):
        photos.prepare(io.BytesIO(jpeg(size=(300, 300))), "p.jpg")
    app.config["PHOTO_MAX_DECODED_BYTES"] = 4 * 300 * 300
    with app.app_context():
        assert photos.prepare(io.BytesIO(jpeg(size=(300, 300))), "p.jpg").width == 300


# ---------------------------------------------------------------- files follow the transaction


def test_files_written_in_a_transaction_that_rolls_back_are_removed(app, session, people):
    prepared = photos.prepare(io.BytesIO(jpeg()), "p.jpg")
    photos.store(session, prepared, actor=people["sales1"])
    assert len(files(app)) == 2                                      # written before the commit
    session.rollback()
    assert files(app) == {} and session.scalar(select(func.count(Photo.id))) == 0


def test_files_of_a_committed_photo_stay_when_a_later_transaction_rolls_back(app, session, people):
    prepared = photos.prepare(io.BytesIO(jpeg()), "p.jpg")
    photos.store(session, prepared, actor=people["sales1"])
    session.commit()
    kept = files(app)
    assert len(kept) == 2
    photos.store(session, prepared, actor=people["sales2"])           # the same photo again
    photos.store(session, photos.prepare(io.BytesIO(jpeg(color=(0, 0, 200))), "q.jpg"), actor=people["sales2"])
    assert len(files(app)) == 4
    session.rollback()
    assert files(app) == kept
    session.close()                                                  # a closed session forgets nothing either
    assert files(app) == kept
