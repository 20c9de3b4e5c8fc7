"""Settings: parsing from the environment, and every setting documented."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from app.config import Settings, get_settings, settings_help

ROOT = Path(__file__).resolve().parents[1]


def _settings_doc() -> tuple[Path, str]:
    readme = ROOT / "README.md"
    if readme.is_file() and "VEIL_DATA_DIR" in readme.read_text():  # README is the manual
        return readme, readme.read_text()
    doc = ROOT / "docs" / "SETTINGS.md"
    return doc, doc.read_text()


def test_settings_are_all_documented():
    path, text = _settings_doc()
    rows = set(re.findall(r"^\|\s*`([A-Z0-9_]+)`\s*\|", text, flags=re.MULTILINE))
    missing = [env for env, _, _ in settings_help() if env not in rows]
    assert not missing, f"settings missing from the table in {path.name}: {missing}"


def test_settings_all_have_help():
    for f in fields(Settings):
        assert f.metadata["env"] and len(f.metadata["help"]) > 10, f.name


def test_settings_from_env_parses_and_defaults():
    settings = Settings.from_env({"PORT": "9001", "VEIL_DATA_DIR": "/srv/veil",
                                  "VEIL_MAX_DURATION_S": "90.5", "VEIL_WORKERS": ""})
    assert settings.port == 9001 and settings.data_dir == Path("/srv/veil")
    assert settings.max_duration_s == 90.5 and settings.workers == 1
    assert settings.db_path == Path("/srv/veil/veil.db")


@pytest.mark.parametrize("environ, message", [
    ({"PORT": "eighty"}, "PORT must be a whole number, got 'eighty'"),
    ({"VEIL_WORKERS": "0"}, "VEIL_WORKERS must be greater than 0, got 0"),
    ({"PORT": "70000"}, "PORT must be at most 65535"),
])
def test_settings_from_env_rejects_bad_values(environ, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Settings.from_env(environ)


def test_get_settings_reads_the_environment_when_called(monkeypatch):
    get_settings.cache_clear()
    monkeypatch.setenv("VEIL_MAX_UPLOAD_MB", "7")
    try:
        assert get_settings().max_upload_mb == 7
    finally:
        get_settings.cache_clear()
