"""Backup and restore: the database as one consistent snapshot, the uploaded photos, and a manifest that says
what the backup holds, so that a restore can check it before it changes anything.

A backup is a folder:

    careboard.sqlite    SQLite: the online backup API's copy, one self-contained file
    careboard.pgdump    PostgreSQL: pg_dump --format=custom (of the schema the URL selects, if it selects one)
    uploads/            the upload folder's files under the same relative paths
    manifest.json       written last, so a folder without one is not a backup; signed (HMAC-SHA256 with a key
                        derived from SECRET_KEY), so that a backup altered afterwards, or made by another
                        CareBoard, is refused unless the restore is told --unsigned

SQLite is copied with the backup API in a single step, which reads one moment of the database while gunicorn
workers go on writing (WAL mode); the row counts and photo rows of the manifest are read from the copy.
PostgreSQL is dumped by pg_dump from a snapshot that this module exports and reads its own counts and photo
rows from, so manifest and dump agree to the row. Photos are written before their row commits and are never
changed, so the upload folder copied after the snapshot holds every file that a photo row of the snapshot
names; a missing one is reported, not fatal.

A restore checks everything first: the manifest and its signature, the kind of database, the schema revision
against this code's migrations, the checksum of the database file and of every upload, the rows per table
that the database file holds against the manifest's counts (SQLite: read from the copy; PostgreSQL: counted in
the dump's data), and on PostgreSQL the schema the dump belongs to. When one check fails nothing is changed.
Then the database is replaced (SQLite: the backup API into the configured file; PostgreSQL: pg_restore --clean
--if-exists --no-owner --single-transaction) and the missing uploads are added.

Longer than 500 lines because backup and restore are one format: the manifest, its signature and the
checks a restore makes are written beside the code that writes them, for SQLite and PostgreSQL alike, so
the two sides cannot drift apart.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import os
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO, TypeVar
from urllib.parse import quote, urlencode

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, column, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from careboard.services.errors import BackupError

T = TypeVar("T")
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
UPLOADS = "uploads"
DATABASE_FILES = {"sqlite": "careboard.sqlite", "postgresql": "careboard.pgdump"}
RESTORE_LOCK_TIMEOUT = "60s"        # pg_restore gives up on a lock the running app holds instead of hanging
UPGRADE_COMMAND = "flask --app careboard db upgrade"
SIGNATURE = "signature"             # the manifest's field: "hmac-sha256:<hex>" over the rest of it
SIGNATURE_PREFIX = "hmac-sha256:"


@dataclass(frozen=True)
class StoredFile:
    """A file of the backup: its path relative to the backup's database or uploads folder, with /."""

    path: str
    size: int
    sha256: str

    def as_json(self) -> dict:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class Snapshot:
    """What the backed-up database holds, read from the snapshot itself."""

    revision: str
    row_counts: dict[str, int]
    photos: list[str]                   # sha256 of every photo row


@dataclass(frozen=True)
class Manifest:
    created_at: str                     # UTC, ISO 8601
    database: str                       # "sqlite" or "postgresql"
    database_file: StoredFile
    schema: str | None                  # PostgreSQL: the schema pg_dump was limited to; None: all of it
    revision: str                       # alembic_version of the snapshot
    row_counts: dict[str, int]
    uploads: tuple[StoredFile, ...]
    missing_uploads: tuple[str, ...]    # files that photo rows name but the upload folder did not have
    format_version: int = FORMAT_VERSION

    def as_json(self) -> dict:
        return {"format_version": self.format_version, "created_at": self.created_at,
                "database": self.database, "database_file": self.database_file.as_json(),
                "schema": self.schema, "alembic_revision": self.revision, "row_counts": self.row_counts,
                "uploads": [f.as_json() for f in self.uploads], "missing_uploads": list(self.missing_uploads)}

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        """The manifest of a backup folder, or BackupError saying what is wrong with it."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        version = data["format_version"]
        if version != FORMAT_VERSION:
            raise BackupError(f"The backup has format version {version}; this CareBoard reads version "
                              f"{FORMAT_VERSION} only. Nothing was changed.")
        database = data["database"]
        if database not in DATABASE_FILES:
            raise ValueError(f"unknown database kind {database!r}")
        database_file = _stored_file(data["database_file"])
        if database_file.path != DATABASE_FILES[database]:
            raise ValueError(f"the database file of a {database} backup is {DATABASE_FILES[database]}")
        counts = data["row_counts"]
        if not isinstance(counts, dict) or not all(isinstance(n, int) for n in counts.values()):
            raise ValueError("row_counts must map table names to numbers")
        missing = data.get("missing_uploads", [])
        return cls(created_at=str(data["created_at"]), database=database, database_file=database_file,
                   schema=data.get("schema"), revision=_text(data["alembic_revision"], "alembic_revision"),
                   row_counts={str(k): v for k, v in counts.items()},
                   uploads=tuple(_stored_file(f) for f in data["uploads"]),
                   missing_uploads=tuple(str(p) for p in missing), format_version=version)


@dataclass(frozen=True)
class BackupResult:
    folder: Path
    manifest: Manifest

    def lines(self) -> list[str]:
        m = self.manifest
        size = sum(f.size for f in m.uploads)
        return ([f"backed up the {m.database} database (schema revision {m.revision}) to {self.folder}"]
                + _count_lines(m.row_counts)
                + [f"uploads: {len(m.uploads)} files, {_megabytes(size)}",
                   f"manifest: {self.folder / MANIFEST}"])

    def warnings(self) -> list[str]:
        return [f"warning: {path} is named by a photo row but is not in the upload folder; the backup has no "
                f"copy of it" for path in self.manifest.missing_uploads]


@dataclass(frozen=True)
class RestorePlan:
    """A backup that passed every check and may replace the current data."""

    folder: Path
    manifest: Manifest
    head: str                           # this code's newest schema revision
    schema: str | None                  # PostgreSQL: the schema that is replaced
    unverified: str | None = None       # why the signature was not checked (restore --unsigned), else None

    @property
    def needs_upgrade(self) -> bool:
        return self.manifest.revision != self.head

    def lines(self) -> list[str]:
        m = self.manifest
        rows = sum(m.row_counts.values())
        return [f"backup of {m.created_at}: {m.database} database at schema revision {m.revision}, "
                f"{rows} rows in {len(m.row_counts)} tables, {len(m.uploads)} upload files"]

    def warnings(self) -> list[str]:
        if self.unverified is None:
            return []
        return [f"warning: {self.unverified}. Restoring it anyway (--unsigned): nothing shows that this backup "
                f"was made by this CareBoard or that it is unchanged since; its checksums and row counts only "
                f"show that it is complete."]


@dataclass(frozen=True)
class RestoreResult:
    plan: RestorePlan
    row_counts: dict[str, int]
    files_added: int
    files_present: int

    def lines(self) -> list[str]:
        m = self.plan.manifest
        lines = [f"restored the {m.database} database from {self.plan.folder} (backup of {m.created_at}, "
                 f"schema revision {m.revision})"]
        lines += _count_lines(self.row_counts)
        lines.append(f"uploads: {self.files_added} files added, {self.files_present} already present")
        if self.plan.needs_upgrade:
            lines.append(f"The backup is at schema revision {m.revision}, this CareBoard at "
                         f"{self.plan.head}: run `{UPGRADE_COMMAND}` now, before the app serves anyone.")
        return lines

    def warnings(self) -> list[str]:
        expected = self.plan.manifest.row_counts
        return [f"warning: {name} has {self.row_counts.get(name)} rows, the manifest says "
                f"{expected.get(name)}"
                for name in sorted(set(expected) | set(self.row_counts))
                if expected.get(name) != self.row_counts.get(name)]


# --- backup -------------------------------------------------------------------------------------------------

def signing_key(secret_key: str | bytes) -> bytes:
    """The manifest's signing key: derived from the app's SECRET_KEY, and used for nothing else."""
    secret = secret_key.encode("utf-8") if isinstance(secret_key, str) else bytes(secret_key)
    return hmac.new(secret, b"careboard-backup-manifest", hashlib.sha256).digest()


def sign(data: dict, key: bytes) -> str:
    """The signature of a manifest's fields (every field but the signature), in a canonical JSON form."""
    fields = {name: value for name, value in data.items() if name != SIGNATURE}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return SIGNATURE_PREFIX + hmac.new(key, canonical, hashlib.sha256).hexdigest()


def backup(engine: Engine, upload_folder: Path, dest: Path, *, key: bytes) -> BackupResult:
    """Write a backup of the database behind `engine` and of `upload_folder` into the new folder `dest`, its
    manifest signed with `key` (signing_key of the app's SECRET_KEY)."""
    kind = database_kind(engine)
    dest, upload_folder = Path(dest), Path(upload_folder)
    if dest.resolve().is_relative_to(upload_folder.resolve()):
        raise BackupError(f"{dest} is inside the upload folder {upload_folder}: choose a folder elsewhere.")
    created = _claim_folder(dest)
    try:
        database_path = dest / DATABASE_FILES[kind]
        if kind == "sqlite":
            snapshot, schema = _backup_sqlite(engine, database_path), None
        else:
            snapshot, schema = _backup_postgresql(engine, database_path)
        uploads = _copy_uploads(upload_folder, dest / UPLOADS)
        present = {f.path for f in uploads}
        missing = [path for sha in snapshot.photos for path in photo_files(sha) if path not in present]
        size, digest = _hash(database_path)
        manifest = Manifest(created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                            database=kind, database_file=StoredFile(database_path.name, size, digest),
                            schema=schema, revision=snapshot.revision, row_counts=snapshot.row_counts,
                            uploads=tuple(uploads), missing_uploads=tuple(missing))
        fields = manifest.as_json()
        data = json.dumps({**fields, SIGNATURE: sign(fields, key)}, indent=2, ensure_ascii=False).encode("utf-8")
        _write_atomically(dest / MANIFEST, lambda out: out.write(data))
    except OSError as error:
        _discard(dest, created)
        raise BackupError(f"The backup could not be written ({error}); nothing was kept.") from None
    except BaseException:
        _discard(dest, created)
        raise
    return BackupResult(dest, manifest)


def photo_files(sha256: str) -> list[str]:
    """The files a photo row stands for, relative to the upload folder (the names of photos.path_of)."""
    return [f"{sha256[:2]}/{sha256}.jpg", f"{sha256[:2]}/{sha256}_thumb.jpg"]


def _claim_folder(dest: Path) -> bool:
    """Make sure `dest` is a new or empty folder; True when this call created it."""
    if dest.exists() or dest.is_symlink():
        if not dest.is_dir():
            raise BackupError(f"{dest} exists and is not a folder: name a new folder for the backup.")
        if any(dest.iterdir()):
            raise BackupError(f"{dest} is not empty: give a new or empty folder, so that no other files are "
                              f"mixed into the backup. Nothing was written.")
        return False
    try:
        dest.mkdir(parents=True, mode=0o700)           # customers' personal data and password hashes
    except OSError as error:
        raise BackupError(f"{dest} cannot be created ({error.strerror or error}).") from None
    return True


def _discard(dest: Path, created: bool) -> None:
    """Remove what a failed backup wrote: the folder if it made it, else what it put into the empty folder."""
    if created:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _backup_sqlite(engine: Engine, target: Path) -> Snapshot:
    _require_sqlite_file(engine)
    source = engine.raw_connection()
    try:
        copy = sqlite3.connect(target)
        try:
            source.driver_connection.backup(copy)          # pages=-1: one step, one moment of the database
            copy.execute("PRAGMA journal_mode=DELETE")     # a self-contained file, no -wal beside it
            check = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise BackupError(f"The SQLite backup failed: {error}.") from None
    finally:
        source.close()
    if check != ["ok"]:
        raise BackupError(f"The copy of the database fails SQLite's integrity check "
                          f"({'; '.join(check[:3])}): the database itself may be damaged. "
                          f"No backup was written.")
    reader = _sqlite_engine(target)
    try:
        with reader.connect() as conn:
            return _read_snapshot(conn, None)
    finally:
        reader.dispose()


def _backup_postgresql(engine: Engine, target: Path) -> tuple[Snapshot, str | None]:
    pg_dump = _tool("pg_dump")
    selected = selected_schema(engine.url)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            snapshot_id = conn.scalar(text("SELECT pg_export_snapshot()"))    # pg_dump reads this same moment
            args = [pg_dump, "--format=custom", "--no-owner", f"--snapshot={snapshot_id}", f"--file={target}"]
            if selected:
                args.append(f"--schema={selected}")
            _run(args + [libpq_url(engine.url)], engine.url, "pg_dump")
            return _read_snapshot(conn, selected or _current_schema(conn)), selected


def _read_snapshot(conn: Connection, schema: str | None) -> Snapshot:
    names = sorted(inspect(conn).get_table_names(schema=schema))
    if "alembic_version" not in names:
        raise BackupError(f"The database has no schema revision (no alembic_version table): run "
                          f"`{UPGRADE_COMMAND}` first.")
    counts = {name: conn.scalar(select(func.count()).select_from(table(name, schema=schema)))
              for name in names}
    version = table("alembic_version", column("version_num"), schema=schema)
    revisions = list(conn.scalars(select(version.c.version_num)))
    if len(revisions) != 1:
        raise BackupError(f"The database should be at one schema revision, not {len(revisions)} "
                          f"({', '.join(revisions) or 'none'}): run `{UPGRADE_COMMAND}` first.")
    photos = []
    if "photo" in names:
        photos = list(conn.scalars(select(table("photo", column("sha256"), schema=schema).c.sha256)))
    return Snapshot(revision=revisions[0], row_counts=counts, photos=photos)


def _copy_uploads(source: Path, target: Path) -> list[StoredFile]:
    target.mkdir()
    if not source.is_dir():
        return []
    copied = []
    for path in sorted(source.rglob("*")):
        if path.name.startswith(".") or not path.is_file():      # .upload-*: a photo being written right now
            continue
        relative = path.relative_to(source).as_posix()
        size, digest = _copy_file(path, target / relative)
        copied.append(StoredFile(relative, size, digest))
    return copied


# --- restore ------------------------------------------------------------------------------------------------

def migration_revisions(directory: str | Path) -> list[str]:
    """This code's schema revisions, oldest first (the last is the head)."""
    script = ScriptDirectory(str(directory))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def read_manifest(folder: Path, key: bytes, *, allow_unsigned: bool = False) -> tuple[Manifest, str | None]:
    """The backup's manifest once its signature is checked, with None; with `allow_unsigned`, an unsigned or
    wrongly signed one is returned as well, with what is wrong with its signature."""
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise BackupError(f"{folder} is not a folder. Nothing was changed.")
    if not path.is_file():
        raise BackupError(f"{folder} has no {MANIFEST}: it is not a CareBoard backup, or the backup did not "
                          f"finish. Nothing was changed.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        unverified = _signature_problem(data, key)
        if unverified is not None and not allow_unsigned:
            raise BackupError(f"{unverified}. Nothing was changed. Only if you know where this backup comes "
                              f"from and that nobody changed it, restore it with --unsigned.")
        return Manifest.from_json(data), unverified
    except BackupError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        what = f"missing {error}" if isinstance(error, KeyError) else str(error)
        raise BackupError(f"{path} is damaged ({what}): this backup cannot be restored. "
                          f"Nothing was changed.") from None


def _signature_problem(data: dict, key: bytes) -> str | None:
    """None when the manifest carries its signature by `key`; else what is wrong, as a sentence."""
    signature = data.get(SIGNATURE)
    if not signature:
        return f"The backup's {MANIFEST} is not signed (a backup of an older CareBoard, or the signature was " \
               f"removed)"
    if not isinstance(signature, str) or not hmac.compare_digest(signature.encode("utf-8"),
                                                                 sign(data, key).encode("utf-8")):
        return f"The signature of the backup's {MANIFEST} does not match: the backup was changed after it " \
               f"was made, or it was made by a CareBoard with another SECRET_KEY"
    return None


def check_restore(engine: Engine, folder: Path, revisions: Sequence[str], *, key: bytes,
                  allow_unsigned: bool = False) -> RestorePlan:
    """Every check a restore makes before it touches anything; raises BackupError on the first that fails.
    `key` (signing_key of SECRET_KEY) checks the manifest's signature; `allow_unsigned` accepts a manifest
    without a valid one, and the plan says so in its warnings."""
    folder = Path(folder)
    manifest, unverified = read_manifest(folder, key, allow_unsigned=allow_unsigned)
    kind = database_kind(engine)
    if manifest.database != kind:
        raise BackupError(f"This is a backup of a {manifest.database} database, but CareBoard is configured "
                          f"for {kind}: restore it into a {manifest.database} database (DATABASE_URL). "
                          f"Nothing was changed.")
    if manifest.revision not in revisions:
        raise BackupError(f"The backup is at schema revision {manifest.revision}, which this CareBoard "
                          f"does not know (its newest is {revisions[-1]}): it comes from a newer CareBoard. "
                          f"Update CareBoard first, then restore. Nothing was changed.")
    _verify(folder, manifest.database_file, "database file")
    for upload in manifest.uploads:
        _verify(folder / UPLOADS, upload, "upload")
    schema = None
    database_path = folder / manifest.database_file.path
    if kind == "postgresql":
        schema = _check_archive(engine, database_path)
        counts = _archive_row_counts(database_path)
    else:
        counts = _check_sqlite_copy(database_path, manifest)
    _check_row_counts(counts, manifest.row_counts)
    return RestorePlan(folder=folder, manifest=manifest, head=revisions[-1], schema=schema, unverified=unverified)


def restore(engine: Engine, upload_folder: Path, plan: RestorePlan) -> RestoreResult:
    """Replace the database with the backup's and add its uploads that the upload folder lacks."""
    database_path = plan.folder / plan.manifest.database_file.path
    engine.dispose()                                  # no pooled connection keeps the old tables
    if plan.manifest.database == "sqlite":
        _restore_sqlite(engine, database_path)
    else:
        _restore_postgresql(engine, database_path)
    engine.dispose()
    try:
        added = present = 0
        for upload in plan.manifest.uploads:
            target = Path(upload_folder) / upload.path
            if target.exists():                       # named by its content: the same photo
                present += 1
                continue
            _copy_file(plan.folder / UPLOADS / upload.path, target)
            added += 1
    except OSError as error:
        raise BackupError(f"The database was restored, but copying the photos back failed "
                          f"({error.strerror or error}): fix that and run the restore again.") from None
    with engine.connect() as conn:
        counts = _read_snapshot(conn, plan.schema).row_counts
    return RestoreResult(plan=plan, row_counts=counts, files_added=added, files_present=present)


def _verify(folder: Path, stored: StoredFile, what: str) -> None:
    path = folder / stored.path
    if not path.is_file():
        raise BackupError(f"The {what} {stored.path} is missing from the backup. Nothing was changed.")
    if _hash(path) != (stored.size, stored.sha256):
        raise BackupError(f"The {what} {stored.path} does not match its checksum in the manifest: the "
                          f"backup is damaged or was altered. Nothing was changed.")


def _check_sqlite_copy(path: Path, manifest: Manifest) -> dict[str, int]:
    """The rows per table of the backup's SQLite file, after checking its schema revision."""
    reader = _sqlite_engine(path)
    try:
        with reader.connect() as conn:
            snapshot = _read_snapshot(conn, None)
    except (BackupError, DBAPIError, OSError) as error:
        raise BackupError(f"The database file of the backup cannot be read ({error}). Nothing was changed.") \
            from None
    finally:
        reader.dispose()
    if snapshot.revision != manifest.revision:
        raise BackupError(f"The database file is at schema revision {snapshot.revision}, the manifest says "
                          f"{manifest.revision}. Nothing was changed.")
    return snapshot.row_counts


# "COPY <schema>.<table> (<columns>) FROM stdin;": the start of a table's rows in pg_restore's SQL output
COPY_LINE = re.compile(rb'^COPY (?:(?:"(?:[^"]|"")+"|[^ ."(]+)\.)?("(?:[^"]|"")+"|[^ ."(]+) .*FROM stdin;$')


def _archive_row_counts(path: Path) -> dict[str, int]:
    """The rows per table in a pg_dump archive, counted in the data pg_restore writes out (COPY text format:
    one line per row, newlines inside values escaped), without restoring anything."""
    args = [_tool("pg_restore"), "--data-only", "--file=-", str(path)]
    counts: dict[str, int] = {}
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        table_name = None
        for line in process.stdout:
            line = line.rstrip(b"\n")
            if table_name is not None:
                if line == b"\\.":
                    table_name = None
                else:
                    counts[table_name] += 1
            elif match := COPY_LINE.match(line):
                name = match.group(1).decode("utf-8")
                table_name = name[1:-1].replace('""', '"') if name.startswith('"') else name
                counts.setdefault(table_name, 0)
        said = process.stderr.read().decode("utf-8", "replace").strip()
    if process.returncode != 0:
        raise BackupError(f"pg_restore cannot read the backup's data ({said or process.returncode}). "
                          f"Nothing was changed.")
    return counts


def _check_row_counts(found: dict[str, int], expected: dict[str, int]) -> None:
    """Refuse a database file whose rows per table are not the manifest's: incomplete or altered."""
    differ = [f"{name}: {found.get(name, 'no table')} in the file, {expected.get(name, 'none')} in the manifest"
              for name in sorted(set(found) | set(expected)) if found.get(name) != expected.get(name)]
    if differ:
        shown = "; ".join(differ[:5]) + (f"; and {len(differ) - 5} more" if len(differ) > 5 else "")
        raise BackupError(f"The backup's database file does not hold the rows its manifest counts ({shown}): "
                          f"the backup is incomplete or was altered. Nothing was changed.")


def _check_archive(engine: Engine, path: Path) -> str:
    """The schema pg_restore will replace; refuses a dump of another schema, and tables it would leave."""
    listing = _run([_tool("pg_restore"), "--list", str(path)], None, "pg_restore --list")
    tables = set()
    for line in listing.splitlines():
        words = line.split()         # "216; 1259 16389 TABLE <schema> <name> <owner>"
        if len(words) >= 6 and not line.startswith(";") and words[3] == "TABLE" and words[4] != "DATA":
            tables.add((words[4], words[5]))
    schemas = {schema for schema, _ in tables}
    with engine.connect() as conn:
        target = selected_schema(engine.url) or _current_schema(conn) or "public"
        present = set(inspect(conn).get_table_names(schema=target))
    if schemas != {target}:
        raise BackupError(f"The backup's tables are in the schema {', '.join(sorted(schemas)) or '(none)'}, "
                          f"this CareBoard's database uses the schema {target}: pg_restore puts tables back "
                          f"where they came from. Select that schema (options=-csearch_path=... in "
                          f"DATABASE_URL). Nothing was changed.")
    extra = sorted(present - {name for _, name in tables})
    if extra:
        raise BackupError(f"The database has tables that the backup does not: {', '.join(extra)}. pg_restore "
                          f"would leave them, and they would stop a later `{UPGRADE_COMMAND}`. If they come "
                          f"from a newer schema, first run `flask --app careboard db downgrade "
                          f"<the backup's revision>`, or restore into an empty database. "
                          f"Nothing was changed.")
    return target


def _restore_sqlite(engine: Engine, path: Path) -> None:
    _require_sqlite_file(engine)
    source = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    target = engine.raw_connection()
    try:
        source.backup(target.driver_connection)        # all pages in one write transaction
    except sqlite3.Error as error:
        raise BackupError(f"The SQLite restore failed ({error}); the database is as it was.") from None
    finally:
        target.close()
        source.close()


def _restore_postgresql(engine: Engine, path: Path) -> None:
    url = libpq_url(engine.url, extra_options=f"-c lock_timeout={RESTORE_LOCK_TIMEOUT}")
    args = [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
            f"--dbname={url}", str(path)]
    try:
        _run(args, engine.url, "pg_restore")
    except BackupError as error:
        locked = "lock timeout" in str(error)
        hint = " Stop the app (or whatever holds the tables) and try again." if locked else ""
        raise BackupError(f"{error} It ran in one transaction, so the database is as it was.{hint}") from None


# --- database helpers ---------------------------------------------------------------------------------------

def database_kind(engine: Engine) -> str:
    kind = engine.dialect.name
    if kind not in DATABASE_FILES:
        raise BackupError(f"Backups are made of SQLite and PostgreSQL databases, not of {kind}.")
    return kind


def _require_sqlite_file(engine: Engine) -> None:
    name = engine.url.database or ""
    if name in ("", ":memory:") or "mode=memory" in name:
        raise BackupError("The database is in memory: there is no file to back up or restore.")


def _sqlite_engine(path: Path) -> Engine:
    """A read-only engine on a SQLite file that is not the app's."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=NullPool)


def _current_schema(conn: Connection) -> str | None:
    return conn.scalar(text("SELECT current_schema()"))


def selected_schema(url: URL) -> str | None:
    """The first schema of a search_path that the URL sets with options=-csearch_path=<schema>, if any."""
    options = url.query.get("options") or ""
    if isinstance(options, tuple):
        options = " ".join(options)
    words = shlex.split(options)
    settings = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "-c"]
    settings += [word[2:] for word in words if word.startswith(("-c", "--")) and len(word) > 2]
    for setting in settings:
        name, _, value = setting.partition("=")
        if name.strip().replace("-", "_") == "search_path":
            first = value.split(",")[0].strip().strip('"')
            return first if first and not first.startswith("$") else None
    return None


def libpq_url(url: URL, *, extra_options: str = "") -> str:
    """The SQLAlchemy URL as a libpq connection URI for pg_dump and pg_restore, without the password (which
    goes into PGPASSWORD, not onto a command line that `ps` shows)."""
    query = dict(url.query)
    if extra_options:
        options = query.get("options") or ""
        options = " ".join(options) if isinstance(options, tuple) else options
        query["options"] = f"{options} {extra_options}".strip()
    bare = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                      database=url.database)
    uri = bare.render_as_string(hide_password=False)
    return f"{uri}?{urlencode(query, doseq=True, quote_via=quote)}" if query else uri   # %20, not +: libpq


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found: install the PostgreSQL client programs of the server's "
                          f"version (Debian: apt install postgresql-client).")
    return path


def _run(args: list[str], url: URL | None, what: str) -> str:
    """Run a PostgreSQL client program; its output, or BackupError with what it said."""
    env = dict(os.environ)
    if url is not None and url.password:
        env["PGPASSWORD"] = url.password
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = done.stderr.strip() or f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {said}.")
    return done.stdout


# --- files --------------------------------------------------------------------------------------------------

def _stored_file(data: object) -> StoredFile:
    if not isinstance(data, dict):
        raise ValueError("a file entry must be a JSON object")
    path = _text(data["path"], "path")
    parts = PurePosixPath(path).parts
    if PurePosixPath(path).is_absolute() or "\\" in path or not parts or any(p in ("..", ".") for p in parts):
        raise ValueError(f"unsafe file path {path!r}")
    size, sha = data["size"], _text(data["sha256"], "sha256")
    if not isinstance(size, int) or len(sha) != 64:
        raise ValueError(f"bad size or sha256 for {path!r}")
    return StoredFile(path, size, sha)


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _hash(path: Path, out: BinaryIO | None = None) -> tuple[int, str]:
    """The size and sha256 of a file, written on to `out` as it is read if one is given."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
    return size, digest.hexdigest()


def _copy_file(source: Path, target: Path) -> tuple[int, str]:
    """Copy atomically; the size and sha256 of what was copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return _write_atomically(target, lambda out: _hash(source, out))


def _write_atomically(target: Path, write: Callable[[BinaryIO], T]) -> T:
    """Write through a temporary file beside `target` (a dot name, which backups pass over), then rename it:
    a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".careboard-")
    try:
        with os.fdopen(fd, "wb") as out:
            result = write(out)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return result


def _count_lines(counts: dict[str, int]) -> list[str]:
    width = max((len(name) for name in counts), default=0)
    return [f"  {name.ljust(width)}  {n} {'row' if n == 1 else 'rows'}" for name, n in sorted(counts.items())]


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
