"""`flask --app careboard backup DEST` and `restore SRC`: a round trip gives back every row and every photo, a
backup taken while another thread writes is one moment of the database, and each refused restore changes
nothing. On SQLite, and on PostgreSQL (this run's own schema only) when TEST_DATABASE_URL is set."""
from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, delete, func, select, text, update
from sqlalchemy.engine import make_url

from careboard import create_app
from careboard.extensions import db
from careboard.models import Card, CardEvent, Level, Notification, Photo, Role, User
from careboard.services import backup, board, demo, photos
from tests.conftest import ON_POSTGRES
from tests.factories import make_card, make_user
from tests.photos import jpeg

KIND = "postgresql" if ON_POSTGRES else "sqlite"
OTHER_KIND = "sqlite" if ON_POSTGRES else "postgresql"


def cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=[str(a) for a in args], input=input)


def key() -> bytes:
    return backup.signing_key(current_app.config["SECRET_KEY"])


def revisions() -> list[str]:
    return backup.migration_revisions(current_app.extensions["migrate"].directory)


def contents() -> dict[str, list]:
    """Every row of every table, found by reflection (so a table the models do not know counts too)."""
    db.session.remove()
    with db.engine.connect() as conn:
        meta = MetaData()
        meta.reflect(conn)
        return {name: conn.execute(select(t).order_by(*(t.primary_key.columns or t.c))).all()
                for name, t in meta.tables.items()}


def files(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def state() -> tuple[dict, dict]:
    """What a refused restore must leave as it was: the database and the upload folder."""
    return contents(), files(photos.upload_folder())


def populate(session) -> Photo:
    """Two people, a card each (one done) and a real photo; committed."""
    supervisor = make_user(session, "supervisor", role=Role.CS_SUPERVISOR, level=Level.SUPERVISOR)
    sales = make_user(session, "sales1")
    make_card(session, assignee=sales, title="Call Mr Wang back")
    make_card(session, assignee=supervisor, role=Role.CS_SUPERVISOR, title="Check the lounge", column="done")
    photo = photos.store(session, photos.prepare(io.BytesIO(jpeg()), "lounge.jpg"), actor=supervisor)
    session.commit()
    return photo


def make_backup(tmp_path, name: str = "backup") -> Path:
    db.session.remove()
    return backup.backup(db.engine, photos.upload_folder(), tmp_path / name, key=key()).folder


def change_everything(session) -> None:
    """What happens after a backup: titles overwritten, an account added, a photo file lost."""
    session.execute(update(Card).values(title="overwritten"))
    make_user(session, "newcomer")
    session.commit()
    for sha in session.scalars(select(Photo.sha256)):
        photos.path_of(sha, thumb=True).unlink()


def test_a_round_trip_gives_back_every_row_and_the_photos(app, session, tmp_path):
    demo.load_demo(session)
    supervisor = session.scalar(select(User).where(User.username == "supervisor"))
    photo = photos.store(session, photos.prepare(io.BytesIO(jpeg(color=(20, 160, 90))), "shelf.jpg"),
                         actor=supervisor)
    session.commit()
    photo_path, photo_bytes = photos.path_of(photo.sha256), photos.path_of(photo.sha256).read_bytes()
    titles = sorted(session.scalars(select(Card.title)))
    accounts = select(User.username, User.display_name, User.role, User.password_hash).order_by(User.id)
    users = session.execute(accounts).all()
    before, before_files = state()
    assert len(before["card"]) > 100 and len(before_files) > 10

    made = cli(app, "backup", tmp_path / "backup")
    assert made.exit_code == 0, made.output
    assert made.stderr == ""                                        # no warning: every photo has its files
    assert (tmp_path / "backup").stat().st_mode & 0o777 == 0o700  # personal data: the service account's only
    assert f"backed up the {KIND} database (schema revision {revisions()[-1]})" in made.stdout
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"] == KIND and manifest["alembic_revision"] == revisions()[-1]
    assert manifest["row_counts"] == {name: len(rows) for name, rows in before.items()}
    assert {f["path"]: f["sha256"] for f in manifest["uploads"]} == \
        {path: hashlib.sha256(data).hexdigest() for path, data in before_files.items()}

    session.execute(update(Card).values(title="overwritten"))
    session.execute(delete(Notification))
    make_user(session, "intruder")
    session.commit()
    shutil.rmtree(photos.upload_folder())
    assert contents() != before

    restored = cli(app, "restore", tmp_path / "backup", "--yes")
    assert restored.exit_code == 0, restored.output
    after = contents()
    assert {name: len(rows) for name, rows in after.items()} == manifest["row_counts"]
    assert after == before
    assert sorted(session.scalars(select(Card.title))) == titles
    assert session.execute(accounts).all() == users
    assert photo_path.read_bytes() == photo_bytes
    assert files(photos.upload_folder()) == before_files
    assert f"uploads: {len(before_files)} files added, 0 already present" in restored.stdout
    assert re.search(rf"^ +card +{len(before['card'])} rows$", restored.stdout, re.MULTILINE)
    assert "db upgrade" not in restored.stdout


def keep_writing(app, stop: threading.Event, written: list, errors: list) -> None:
    """Another worker: a card and its history, one transaction after another, until told to stop."""
    with app.app_context():
        try:
            while not stop.is_set():
                board.create_card(db.session, actor=None, kind="task", title=f"writer {len(written)}",
                                  role=Role.SALES_CARE)
                db.session.commit()
                written.append(1)
        except Exception as error:                       # reported by the test, not swallowed
            errors.append(error)
        finally:
            db.session.remove()


def wait_for_writes(written: list, errors: list, more: int) -> None:
    target, deadline = len(written) + more, time.monotonic() + 20
    while len(written) < target and not errors:
        assert time.monotonic() < deadline, "the writer stopped writing"
        time.sleep(0.005)


def written_cards_and_events(conn) -> tuple[int, int]:
    mine = Card.title.like("writer %")
    cards = conn.scalar(select(func.count()).select_from(Card).where(mine))
    events = conn.scalar(select(func.count()).select_from(CardEvent).join(Card, CardEvent.card_id == Card.id)
                         .where(mine))
    return cards, events


def test_a_backup_taken_while_another_thread_writes_is_one_moment(app, session, tmp_path, monkeypatch):
    populate(session)
    stop, written, errors = threading.Event(), [], []
    real_run = backup._run

    def pg_dump_between_writes(*args):
        """PostgreSQL: commits land after the snapshot is exported, during and after pg_dump's start."""
        wait_for_writes(written, errors, 3)
        output = real_run(*args)
        wait_for_writes(written, errors, 3)
        return output

    monkeypatch.setattr(backup, "_run", pg_dump_between_writes)
    writer = threading.Thread(target=keep_writing, args=(app, stop, written, errors))
    writer.start()
    try:
        wait_for_writes(written, errors, 3)
        (tmp_path / "backup").mkdir()                   # an existing empty folder will do
        result = backup.backup(db.engine, photos.upload_folder(), tmp_path / "backup", key=key())
        wait_for_writes(written, errors, 3)
    finally:
        stop.set()
        writer.join(20)
    monkeypatch.undo()
    assert not errors and not writer.is_alive()
    counts = result.manifest.row_counts
    if not ON_POSTGRES:                                  # the copy opens, whole, with the manifest's rows
        copy = tmp_path / "backup" / "careboard.sqlite"
        raw = sqlite3.connect(copy)
        try:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            for name, n in counts.items():
                assert raw.execute(f'SELECT count(*) FROM "{name}"').fetchone() == (n,), name
        finally:
            raw.close()

    db.session.remove()
    plan = backup.check_restore(db.engine, tmp_path / "backup", revisions(), key=key())
    restored = backup.restore(db.engine, photos.upload_folder(), plan)
    assert restored.row_counts == counts and restored.warnings() == []
    with db.engine.connect() as conn:
        cards, events = written_cards_and_events(conn)
    assert cards == events >= 3                          # every card in the snapshot has its history
    assert cards + 2 == counts["card"]                   # populate's two and the writer's up to the snapshot
    assert cards < len(written)                          # and the writer went on after it


def test_backup_refuses_a_folder_that_is_not_empty(app, session, tmp_path):
    populate(session)
    dest = tmp_path / "backups"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    result = cli(app, "backup", dest)
    assert result.exit_code == 1
    assert f"{dest} is not empty" in result.stderr and result.stdout == ""
    assert files(dest) == {"notes.txt": b"keep me"}


@pytest.mark.parametrize("existing", [False, True], ids=["new folder", "empty folder"])
def test_a_backup_that_fails_half_way_leaves_nothing_behind(app, session, tmp_path, monkeypatch, existing):
    populate(session)
    dest = tmp_path / "backup"
    if existing:
        dest.mkdir()

    def disk_full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "_copy_uploads", disk_full)          # after the database was copied
    result = cli(app, "backup", dest)
    assert result.exit_code == 1
    assert "could not be written ([Errno 28] No space left on device); nothing was kept" in result.stderr
    assert (list(dest.iterdir()) == []) if existing else not dest.exists()


def test_a_photo_file_missing_from_the_upload_folder_is_a_warning(app, session, tmp_path):
    photo = populate(session)
    photos.path_of(photo.sha256, thumb=True).unlink()
    result = cli(app, "backup", tmp_path / "backup")
    assert result.exit_code == 0, result.output
    missing = f"{photo.sha256[:2]}/{photo.sha256}_thumb.jpg"
    assert f"warning: {missing} is named by a photo row" in result.stderr
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["missing_uploads"] == [missing]
    assert [f["path"] for f in manifest["uploads"]] == [f"{photo.sha256[:2]}/{photo.sha256}.jpg"]


def edit_manifest(change, signed_by: bytes | None = None):
    """A spoiler that changes the manifest and signs it again (with this app's key unless told another), as a
    CareBoard with a fault would have written it: what the checks after the signature's have to catch."""
    def spoil(folder: Path) -> None:
        path = folder / "manifest.json"
        manifest = json.loads(path.read_text(encoding="utf-8"))
        change(manifest)
        manifest["signature"] = backup.sign(manifest, signed_by or key())
        path.write_text(json.dumps(manifest), encoding="utf-8")
    return spoil


def first_upload(folder: Path) -> Path:
    return sorted(p for p in (folder / "uploads").rglob("*") if p.is_file())[0]


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def other_kind(manifest: dict) -> None:
    manifest["database"] = OTHER_KIND
    manifest["database_file"]["path"] = backup.DATABASE_FILES[OTHER_KIND]


def no_manifest(folder: Path) -> None:
    (folder / "manifest.json").unlink()


def garbled_manifest(folder: Path) -> None:
    (folder / "manifest.json").write_text('{"format_version": 1, "da', encoding="utf-8")


def tampered_photo(folder: Path) -> None:
    flip_a_byte(first_upload(folder))


def missing_photo(folder: Path) -> None:
    first_upload(folder).unlink()


def tampered_database(folder: Path) -> None:
    flip_a_byte(folder / backup.DATABASE_FILES[KIND])


@pytest.mark.parametrize("spoil,message", [
    (no_manifest, "has no manifest.json"),
    (garbled_manifest, "manifest.json is damaged"),
    (edit_manifest(lambda m: m.pop("alembic_revision")), "is damaged (missing 'alembic_revision')"),
    (edit_manifest(lambda m: m.update(format_version=2)), "has format version 2"),
    (edit_manifest(other_kind), f"backup of a {OTHER_KIND} database, but CareBoard is configured for"),
    (edit_manifest(lambda m: m.update(alembic_revision="9999_future")), "it comes from a newer CareBoard"),
    (edit_manifest(lambda m: m["uploads"][0].update(path="../../out.jpg")), "unsafe file path '../../out.jpg'"),
    (tampered_photo, "does not match its checksum in the manifest"),
    (missing_photo, "is missing from the backup"),
    (tampered_database, f"The database file {backup.DATABASE_FILES[KIND]} does not match"),
], ids=["no manifest", "garbled manifest", "no revision", "future format", "other database", "newer schema",
        "path outside", "tampered photo", "missing photo", "tampered database"])
def test_a_restore_that_fails_a_check_changes_nothing(app, session, tmp_path, spoil, message):
    populate(session)
    folder = make_backup(tmp_path)
    change_everything(session)
    spoil(folder)
    before = state()
    result = cli(app, "restore", folder, "--yes")
    assert result.exit_code == 1
    assert message in result.stderr and "Nothing was changed." in result.stderr
    assert result.stdout == ""
    assert state() == before


def test_restore_asks_first_and_no_changes_nothing(app, session, tmp_path):
    populate(session)
    folder = make_backup(tmp_path)
    backed_up = contents()
    change_everything(session)
    before = state()
    declined = cli(app, "restore", folder, input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert "Replace all data in" in declined.stdout
    assert state() == before
    accepted = cli(app, "restore", folder, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "uploads: 1 files added, 1 already present" in accepted.stdout
    assert contents() == backed_up


def test_an_older_schema_backup_is_restored_and_the_upgrade_is_named(app, session, tmp_path):
    older = revisions()[-2]
    populate(session)
    db.session.remove()
    try:
        downgrade(revision=older)
        folder = make_backup(tmp_path)
        backed_up = contents()
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM card_event"))
        result = cli(app, "restore", folder, "--yes")
        assert result.exit_code == 0, result.output
        assert f"schema revision {older}" in result.stdout
        assert "run `flask --app careboard db upgrade` now" in result.stdout
        assert contents() == backed_up
    finally:
        db.session.remove()
        upgrade()                                        # PostgreSQL: later tests share the run's schema
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == revisions()[-1]


def test_a_table_that_the_backup_does_not_have(app, session, tmp_path):
    populate(session)
    folder = make_backup(tmp_path)
    backed_up = contents()
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE later_feature (id integer PRIMARY KEY)"))
        conn.execute(text("INSERT INTO later_feature VALUES (1)"))
    try:
        before = state()
        result = cli(app, "restore", folder, "--yes")
        if ON_POSTGRES:                                  # pg_restore --clean would leave it behind: refused
            assert result.exit_code == 1
            assert "tables that the backup does not: later_feature" in result.stderr
            assert state() == before
        else:                                            # the SQLite file is replaced whole
            assert result.exit_code == 0, result.output
            assert contents() == backed_up
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS later_feature"))


def database_bytes() -> dict[str, bytes]:
    """SQLite: the database's files byte for byte (after the pool closed them, so the WAL is checkpointed);
    PostgreSQL: every row (a server's files are not ours to read)."""
    db.session.remove()
    db.engine.dispose()
    if ON_POSTGRES:
        return {name: repr(rows).encode() for name, rows in contents().items()}
    path = Path(db.engine.url.database)
    return {p.name: p.read_bytes() for p in path.parent.glob(f"{path.name}*")}


def rehash_database(folder: Path) -> None:
    """Put the database file's new size and checksum into the manifest, leaving its signature as it was."""
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    data = (folder / manifest["database_file"]["path"]).read_bytes()
    manifest["database_file"].update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    path.write_text(json.dumps(manifest), encoding="utf-8")


def alter_database(folder: Path) -> None:
    """Change the backup's database: SQLite, a password hash swapped for the intruder's; PostgreSQL, a byte."""
    copy = folder / backup.DATABASE_FILES[KIND]
    if ON_POSTGRES:
        flip_a_byte(copy)
        return
    raw = sqlite3.connect(copy)
    with raw:
        raw.execute("UPDATE user SET password_hash = 'pbkdf2:sha256:1000$intruder$0000' WHERE username = 'sales1'")
    raw.close()


def test_a_database_altered_with_its_checksum_recomputed_is_refused(app, session, tmp_path):
    populate(session)
    folder = make_backup(tmp_path)
    alter_database(folder)
    rehash_database(folder)                             # the checksums agree again; the signature does not
    before = state()
    result = cli(app, "restore", folder, "--yes")
    assert result.exit_code == 1 and result.stdout == ""
    assert "The signature of the backup's manifest.json does not match: the backup was changed after it was " \
           "made, or it was made by a CareBoard with another SECRET_KEY. Nothing was changed." in result.stderr
    assert state() == before


def test_an_unsigned_backup_is_refused_unless_restore_is_told_unsigned(app, session, tmp_path):
    populate(session)
    folder = make_backup(tmp_path)
    backed_up = contents()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["signature"].startswith("hmac-sha256:") and len(manifest["signature"]) == 12 + 64
    del manifest["signature"]                           # as a backup of an older CareBoard was written
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    change_everything(session)
    before = state()

    refused = cli(app, "restore", folder, "--yes")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "The backup's manifest.json is not signed" in refused.stderr
    assert "Nothing was changed. Only if you know where this backup comes from and that nobody changed it, " \
           "restore it with --unsigned." in refused.stderr
    assert state() == before

    restored = cli(app, "restore", folder, "--yes", "--unsigned")
    assert restored.exit_code == 0, restored.output
    assert "warning: The backup's manifest.json is not signed" in restored.stderr
    assert "Restoring it anyway (--unsigned): nothing shows that this backup was made by this CareBoard" \
        in restored.stderr
    assert contents() == backed_up


def test_a_backup_made_with_another_secret_key_is_refused(app, app_config, session, tmp_path):
    populate(session)
    other = create_app(type("OtherStore", (app_config,), {"SECRET_KEY": "another-store-secret-key"}))
    other.instance_path = app.instance_path
    with other.app_context():
        made = cli(other, "backup", tmp_path / "backup")
        db.session.remove()
        db.engine.dispose()
    assert made.exit_code == 0, made.output
    change_everything(session)
    before = state()
    result = cli(app, "restore", tmp_path / "backup", "--yes")
    assert result.exit_code == 1
    assert "does not match: the backup was changed after it was made, or it was made by a CareBoard with " \
           "another SECRET_KEY" in result.stderr
    assert state() == before


def one_card_more(manifest: dict) -> None:
    manifest["row_counts"]["card"] += 1


def a_table_more(manifest: dict) -> None:
    manifest["row_counts"]["later_feature"] = 3


@pytest.mark.parametrize("change,message", [
    (one_card_more, "card: {cards} in the file, {more} in the manifest"),
    (a_table_more, "later_feature: no table in the file, 3 in the manifest"),
], ids=["a count differs", "a table is missing"])
def test_row_counts_that_differ_from_the_manifest_are_refused_before_anything_changes(
        app, session, tmp_path, change, message):
    populate(session)
    folder = make_backup(tmp_path)
    cards = contents()["card"]
    edit_manifest(change)(folder)                       # signed as it is: a backup that lost rows on the way
    change_everything(session)
    before, before_bytes = state(), database_bytes()
    result = cli(app, "restore", folder, "--yes")
    assert result.exit_code == 1 and result.stdout == ""
    assert "The backup's database file does not hold the rows its manifest counts (" in result.stderr
    assert message.format(cards=len(cards), more=len(cards) + 1) in result.stderr
    assert "the backup is incomplete or was altered. Nothing was changed." in result.stderr
    assert database_bytes() == before_bytes and state() == before


@pytest.mark.parametrize("url,schema,libpq", [
    ("postgresql+psycopg://care:s3cret@db.example:5433/careboard", None,
     "postgresql://care@db.example:5433/careboard"),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dcareboard_test_1",
     "careboard_test_1",
     "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dcareboard_test_1"),
    ("postgresql+psycopg://care@/careboard?host=/run/postgresql&options=-c%20search_path%3Dstore1,public",
     "store1",
     "postgresql://care@/careboard?host=%2Frun%2Fpostgresql&options=-c%20search_path%3Dstore1%2Cpublic"),
])
def test_the_sqlalchemy_url_becomes_a_libpq_url_without_the_password(url, schema, libpq):
    assert backup.selected_schema(make_url(url)) == schema
    assert backup.libpq_url(make_url(url)) == libpq
    with_timeout = backup.libpq_url(make_url(url), extra_options="-c lock_timeout=60s")
    assert "s3cret" not in with_timeout and "lock_timeout%3D60s" in with_timeout and "+" not in with_timeout
