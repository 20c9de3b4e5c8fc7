"""Where a job's files live. Names are fixed: uploaded file names are never used as paths."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from app.jobs.model import is_valid_job_id


@dataclass(frozen=True)
class JobFiles:
    root: Path

    @classmethod
    def of(cls, jobs_dir: Path, job_id: str) -> JobFiles:
        if not is_valid_job_id(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return cls(Path(jobs_dir) / job_id)

    @property
    def upload(self) -> Path:
        return self.root / "input"

    @property
    def result(self) -> Path:
        return self.root / "result.mp4"

    @property
    def report(self) -> Path:
        return self.root / "report.json"

    def reference(self, index: int) -> Path:
        """The index-th reference photo (format found from its content, not its name)."""
        return self.root / f"reference-{int(index)}"

    @property
    def references(self) -> list[Path]:
        return sorted(self.root.glob("reference-*"), key=lambda p: int(p.name.split("-")[1]))

    @property
    def analysis(self) -> Path:
        """The analysis pass, kept for the review step (Analysis.to_dict())."""
        return self.root / "analysis.json"

    @property
    def review(self) -> Path:
        """Decisions as decided, the editor's overrides, and the people (review step)."""
        return self.root / "review.json"

    def thumbnail(self, track_id: int, index: int) -> Path:
        """A face crop of a track (sensitive: served only under the job's URLs)."""
        return self.root / "thumbnails" / f"{int(track_id)}-{int(index)}.jpg"

    def still(self, which: str) -> Path:
        if which not in ("before", "after"):
            raise ValueError(f"still must be 'before' or 'after', got {which!r}")
        return self.root / f"{which}.jpg"

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)
