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

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--display-name", default="Administrator")
    @click.password_option()
    def create_admin_command(username: str, display_name: str, password: str) -> None:
        """Create the first administrator of a real store."""
        from careboard.models import Level, Role
        from careboard.services import accounts
        try:
            accounts.create_user(db.session, username=username, display_name=display_name,
                                 role=Role.ANALYST, level=Level.ADMIN, password=password)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
        click.echo(f"administrator {username} created")
