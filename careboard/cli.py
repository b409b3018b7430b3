"""Command-line tools: `flask --app careboard demo` and friends."""
from __future__ import annotations

import click
from flask import Flask

from careboard.extensions import db
from careboard.services import DomainError


def init_app(app: Flask) -> None:
    @app.cli.command("demo")
    @click.option("--force", is_flag=True, help="Add demo data even to a database with real accounts.")
    def demo_command(force: bool) -> None:
        """Create the demo store and accounts (password careboard-demo). Safe to run again."""
        from careboard.services import demo
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

    @app.cli.command("tick")
    @click.option("--now", "now_text", metavar="ISO-TIME", help="Pretend it is this time (e.g. 2026-11-25T08:00+08:00).")
    def tick_command(now_text: str | None) -> None:
        """Run the care rules: create the callback, reminder and inspection cards that are due. Idempotent."""
        from careboard.services import care_rules
        now = care_rules.parse_now(now_text)
        report = care_rules.tick(db.session, now=now)
        db.session.commit()
        for line in report.lines():
            click.echo(line)

    @app.cli.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
    def import_command(path: str, dry_run: bool) -> None:
        """Import customers, vehicles, sales and visits from a DMS export (CSV or XLSX). All or nothing."""
        from careboard.services import customer_import
        ok = customer_import.cli_import(db.session, path, dry_run=dry_run, echo=click.echo)
        if not ok:
            db.session.rollback()
            raise click.exceptions.Exit(1)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--display-name", default="Administrator")
    @click.password_option()
    def create_admin_command(username: str, display_name: str, password: str) -> None:
        """Create the first administrator of a real store."""
        from careboard.models import Level, Role
        from careboard.services import accounts
        from careboard.services import checklist
        try:
            accounts.create_user(db.session, username=username, display_name=display_name,
                                 role=Role.ANALYST, level=Level.ADMIN, password=password)
            checklist.ensure_default_areas(db.session)          # a new store starts with the default 5S set
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
        click.echo(f"administrator {username} created")
