"""The 5S pages over HTTP: the run page and its htmx saves, uploads (every bad kind refused, nothing kept),
photos served only to logged-in users, rectification, the areas, the history, and every denial."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from PIL import Image
from sqlalchemy import func, select

from careboard.extensions import db
from careboard.models import Card, ChecklistArea, ChecklistRun, Column, Photo, PhotoLink, Role, RunAnswer
from careboard.services import checklist
from careboard.services import tick as tick_service
from tests.factories import PASSWORD, make_user
from tests.photos import SVG_WITH_SCRIPT, jpeg, noisy_jpeg, png, png_claiming, rotated_jpeg_with_gps, truncated_jpeg

HX = {"HX-Request": "true"}


@pytest.fixture
def team(session, people):
    people["reception"] = make_user(session, "reception", role=Role.SHOWROOM_RECEPTION)
    people["delivery"] = make_user(session, "delivery", role=Role.DELIVERY)
    checklist.ensure_default_areas(session)
    session.commit()
    tick_service.tick(session, now=datetime(2026, 11, 25, 0, 30, tzinfo=UTC))
    session.commit()
    return people


def run_named(session, name: str) -> ChecklistRun:
    session.expire_all()
    run_id = session.scalar(select(ChecklistRun.id).where(ChecklistRun.area_name == name))
    return checklist.get_run(session, run_id)


def uploads(app) -> list[Path]:
    folder = Path(app.instance_path) / "uploads"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def nothing_stored(session, app) -> bool:
    session.expire_all()
    return uploads(app) == [] and session.scalar(select(func.count(Photo.id))) == 0 \
        and session.scalar(select(func.count(PhotoLink.id))) == 0


def fail_first(client, run) -> RunAnswer:
    answer = run.answers[0]
    assert client.post(f"/checklist/runs/{run.id}/answers/{answer.id}", data={"result": "fail"},
                       headers=HX).status_code == 200
    return answer


def upload(client, run, answer, content: bytes, name: str = "photo.jpg"):
    return client.post(f"/checklist/runs/{run.id}/answers/{answer.id}/photos",
                       data={"photo": (io.BytesIO(content), name)}, content_type="multipart/form-data", headers=HX)


def test_the_inspection_card_opens_the_run(client, auth, team, session):
    run = run_named(session, "展车")
    auth.login("sales1")
    drawer = client.get(f"/board/cards/{run.card_id}").get_data(as_text=True)
    assert f"/checklist/runs/{run.id}" in drawer and "打开检查表" in drawer
    page = client.get(f"/checklist/runs/{run.id}").get_data(as_text=True)
    assert run.answers[0].text in page and 'capture="environment"' not in page      # no camera before a fail
    assert page.count('type="radio"') == 3 * len(run.answers)


def test_a_tap_is_saved_at_once_and_answered_with_the_item(client, auth, team, session):
    run = run_named(session, "展车")
    auth.login("sales1")
    answer = run.answers[2]
    response = client.post(f"/checklist/runs/{run.id}/answers/{answer.id}", data={"result": "fail", "note": "有手印"},
                           headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.strip().startswith(f'<li id="answer-{answer.id}"')
    assert 'capture="environment"' in html and 'accept="image/*"' in html
    session.expire_all()
    saved = session.get(RunAnswer, answer.id)
    assert (saved.result, saved.note, saved.answered_by_id) == ("fail", "有手印", team["sales1"].id)
    # A plain form post (no JavaScript) goes back to the item.
    plain = client.post(f"/checklist/runs/{run.id}/answers/{answer.id}", data={"result": "pass"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"#answer-{answer.id}")


def test_a_bad_result_is_refused_and_changes_nothing(client, auth, team, session):
    run = run_named(session, "展车")
    auth.login("sales1")
    answer = run.answers[0]
    response = client.post(f"/checklist/runs/{run.id}/answers/{answer.id}", data={"result": "maybe"}, headers=HX)
    assert response.status_code == 422 and "合格" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(RunAnswer, answer.id).result is None


def test_denials(client, auth, team, session):
    run = run_named(session, "展车")                                    # sales1's
    answer = run.answers[0]
    auth.login("sales2")                                                # same role, not theirs
    assert client.get(f"/checklist/runs/{run.id}").status_code == 200  # may read
    assert client.post(f"/checklist/runs/{run.id}/answers/{answer.id}", data={"result": "pass"},
                       headers=HX).status_code == 403
    assert upload(client, run, answer, jpeg()).status_code == 403
    assert client.post(f"/checklist/runs/{run.id}/submit").status_code == 403
    for url in ("/checklist/areas", "/checklist/areas/new", "/checklist/areas/1"):
        assert client.get(url).status_code == 403
    assert client.post("/checklist/areas/defaults").status_code == 403
    session.expire_all()
    assert session.get(RunAnswer, answer.id).result is None and nothing_stored(session, client.application)
    auth.logout()
    for url in ("/checklist/", f"/checklist/runs/{run.id}", "/checklist/history", "/checklist/photos/1"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_photo_is_verified_re_encoded_and_served_only_to_logged_in_users(client, auth, team, session, app):
    run = run_named(session, "展车")
    auth.login("sales1")
    answer = fail_first(client, run)
    response = upload(client, run, answer, png(), "IMG_0001.PNG")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "/checklist/photos/" in html
    assert html.strip().startswith(f'<div id="photos-{answer.id}"')     # only the photo box: a typed note stays
    [photo] = session.scalars(select(Photo)).all()
    stored = uploads(app)
    assert [p.name for p in stored] == [f"{photo.sha256}.jpg", f"{photo.sha256}_thumb.jpg"]
    with Image.open(stored[0]) as image:
        assert image.format == "JPEG" and image.size == (40, 30)
    served = client.get(f"/checklist/photos/{photo.id}", headers={"Accept-Encoding": "gzip, br"})
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert "Content-Encoding" not in served.headers                    # a JPEG is compressed already
    assert served.data == stored[0].read_bytes() and "private" in served.headers["Cache-Control"]
    assert client.get(f"/checklist/photos/{photo.id}/thumb").data == stored[1].read_bytes()
    assert client.get(f"/checklist/photos/{photo.id + 1}").status_code == 404
    auth.logout()
    assert client.get(f"/checklist/photos/{photo.id}").status_code == 302


def test_exif_orientation_is_applied_and_gps_removed(client, auth, team, session, app):
    run = run_named(session, "展车")
    auth.login("sales1")
    answer = fail_first(client, run)
    assert upload(client, run, answer, rotated_jpeg_with_gps()).status_code == 200
    full = [p for p in uploads(app) if not p.name.endswith("_thumb.jpg")][0]
    with Image.open(full) as image:
        assert image.size == (60, 80)                                    # turned upright
        exif = image.getexif()
        assert len(exif) == 0 and exif.get_ifd(0x8825) == {}             # no orientation, make or GPS
        assert "exif" not in image.info
    assert b"TabletCam" not in full.read_bytes()


@pytest.mark.parametrize("content,name,message", [
    (b"this is not a photo at all", "photo.jpg", "不是可识别的照片"),
    (truncated_jpeg(), "photo.jpg", "已损坏或不完整"),
    (SVG_WITH_SCRIPT, "photo.svg", "不是可识别的照片"),
    (png_claiming(50_000, 50_000), "huge.png", "像素过多"),
    (jpeg(), "../../etc/passwd.jpg", "文件名"),
    (b"", "empty.jpg", "文件是空的"),
])
def test_bad_uploads_are_refused_with_a_message_and_nothing_stored(client, auth, team, session, app, content,
                                                                    name, message):
    run = run_named(session, "展车")
    auth.login("sales1")
    answer = fail_first(client, run)
    response = upload(client, run, answer, content, name)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert nothing_stored(session, app)
    assert not (Path(app.instance_path).parent / "etc").exists()


def test_a_20_mb_upload_is_refused_with_413_and_nothing_stored(client, auth, team, session, app):
    run = run_named(session, "展车")
    auth.login("sales1")
    answer = fail_first(client, run)
    response = upload(client, run, answer, b"\xff\xd8" + b"\0" * (20 * 1024 * 1024))
    assert response.status_code == 413 and "文件过大" in response.get_data(as_text=True)
    assert nothing_stored(session, app)


def test_a_photo_over_the_photo_limit_is_refused(client, auth, team, session, app):
    app.config["PHOTO_MAX_BYTES"] = 50_000
    run = run_named(session, "展车")
    auth.login("sales1")
    answer = fail_first(client, run)
    big = noisy_jpeg((600, 450))
    assert len(big) > 50_000
    response = upload(client, run, answer, big)
    assert response.status_code == 422 and "大于" in response.get_data(as_text=True)
    assert nothing_stored(session, app)


def test_heic_from_an_ipad_is_accepted(client, auth, team, session, app):
    pillow_heif = pytest.importorskip("pillow_heif")
    out = io.BytesIO()
    try:
        pillow_heif.from_pillow(Image.new("RGB", (64, 48), (30, 90, 160))).save(out, quality=80)
    except (RuntimeError, ValueError) as error:                     # a libheif build without an encoder
        pytest.skip(f"cannot encode HEIC here: {error}")
    run = run_named(session, "展车")
    auth.login("sales1")
    answer = fail_first(client, run)
    assert upload(client, run, answer, out.getvalue(), "IMG_0002.HEIC").status_code == 200
    with Image.open([p for p in uploads(app) if not p.name.endswith("_thumb.jpg")][0]) as image:
        assert image.format == "JPEG" and image.size == (64, 48)


def test_submit_lists_what_is_missing_then_makes_the_rectification_card(client, auth, team, session, app):
    run = run_named(session, "展车")
    auth.login("sales1")
    answer = fail_first(client, run)
    refused = client.post(f"/checklist/runs/{run.id}/submit")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f'href="#answer-{run.answers[1].id}"' in html and f'href="#answer-{answer.id}"' in html
    assert "不合格项没有照片" in html
    assert run_named(session, "展车").status == "open"
    for other in run.answers[1:]:
        client.post(f"/checklist/runs/{run.id}/answers/{other.id}", data={"result": "pass"}, headers=HX)
    upload(client, run, answer, jpeg())
    done = client.post(f"/checklist/runs/{run.id}/submit")
    assert done.status_code == 303
    session.expire_all()
    card = session.get(Card, session.get(RunAnswer, answer.id).rectification_card_id)
    assert card.assignee_id == team["delivery"].id and card.column == Column.TODO.value
    assert session.get(Card, run.card_id).column == Column.DONE.value
    page = client.get(f"/checklist/runs/{run.id}").get_data(as_text=True)
    assert "已提交" in page and f"/checklist/rectifications/{card.id}" in page


def _rectification(client, auth, team, session):
    run = run_named(session, "展车")
    auth.login("sales1")
    answer = fail_first(client, run)
    for other in run.answers[1:]:
        client.post(f"/checklist/runs/{run.id}/answers/{other.id}", data={"result": "pass"}, headers=HX)
    upload(client, run, answer, jpeg(color=(200, 0, 0)))
    assert client.post(f"/checklist/runs/{run.id}/submit").status_code == 303
    auth.logout()
    session.expire_all()
    return session.get(Card, session.get(RunAnswer, answer.id).rectification_card_id)


def test_rectification_pages_after_photo_and_verification(client, auth, team, session, app):
    card = _rectification(client, auth, team, session)
    auth.login("delivery")
    page = client.get(f"/checklist/rectifications/{card.id}").get_data(as_text=True)
    assert "整改前" in page and 'capture="environment"' in page
    early = client.post(f"/checklist/rectifications/{card.id}/complete", data={"version": card.version})
    assert early.status_code == 422 and "整改后" in early.get_data(as_text=True)
    assert client.post(f"/checklist/rectifications/{card.id}/photos",
                       data={"photo": (io.BytesIO(jpeg(color=(0, 200, 0))), "after.jpg")},
                       content_type="multipart/form-data").status_code == 303
    assert client.post(f"/checklist/rectifications/{card.id}/verify", data={"version": card.version}).status_code == 403
    done = client.post(f"/checklist/rectifications/{card.id}/complete",
                       data={"version": card.version, "note": "已擦干净"})
    assert done.status_code == 303
    said = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"已提交验收：{card.title}" in said[said.index('id="toasts"'):]                  # answered, a toast
    auth.logout()
    auth.login("supervisor")
    session.expire_all()
    card = session.get(Card, card.id)
    assert card.column == Column.WAITING.value
    page = client.get(f"/checklist/rectifications/{card.id}").get_data(as_text=True)
    assert page.count("/checklist/photos/") >= 4                        # before and after, thumb and full
    stale = client.post(f"/checklist/rectifications/{card.id}/verify", data={"version": card.version - 1})
    assert stale.status_code == 409
    assert client.post(f"/checklist/rectifications/{card.id}/verify", data={"version": card.version}).status_code == 303
    session.expire_all()
    assert session.get(Card, card.id).column == Column.DONE.value


def test_staff_cannot_send_back(client, auth, team, session):
    card = _rectification(client, auth, team, session)
    auth.login("delivery")
    assert client.post(f"/checklist/rectifications/{card.id}/send-back",
                       data={"version": card.version, "reason": "x"}).status_code == 403


def test_htmx_writes_need_the_csrf_header(app_config, team, session, tmp_path):
    from careboard import create_app
    csrf_app = create_app(type("WithCsrf", (app_config,), {"WTF_CSRF_ENABLED": True}))
    csrf_app.instance_path = str(tmp_path / "instance")
    with csrf_app.app_context():
        client = csrf_app.test_client()
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                          client.get("/login").get_data(as_text=True)).group(1)
        client.post("/login", data={"username": "sales1", "password": PASSWORD, "csrf_token": token})
        run = run_named(db.session, "展车")
        page = client.get(f"/checklist/runs/{run.id}").get_data(as_text=True)
        header = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
        url = f"/checklist/runs/{run.id}/answers/{run.answers[0].id}"
        assert client.post(url, data={"result": "pass"}, headers=HX).status_code == 400
        assert run_named(db.session, "展车").answers[0].result is None
        assert client.post(url, data={"result": "pass"}, headers={**HX, "X-CSRFToken": header}).status_code == 200
        assert run_named(db.session, "展车").answers[0].result == "pass"


def test_supervisors_edit_an_area_and_a_stale_form_is_refused(client, auth, team, session):
    auth.login("supervisor")
    area = session.scalar(select(ChecklistArea).where(ChecklistArea.name == "洗手间"))
    form = client.get(f"/checklist/areas/{area.id}").get_data(as_text=True)
    assert "地面干燥" in form
    items = session.scalars(select(checklist.ChecklistItem).where(checklist.ChecklistItem.area_id == area.id)
                            .order_by(checklist.ChecklistItem.position)).all()
    data = {"name": "卫生间", "responsible_role": "showroom_reception", "responsible": "0",
            "inspector_role": "cs_supervisor", "inspector": str(team["supervisor"].id), "active": "y",
            "version": str(area.version)}
    for i, item in enumerate(items):
        data.update({f"items-{i}-item_id": str(item.id), f"items-{i}-text": item.text,
                     f"items-{i}-category": item.category, f"items-{i}-active": "y"})
    data.update({f"items-{len(items)}-item_id": "", f"items-{len(items)}-text": "镜面无水痕",
                 f"items-{len(items)}-category": "shine", f"items-{len(items)}-active": "y"})
    assert client.post(f"/checklist/areas/{area.id}", data=data).status_code == 303
    stale = client.post(f"/checklist/areas/{area.id}", data={**data, "name": "别的名字"})
    assert stale.status_code == 409 and "没有保存" in stale.get_data(as_text=True)
    session.expire_all()
    area = session.get(ChecklistArea, area.id)
    assert area.name == "卫生间" and area.inspector_id == team["supervisor"].id
    assert session.scalar(select(func.count(checklist.ChecklistItem.id))
                          .where(checklist.ChecklistItem.area_id == area.id)) == len(items) + 1


@pytest.mark.parametrize("item_id", ["²", "9" * 5000])
def test_an_item_id_that_is_no_database_id_is_refused_with_the_areas_message(client, auth, team, session, item_id):
    """Digits int() cannot read (or Python will not read) name no item: the area's own message, nothing saved."""
    auth.login("supervisor")
    area = session.scalar(select(ChecklistArea).where(ChecklistArea.name == "洗手间"))
    version, name = area.version, area.name
    response = client.post(f"/checklist/areas/{area.id}", data={
        "name": "卫生间", "responsible_role": "showroom_reception", "responsible": "0",
        "inspector_role": "cs_supervisor", "inspector": "0", "active": "y", "version": str(version),
        "items-0-item_id": item_id, "items-0-text": "镜面无水痕", "items-0-category": "shine", "items-0-active": "y"})
    assert response.status_code == 422
    assert "已不属于该区域" in response.get_data(as_text=True)
    session.expire_all()
    assert (session.get(ChecklistArea, area.id).name, session.get(ChecklistArea, area.id).version) == (name, version)


def test_a_new_area_and_the_default_set_button(client, auth, session, people):
    auth.login("supervisor")
    page = client.get("/checklist/areas").get_data(as_text=True)
    assert "载入默认" in page
    assert client.post("/checklist/areas/defaults").status_code == 303
    assert session.scalar(select(func.count(ChecklistArea.id))) == len(checklist.DEFAULT_AREAS)
    assert client.post("/checklist/areas/defaults").status_code == 303                  # a second time: nothing
    assert session.scalar(select(func.count(ChecklistArea.id))) == len(checklist.DEFAULT_AREAS)
    response = client.post("/checklist/areas/new", data={
        "name": "停车场", "responsible_role": "delivery", "responsible": "0", "inspector_role": "sales_care",
        "inspector": "0", "items-0-text": "车位线清晰", "items-0-category": "sort", "items-0-active": "y"})
    assert response.status_code == 303
    bad = client.post("/checklist/areas/new", data={
        "name": "空区域", "responsible_role": "delivery", "responsible": "0", "inspector_role": "sales_care",
        "inspector": "0", "items-0-text": "", "items-0-category": "sort"})
    assert bad.status_code == 422 and "至少" in bad.get_data(as_text=True)
    assert session.scalar(select(func.count(ChecklistArea.id))) == len(checklist.DEFAULT_AREAS) + 1


def test_today_and_history_pages(client, auth, team, session):
    with time_machine.travel("2026-11-25 10:00 +0800", tick=False):      # the day the fixture's tick made runs for
        auth.login("sales1")
        today = client.get("/checklist/").get_data(as_text=True)
        assert "展车" in today and "洽谈区" in today
        assert "项未检查" in today and "张未完成" not in today     # items of a run, not cards
        history = client.get("/checklist/history?month=2026-11").get_data(as_text=True)
        assert "2026-11" in history and "按时整改" in history
        assert '<td class="open">' in history and '<td class="none">' in history   # RunDay.rating: runs of the 25th
        assert client.get("/checklist/history?month=garbage").status_code == 200


# ---------------------------------------------------------------- refused uploads leave no file


def folder_state(app) -> dict[str, bytes]:
    folder = Path(app.instance_path) / "uploads"
    return {str(p.relative_to(folder)): p.read_bytes() for p in uploads(app)}


def after_photo(client, card, content: bytes, name: str = "after.jpg"):
    return client.post(f"/checklist/rectifications/{card.id}/photos", data={"photo": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_every_refused_upload_leaves_the_uploads_folder_as_it_was(client, auth, team, session, app):
    """Wrong person, wrong state, bad file, too big: for the photos of a 5S run and the after-photos of a
    rectification, the state is checked before the file is read and nothing is written."""
    app.config["PHOTO_MAX_BYTES"] = 50_000
    state, photo_count = {}, 0

    def unchanged(response, status: int, message: str | None = None) -> None:
        assert response.status_code == status
        if message:
            assert message in response.get_data(as_text=True)
        session.expire_all()
        assert folder_state(app) == state and session.scalar(select(func.count(Photo.id))) == photo_count

    fresh = jpeg(color=(10, 200, 30))                                   # content not stored yet
    run = run_named(session, "展车")                                    # sales1's, open
    auth.login("sales2")
    unchanged(upload(client, run, run.answers[0], fresh), 403)                      # not their run
    auth.logout()
    auth.login("sales1")
    answer = fail_first(client, run)
    unchanged(upload(client, run, answer, b"not a photo"), 422, "不是可识别的照片")
    unchanged(upload(client, run, answer, noisy_jpeg((600, 450))), 422, "大于")        # over PHOTO_MAX_BYTES
    auth.logout()
    card = _rectification(client, auth, team, session)                  # the run is submitted now
    state, photo_count = folder_state(app), session.scalar(select(func.count(Photo.id)))
    assert len(state) == 2
    auth.login("sales1")
    unchanged(upload(client, run, answer, fresh), 422, "已提交")                      # the run is submitted
    unchanged(after_photo(client, card, fresh), 403)                                # not the responsible person
    auth.logout()
    auth.login("delivery")
    unchanged(after_photo(client, card, b"not a photo"), 422, "不是可识别的照片")
    unchanged(after_photo(client, card, noisy_jpeg((600, 450))), 422, "大于")         # over PHOTO_MAX_BYTES
    unchanged(after_photo(client, card, jpeg(), "../x.jpg"), 422, "文件名")
    assert after_photo(client, card, jpeg(color=(0, 200, 0))).status_code == 303
    session.expire_all()
    assert client.post(f"/checklist/rectifications/{card.id}/complete",
                       data={"version": session.get(Card, card.id).version}).status_code == 303
    state, photo_count = folder_state(app), session.scalar(select(func.count(Photo.id)))
    unchanged(after_photo(client, card, fresh), 422, "等待验收")                      # waiting for verification
    auth.logout()
    auth.login("supervisor")
    unchanged(after_photo(client, card, fresh), 422, "等待验收")


def test_a_database_failure_after_the_files_were_written_removes_them(client, auth, team, session, app,
                                                                       monkeypatch):
    run = run_named(session, "展车")
    auth.login("sales1")
    answer = fail_first(client, run)
    state = folder_state(app)

    def broken_link(*args, **kwargs):
        assert len(folder_state(app)) == 2                              # the files were written, then...
        raise RuntimeError("the database went away")
    monkeypatch.setattr(checklist, "_link", broken_link)
    with pytest.raises(RuntimeError):
        upload(client, run, answer, jpeg())
    assert folder_state(app) == state
    session.expire_all()
    assert session.scalar(select(func.count(Photo.id))) == 0
