"""`make run` on a fresh clone: set up, then serve with gunicorn (as deploy/ does), on HOST:PORT, with the
development settings; `make dev` is Flask's reloading development server."""
from __future__ import annotations

import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from gunicorn.util import import_app

from careboard.config import DEV_SECRET_KEY

ROOT = Path(__file__).resolve().parents[1]
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_run(target: str, **variables: str) -> list[str]:
    """The commands `make -n TARGET` would run (nothing is run), one per line."""
    args = ["make", "-n", "-C", str(ROOT), target, *(f"{k}={v}" for k, v in variables.items())]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip() and not line.startswith("make")]


@needs_make
def test_make_run_serves_with_gunicorn_on_host_and_port():
    lines = _dry_run("run", HOST="0.0.0.0", PORT="8123")
    serve = shlex.split(lines[-1])
    assert serve[0] == "CAREBOARD_BIND=0.0.0.0:8123"
    assert Path(serve[1]).name == "gunicorn" and serve[2:] == ["-c", "gunicorn.conf.py", "careboard:create_app()"]
    # Set-up comes first; the demo is told where the app is served, so it can say so last.
    assert any("flask --app careboard db upgrade" in line for line in lines)
    assert any("flask --app careboard demo --address http://0.0.0.0:8123/" in line for line in lines)
    assert not any(" run --" in line and "flask" in line for line in lines)     # not the development server


@needs_make
def test_make_dev_is_the_reloading_development_server():
    serve = shlex.split(_dry_run("dev", PORT="8124")[-1])
    assert serve[-6:] == ["run", "--reload", "--host", "127.0.0.1", "--port", "8124"]
    assert "--debug" not in serve                       # no interactive debugger on an address tablets reach


def test_gunicorn_is_a_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(dep.startswith("gunicorn") for dep in project["dependencies"])


def test_the_factory_make_run_names_starts_with_the_development_settings(tmp_path, monkeypatch):
    """gunicorn imports `careboard:create_app()` outside production: the development key is accepted."""
    monkeypatch.delenv("CAREBOARD_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'run.sqlite'}")
    monkeypatch.setenv("CAREBOARD_AUTO_TICK_SECONDS", "0")
    app = import_app("careboard:create_app()")
    assert app.config["SECRET_KEY"] == DEV_SECRET_KEY and not app.config["SESSION_COOKIE_SECURE"]
    with app.test_client() as client:
        assert client.get("/health").status_code in (200, 503)
