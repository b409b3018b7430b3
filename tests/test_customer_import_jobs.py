"""The import as a background job: run_job called directly (no thread timing), the progress page and its
htmx fragment, a job whose worker stopped, `flask import-jobs`, one real thread, and that a job belongs to
its uploader (another supervisor or a director gets 404 and nothing is imported)."""
from __future__ import annotations

import csv
import io
import os
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from careboard.dbtypes import utcnow
from careboard.extensions import db
from careboard.models import Customer, ImportJob, JobPhase, JobStatus
from careboard.services import customer_import, import_jobs

pytestmark = pytest.mark.usefixtures("english")      # messages in English (the msgids)


@pytest.fixture
def app_config(app_config):
    return type("ImportInline", (app_config,), {"IMPORT_IN_BACKGROUND": False})


def csv_bytes(rows: int, start: int = 1) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["客户姓名", "手机号", "车架号"])
    writer.writerows([f"客户{n}", f"1380{n:07d}", f"LSVAU2180N{n:07d}"] for n in range(start, start + rows))
    return buffer.getvalue().encode()


def customers(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Customer))


def queued(session, user, content: bytes, name: str = "export.csv") -> ImportJob:
    job = import_jobs.new_job(session, uploader=user, file_name=name, extension="csv")
    import_jobs.upload_path(job).write_bytes(content)
    session.commit()
    return job


@pytest.fixture
def supervisors(people, session):
    for user in people.values():
        user.language = "en"
    session.commit()
    return people


def login(app, username: str):
    from tests.factories import PASSWORD
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 303
    return client


# ---------------------------------------------------------------- the runner, called directly


def test_run_job_checks_then_imports_after_confirmation(app, session, supervisors):
    job = queued(session, supervisors["supervisor"], csv_bytes(3))
    done = import_jobs.run_job(lambda: db.session, job.id)
    assert (done.status, done.phase, done.rows_done) == (JobStatus.DONE, JobPhase.CHECK, 3)
    report = customer_import.ImportReport.from_json(done.report)
    assert report.ok and not report.applied and report.customers_created == 3
    assert report.sample[1] == (2, ["客户1", "13800000001", "LSVAU2180N0000001"])
    assert customers(session) == 0 and import_jobs.upload_path(job).exists()
    assert not import_jobs.progress_path(job).exists()
    assert import_jobs.run_job(lambda: db.session, job.id) is None          # not queued: nobody runs it twice

    assert import_jobs.confirm(session, job, now=utcnow())
    session.commit()
    assert not import_jobs.confirm(session, job, now=utcnow())              # a second click queues nothing
    imported = import_jobs.run_job(lambda: db.session, job.id)
    assert (imported.status, imported.phase) == (JobStatus.DONE, JobPhase.IMPORT)
    assert customer_import.ImportReport.from_json(imported.report).applied
    assert customers(session) == 3 and not import_jobs.upload_path(job).exists()


def test_a_refused_check_keeps_no_file_and_cannot_be_confirmed(app, session, supervisors):
    job = queued(session, supervisors["supervisor"], "客户姓名,车架号\n,LSVAU2180N0000001\n".encode())
    done = import_jobs.run_job(lambda: db.session, job.id)
    assert done.status == JobStatus.DONE and not customer_import.ImportReport.from_json(done.report).ok
    assert not import_jobs.upload_path(job).exists()
    assert not import_jobs.confirm(session, job, now=utcnow())


def test_an_unexpected_error_fails_the_job_with_a_message(app, session, supervisors, monkeypatch):
    job = queued(session, supervisors["supervisor"], csv_bytes(2))

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(customer_import, "plan_import", broken)
    failed = import_jobs.run_job(lambda: db.session, job.id)
    assert failed.status == JobStatus.FAILED and "unexpected error" in failed.failure
    assert not import_jobs.upload_path(job).exists()


def test_the_progress_callback_is_called_as_rows_are_read(app, session, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(csv_bytes(600))
    calls = []
    customer_import.plan_import(session, path, progress=lambda rows, lines: calls.append((rows, lines)))
    assert calls == [(0, 601), (250, 601), (500, 601)]


# ---------------------------------------------------------------- the pages


def test_the_progress_page_polls_until_the_job_is_done(app, session, supervisors):
    job = queued(session, supervisors["supervisor"], csv_bytes(3))
    client = login(app, "supervisor")
    html = client.get(f"/customers/import/{job.token}").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in html and "Waiting to start" in html and "<progress" in html
    assert f'href="/customers/import/{job.token}"' in html                  # the refresh link, without JavaScript

    session.execute(db.update(ImportJob).where(ImportJob.id == job.id).values(status=JobStatus.RUNNING.value,
                                                                               started_at=utcnow()))
    session.commit()
    import_jobs.progress_path(job).write_text("120 400")
    fragment = client.get(f"/customers/import/{job.token}", headers={"HX-Request": "true",
                                                                    "HX-Target": "import-job"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and text.lstrip().startswith('<div id="import-job"')
    assert 'hx-trigger="every 2s"' in text and "120 of about 399 rows read" in text
    assert 'value="120"' in text and 'max="399"' in text
    assert "HX-Request" in fragment.headers["Vary"]

    session.execute(db.update(ImportJob).where(ImportJob.id == job.id).values(status=JobStatus.QUEUED.value))
    session.commit()
    import_jobs.run_job(lambda: db.session, job.id)
    done = client.get(f"/customers/import/{job.token}", headers={"HX-Request": "true", "HX-Target": "import-job"})
    text = done.get_data(as_text=True)
    assert 'hx-trigger="every 2s"' not in text and "Ready to import" in text and "Confirm import" in text


def test_a_job_that_has_just_started_shows_its_progress_without_a_progress_file(app, session, supervisors):
    """Running, but the runner has not written its first heartbeat yet (seen in the browser test: a 500)."""
    job = queued(session, supervisors["supervisor"], csv_bytes(3))
    session.execute(db.update(ImportJob).where(ImportJob.id == job.id).values(status=JobStatus.RUNNING.value,
                                                                               started_at=utcnow()))
    session.commit()
    assert not import_jobs.progress_path(job).exists()
    response = login(app, "supervisor").get(f"/customers/import/{job.token}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in html and "Reading the file" in html


def test_a_job_whose_worker_stopped_shows_as_failed_and_is_swept(app, session, supervisors):
    job = queued(session, supervisors["supervisor"], csv_bytes(3))
    session.execute(db.update(ImportJob).where(ImportJob.id == job.id).values(status=JobStatus.RUNNING.value,
                                                                               started_at=utcnow()))
    session.commit()
    beat = import_jobs.progress_path(job)
    beat.write_text("250 4000")
    old = time.time() - import_jobs.STALE_SECONDS - 60
    os.utime(beat, (old, old))
    html = login(app, "supervisor").get(f"/customers/import/{job.token}").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' not in html and "The server stopped" in html

    result = app.test_cli_runner().invoke(args=["import-jobs"])
    assert result.exit_code == 0 and "0 import jobs run" in result.output
    session.expire_all()
    assert session.get(ImportJob, job.id).status == JobStatus.FAILED
    assert not import_jobs.upload_path(job).exists() and not beat.exists()


def test_flask_import_jobs_runs_what_a_restart_left_waiting(app, session, supervisors):
    first = queued(session, supervisors["supervisor"], csv_bytes(2))
    second = queued(session, supervisors["director"], csv_bytes(2, start=10))
    result = app.test_cli_runner().invoke(args=["import-jobs"])
    assert result.exit_code == 0 and "2 import jobs run" in result.output
    session.expire_all()
    assert [session.get(ImportJob, j.id).status for j in (first, second)] == [JobStatus.DONE, JobStatus.DONE]


def test_the_upload_page_lists_ones_own_recent_imports_only(app, session, supervisors):
    queued(session, supervisors["supervisor"], csv_bytes(1), name="mine.csv")
    queued(session, supervisors["director"], csv_bytes(1), name="theirs.csv")
    html = login(app, "supervisor").get("/customers/import").get_data(as_text=True)
    assert "mine.csv" in html and "theirs.csv" not in html


# ---------------------------------------------------------------- whose job it is (finding 21a)


@pytest.mark.parametrize("other", ["director", "admin", "second supervisor"])
def test_another_account_cannot_see_or_confirm_an_upload(app, session, supervisors, other):
    if other == "second supervisor":
        from careboard.models import Level, Role
        from tests.factories import make_user
        make_user(session, "supervisor2", role=Role.CS_SUPERVISOR, level=Level.SUPERVISOR)
        session.commit()
        other = "supervisor2"
    owner = login(app, "supervisor")
    response = owner.post("/customers/import", data={"file": (io.BytesIO(csv_bytes(2)), "export.csv")},
                          content_type="multipart/form-data")
    token = re.fullmatch(r"/customers/import/([0-9a-f]{32})", response.headers["Location"]).group(1)
    assert "Confirm import" in owner.get(f"/customers/import/{token}").get_data(as_text=True)

    intruder = login(app, other)
    assert intruder.get(f"/customers/import/{token}").status_code == 404
    assert intruder.post(f"/customers/import/{token}").status_code == 404
    assert customers(session) == 0
    session.expire_all()
    job = session.scalar(select(ImportJob).where(ImportJob.token == token))
    assert (job.phase, job.status) == (JobPhase.CHECK, JobStatus.DONE)         # still waiting for its owner
    assert owner.post(f"/customers/import/{token}").status_code == 303
    assert customers(session) == 2


# ---------------------------------------------------------------- the real thread


def test_the_upload_runs_the_check_in_a_background_thread(app, session, supervisors):
    app.config["IMPORT_IN_BACKGROUND"] = True
    client = login(app, "supervisor")
    before = set(threading.enumerate())
    response = client.post("/customers/import", data={"file": (io.BytesIO(csv_bytes(5)), "export.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    workers = [t for t in set(threading.enumerate()) - before if t.name == "careboard-import"]
    for worker in workers:
        worker.join(timeout=60)
    assert workers and not any(worker.is_alive() for worker in workers)
    session.expire_all()
    job = session.scalar(select(ImportJob))
    assert (job.status, job.rows_done) == (JobStatus.DONE, 5)
    assert "Ready to import" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_job_may_wait_a_day_for_confirmation_not_longer(app, session, supervisors):
    job = queued(session, supervisors["supervisor"], csv_bytes(1))
    import_jobs.run_job(lambda: db.session, job.id)
    later = job.finished_at + timedelta(seconds=import_jobs.KEEP_SECONDS + 1)
    assert import_jobs.awaiting_confirmation(job, job.finished_at + timedelta(hours=23))
    assert not import_jobs.confirm(session, job, now=later)


def test_files_of_the_uploads_folder_are_named_by_token(app, session, supervisors):
    job = queued(session, supervisors["supervisor"], csv_bytes(1), name="../../etc/passwd.csv")
    assert import_jobs.upload_path(job) == Path(app.instance_path) / "imports" / f"{job.token}.csv"


def test_the_check_page_shows_the_first_rows_as_read_and_refuses_another_encoding(app, session, supervisors):
    client = login(app, "supervisor")
    good = client.post("/customers/import", data={"file": (io.BytesIO(csv_bytes(2)), "export.csv")},
                       content_type="multipart/form-data")
    html = client.get(good.headers["Location"]).get_data(as_text=True)
    sample = re.search(r'<table class="table stacked" id="import-sample">(.*?)</table>', html, re.DOTALL).group(1)
    assert "<td>客户姓名</td>" in sample and "<td>客户1</td>" in sample

    shift_jis = "Name,Mobile,VIN\n山田太郎,13800000001,LSVAU2180N0000001\n佐藤花子,13800000002,LSVAU2180N0000002\n"
    bad = client.post("/customers/import", data={"file": (io.BytesIO(shift_jis.encode("shift_jis")), "export.csv")},
                      content_type="multipart/form-data")
    html = client.get(bad.headers["Location"]).get_data(as_text=True)
    assert "This file cannot be imported" in html and "does not read as Chinese" in html
    assert "嶳揷懢榊" in html                                  # the names as GB18030 read them: plainly garbled
    assert "Confirm import" not in html and customers(session) == 0
