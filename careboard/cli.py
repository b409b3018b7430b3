"""Command-line tools: `flask --app careboard demo` and friends."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import Flask

from careboard import runner
from careboard.extensions import db
from careboard.models import Level, Role
from careboard.services import (accounts, backup, checklist, customer_import, demo, import_jobs, kpi, kpi_engine,
                                photos)
from careboard.services import settings as settings_service
from careboard.services import tick as tick_service
from careboard.services.errors import DomainError, InputError, TemplateError


def init_app(app: Flask) -> None:
    @app.cli.command("demo")
    @click.option("--force", is_flag=True, help="Add demo data even to a database with real accounts.")
    @click.option("--address", metavar="URL", help="Where CareBoard is served, printed at the end (make run).")
    def demo_command(force: bool, address: str | None) -> None:
        """Create the demo store and accounts (password careboard-demo). Safe to run again. A database that
        holds accounts the demo did not create (a real store's) is left alone, and the command still succeeds,
        so that `make run` goes on serving it."""
        foreign = demo.foreign_users(db.session)
        if foreign and not force:
            db.session.rollback()
            names = ", ".join(foreign[:5]) + ("…" if len(foreign) > 5 else "")
            click.echo(f"Demo data not added: this database holds accounts the demo did not create ({names}). "
                       f"`flask --app careboard demo --force` adds it anyway.")
            _echo_address(address)
            return
        try:
            created = demo.load_demo(db.session, force=force)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
        if created:
            for line in created:
                click.echo(f"created {line}")
        else:
            click.echo("demo data already present; nothing to do")
        click.echo(f"Demo accounts, password {demo.DEMO_PASSWORD}:")
        for line in demo.account_lines():
            click.echo(line)
        _echo_address(address)

    @app.cli.command("tick")
    @click.option("--now", "now_text", metavar="ISO-TIME",
                  help="Pretend it is this time (e.g. 2026-11-25T08:00+08:00).")
    def tick_command(now_text: str | None) -> None:
        """Run the care rules: create the callback, reminder and inspection cards that are due. Idempotent."""
        try:
            now = runner.parse_now(now_text, settings_service.load(db.session))
        except ValueError as error:                  # not an ISO time, or outside 1900–2100 (DateOutOfRange)
            raise click.BadParameter(str(error), param_hint="--now") from None
        if not tick_service.claim_tick(db.session, now=now):
            db.session.rollback()
            click.echo("another tick is running; nothing done")
            return
        report = tick_service.tick(db.session, now=now)
        db.session.commit()
        for line in report.lines():
            click.echo(line)
        sent = runner.send_robot_messages(app)
        if sent:
            click.echo(f"chat robots: {sent} messages tried")

    @app.cli.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
    def import_command(path: str, dry_run: bool) -> None:
        """Import customers, vehicles, sales and visits from a DMS export (CSV or XLSX). All or nothing."""
        ok = customer_import.cli_import(db.session, path, dry_run=dry_run, echo=click.echo)
        if not ok:
            db.session.rollback()
            raise click.exceptions.Exit(1)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()

    @app.cli.command("import-jobs")
    def import_jobs_command() -> None:
        """Run the uploaded imports that are waiting (after a restart) and fail those whose worker stopped.
        Safe to run from cron next to `flask tick`."""
        ran = import_jobs.run_pending(lambda: db.session)
        click.echo(f"{ran} import jobs run")

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--display-name", default="Administrator")
    @click.password_option()
    def create_admin_command(username: str, display_name: str, password: str) -> None:
        """Create the first administrator of a real store (no care role: give it one on the accounts page if
        this person also works cards)."""
        try:
            accounts.create_user(db.session, username=username, display_name=display_name,
                                 role=Role.NONE, level=Level.ADMIN, password=password)
            checklist.ensure_default_areas(db.session)          # a new store starts with the default 5S set
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
        click.echo(f"administrator {username} created")

    @app.cli.command("backup")
    @click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
    def backup_command(dest: Path) -> None:
        """Back up the database (a consistent snapshot, also while the app runs) and the uploaded photos into
        DEST, a new or empty folder, with a manifest.json that `restore` checks."""
        try:
            result = backup.backup(db.engine, photos.upload_folder(), dest,
                                   key=backup.signing_key(app.config["SECRET_KEY"]))
        except DomainError as error:
            raise click.ClickException(str(error)) from None
        _echo_report(result)

    @app.cli.command("restore")
    @click.argument("src", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Replace the current data without asking.")
    @click.option("--unsigned", is_flag=True,
                  help="Restore even when the manifest is not signed with this CareBoard's SECRET_KEY (a backup "
                       "of an older version, or made before the key was changed). Only for a backup you trust.")
    def restore_command(src: Path, yes: bool, unsigned: bool) -> None:
        """Replace the database and add the uploaded photos from the backup folder SRC, after checking its
        manifest and signature, schema revision, checksums and row counts (nothing is changed when a check
        fails)."""
        db.session.remove()                                     # no open transaction holds the tables
        revisions = backup.migration_revisions(app.extensions["migrate"].directory)
        try:
            plan = backup.check_restore(db.engine, src, revisions, allow_unsigned=unsigned,
                                        key=backup.signing_key(app.config["SECRET_KEY"]))
            for line in plan.lines():
                click.echo(line)
            for line in plan.warnings():
                click.echo(line, err=True)
            if not yes:
                click.confirm(f"Replace all data in {db.engine.url.render_as_string(hide_password=True)} with "
                              f"this backup?", abort=True)
            result = backup.restore(db.engine, photos.upload_folder(), plan)
        except DomainError as error:
            raise click.ClickException(str(error)) from None
        _echo_report(result)

    @app.cli.group("kpi")
    def kpi_group() -> None:
        """KPI scorecards (考核): score a month's figures against a role's template."""

    @kpi_group.command("compute")
    @click.option("--role", required=True, help="The role whose template scores the inputs (e.g. cs_supervisor).")
    @click.option("--inputs", "inputs_path", required=True, metavar="FILE.json",
                  help="The month's inputs, keyed by metric code (the format is in services/kpi_engine.py).")
    @click.option("--template", "template_path", metavar="FILE.json",
                  help="Score with this template instead of the role's saved (or default) one.")
    def kpi_compute_command(role: str, inputs_path: str, template_path: str | None) -> None:
        """Print the full computation as JSON: each metric's raw value, score and how it came about, the
        total and the coefficients. Writes nothing. The same what-if on the web is a form built from the
        template's metrics (/scorecard/templates/<role>); here the figures stay JSON, rates as fractions."""
        inputs = _read_json(inputs_path, "--inputs")
        if not isinstance(inputs, dict):
            raise click.ClickException(f"{inputs_path}: the inputs must be a JSON object keyed by metric code.")
        if template_path:
            template = _read_json(template_path, "--template")
        else:
            template = kpi.template_data(db.session, role)
            if template is None:
                raise click.ClickException(f"There is no KPI template for the role {role}; "
                                           f"give one with --template.")
        try:
            result = kpi_engine.compute(template, inputs)
        except (TemplateError, InputError) as error:
            raise click.ClickException(str(error)) from None
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))


def _echo_address(address: str | None) -> None:
    """The last line of `make run`'s set-up: where to open CareBoard."""
    if not address:
        return
    url = urlsplit(address)
    if url.hostname in ("0.0.0.0", "::"):                     # every interface: name the ones people can use
        port = f":{url.port}" if url.port else ""
        click.echo(f"CareBoard: http://127.0.0.1{port}/ on this computer; tablets and phones on the same network "
                   f"use this computer's network address{port and ', port ' + str(url.port)}.")
    else:
        click.echo(f"CareBoard: {address}")


def _echo_report(result) -> None:
    """A backup's or a restore's report on stdout, its warnings on stderr (where cron mails them)."""
    for line in result.lines():
        click.echo(line)
    for line in result.warnings():
        click.echo(line, err=True)


def _read_json(path: str, option: str) -> object:
    """A JSON file's contents, or a ClickException saying why the file cannot be used."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as error:
        raise click.ClickException(f"{option} {path}: cannot be read ({error.strerror or error}).") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise click.ClickException(f"{option} {path}: not valid JSON ({error}).") from None
