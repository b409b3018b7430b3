"""Production refuses any secret key that appears in CareBoard's own files and any weak one
(careboard/config.py secret_key_problem): whoever knows the key can forge a session cookie."""
from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from careboard import create_app
from careboard.config import DEV_SECRET_KEY, TEST_SECRET_KEY, ConfigurationError, ProductionConfig, secret_key_problem

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "deploy" / "careboard.env.example"


def example_value() -> str:
    line = next(line for line in EXAMPLE.read_text().splitlines() if line.startswith("SECRET_KEY="))
    return line.split("=", 1)[1]


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.sqlite")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    return monkeypatch


@pytest.mark.parametrize("key,message", [
    (DEV_SECRET_KEY, "published"),
    (TEST_SECRET_KEY, "published"),
    ("change-me-to-64-random-hex-characters", "published"),          # the example's value until 2026-12
    ("short-but-random-Xq7", "too short"),
    ("a" * 64, "too weak"),
    ("0123456789" * 4, "too weak"),
    ("ab" * 20 + "a", "too weak"),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabcdefghij", "too weak"),
    ("change-me-" + secrets.token_hex(16), "published"),             # a placeholder with something appended
], ids=["dev", "test", "old-example", "short", "one-character", "digits-repeated", "pattern", "low-entropy",
        "placeholder"])
def test_production_refuses_the_key_with_a_clear_message(production_env, key, message):
    production_env.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigurationError, match=message) as refused:
        create_app(ProductionConfig)
    assert "SECRET_KEY" in str(refused.value) and "token_hex(32)" in str(refused.value)


def test_the_example_files_value_is_refused(production_env):
    value = example_value()
    assert secret_key_problem(value) is not None
    if value:
        production_env.setenv("SECRET_KEY", value)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_a_strong_key_that_appears_in_the_repository_is_refused(tmp_path):
    key = secrets.token_hex(32)
    assert secret_key_problem(key, root=tmp_path) is None
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "careboard.env.example").write_text(f"SECRET_KEY={key}\n")
    assert "appears in CareBoard's own files" in secret_key_problem(key, root=tmp_path)
    (tmp_path / "deploy" / "careboard.env.example").write_text("SECRET_KEY=\n")
    (tmp_path / "README.md").write_text(f"For example: `{key}`\n")
    assert "README.md" in secret_key_problem(key, root=tmp_path)


def test_the_real_env_file_of_an_operator_is_not_scanned(tmp_path):
    key = secrets.token_hex(32)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "careboard.env").write_text(f"SECRET_KEY={key}\n")
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text(f"SECRET_KEY = {key!r}\n")
    assert secret_key_problem(key, root=tmp_path) is None


def test_a_value_from_the_repositorys_own_files_is_refused():
    # A long, varied line of this very file: as strong as it looks, it is published.
    key = "Qz8-published-in-the-tests-7XkLmN2pRt5VwY9bHc3JdF6gS"
    assert "appears in CareBoard's own files" in secret_key_problem(key)


@pytest.mark.parametrize("key", [secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_hex(16)],
                         ids=["token_hex-32", "token_urlsafe-32", "token_hex-16"])
def test_a_generated_key_is_accepted(production_env, key):
    production_env.setenv("SECRET_KEY", key)
    assert secret_key_problem(key) is None
    assert create_app(ProductionConfig).config["SECRET_KEY"] == key


def test_random_bytes_from_instance_config_are_accepted_and_repeated_bytes_refused():
    import os
    assert secret_key_problem(os.urandom(32)) is None
    assert "too weak" in secret_key_problem(b"\x00" * 32)
