"""Settings: environment variables with defaults, each with help text.

Nothing is read at import time: ``get_settings()`` reads the environment when called, and
``create_app(settings)`` takes an explicit ``Settings`` so tests build their own.
Every field is documented in the settings table (README.md or docs/SETTINGS.md); a test
fails when one is missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path


def _setting(default, env: str, help: str):
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    host: str = _setting("127.0.0.1", "HOST", "Address the web server listens on; use 0.0.0.0 in a container.")
    port: int = _setting(8000, "PORT", "TCP port the web server listens on.")
    data_dir: Path = _setting(
        Path("data"), "VEIL_DATA_DIR",
        "Directory for the job database (veil.db) and each job's upload, result and report.")
    max_upload_mb: int = _setting(
        2048, "VEIL_MAX_UPLOAD_MB", "Largest upload accepted, in MiB; larger uploads get 413.")
    max_duration_s: float = _setting(
        3600.0, "VEIL_MAX_DURATION_S", "Longest video accepted, in seconds.")
    max_pixels: int = _setting(
        3840 * 2160, "VEIL_MAX_PIXELS",
        "Largest frame accepted, as width x height in pixels (default: 3840x2160, 4K UHD).")
    max_frames: int = _setting(
        216_000, "VEIL_MAX_FRAMES", "Most frames a video may have (default: one hour at 60 fps).")
    workers: int = _setting(
        1, "VEIL_WORKERS",
        "Worker processes running jobs in parallel; each uses all cores, so 1 suits a small machine.")
    job_retention_h: float = _setting(
        24.0, "VEIL_JOB_RETENTION_H",
        "Hours after a job finishes before its files and record are deleted.")
    poll_interval_ms: int = _setting(
        500, "VEIL_POLL_INTERVAL_MS", "How often the job page asks for progress, in milliseconds.")

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        positive = ("port", "max_upload_mb", "max_duration_s", "max_pixels", "max_frames",
                    "workers", "job_retention_h", "poll_interval_ms")
        for name in positive:
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{_env(name)} must be greater than 0, got {value!r}")
        if self.port > 65535:
            raise ValueError(f"PORT must be at most 65535, got {self.port!r}")

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def db_path(self) -> Path:
        return self.data_dir / "veil.db"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from environment variables; raises ValueError naming a bad variable."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is None or raw.strip() == "":
                continue
            kind = type(f.default)
            try:
                values[f.name] = kind(raw.strip())
            except ValueError:
                kind_name = {int: "a whole number", float: "a number"}.get(kind, kind.__name__)
                raise ValueError(f"{f.metadata['env']} must be {kind_name}, got {raw!r}") from None
        return cls(**values)


def _env(name: str) -> str:
    return next(f.metadata["env"] for f in fields(Settings) if f.name == name)


def settings_help() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for every setting, for docs and tests."""
    return [(f.metadata["env"], str(f.default), f.metadata["help"]) for f in fields(Settings)]


@lru_cache
def get_settings() -> Settings:
    """The process's settings from the environment (cached; ``get_settings.cache_clear()``)."""
    return Settings.from_env()
