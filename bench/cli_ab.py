"""Veil's CLI at two commits on the same clips, interleaved: wall time, and whether the outputs
are the same file.

    .venv/bin/python bench/cli_ab.py [--clips A.mp4 B.mp4 PHOTOS/ ...] [--repeats 3]
                                     [--section NAME] BEFORE AFTER [-- CLI flags, e.g. --fast]

Each commit is checked out once into bench/out/ab/<commit> (a git worktree, the installed
models linked in) and run with this checkout's venv, as `python -m app anonymize CLIP -o OUT
-q`: the whole process, model load included. Runs alternate BEFORE, AFTER, BEFORE, ... so
that both meet the same load on a shared machine; the table gives the median and every run.
Default clips: the speed clips (the 720p clip and its 1080p version, bench/video.py speed).
A folder is run as the CLI's folder mode (photos), its output folders compared file by file.
"""

from __future__ import annotations

import argparse
import filecmp
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (CLIP_720P, OUT_DIR, ROOT, VEIL_PY, command_line, machine_note,  # noqa: E402
                    md_table, run, write_section)


def checkout(rev: str) -> tuple[str, Path]:
    """(short commit, a worktree of it with this checkout's models)."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    tree = OUT_DIR / "ab" / commit
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True,
                       capture_output=True)
    for model in (ROOT / "models").iterdir():
        link = tree / "models" / model.name
        if model.name != "README.md" and not link.exists():
            link.symlink_to(model)
    return commit, tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--clips", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--section", default="cli-ab")
    parser.add_argument("cli_args", nargs="*", help="extra arguments for both CLIs (after --)")
    args = parser.parse_args()
    if args.clips is None:
        from video import VIDEO_OUT, make_1080p

        clip1080 = VIDEO_OUT / "speed" / f"{CLIP_720P.stem}_1080p.mp4"
        if not clip1080.exists():
            make_1080p(CLIP_720P, clip1080)
        args.clips = [CLIP_720P, clip1080]
    trees = dict(checkout(rev) for rev in (args.before, args.after))
    out_dir = OUT_DIR / "ab" / "outputs"
    rows = []
    for clip in args.clips:
        clip = clip.resolve()
        times: dict[str, list[float]] = {commit: [] for commit in trees}
        for rep in range(args.repeats):
            for commit, tree in trees.items():
                out = out_dir / (f"{clip.name}-{commit}" if clip.is_dir() else f"{clip.stem}-{commit}.mp4")
                cmd = [str(VEIL_PY), "-m", "app", "anonymize", str(clip), "-o", str(out), "-q", *args.cli_args]
                times[commit].append(run(cmd, out.parent / f"{out.name}.log", cwd=tree))
                print(clip.name, commit, f"{times[commit][-1]:.2f} s", flush=True)
        (a, ta), (b, tb) = times.items()
        if clip.is_dir():
            files = sorted(f.relative_to(clip) for f in clip.rglob("*") if f.is_file())
            differ = [f for f in files if not filecmp.cmp(out_dir / f"{clip.name}-{a}" / f,
                                                          out_dir / f"{clip.name}-{b}" / f, shallow=False)]
            same = "yes" if not differ else f"{len(files) - len(differ)} of {len(files)} files"
        else:
            same = "yes" if filecmp.cmp(out_dir / f"{clip.stem}-{a}.mp4", out_dir / f"{clip.stem}-{b}.mp4",
                                        shallow=False) else "no"
        med_a, med_b = statistics.median(ta), statistics.median(tb)
        rows.append([clip.name, f"{med_a:.2f}", f"{med_b:.2f}", f"{med_a / med_b:.2f}",
                     " / ".join(f"{t:.1f}" for t in ta), " / ".join(f"{t:.1f}" for t in tb), same])
    header = ["clip", f"{a} s (median)", f"{b} s (median)", f"{a} / {b}", f"{a} runs (s)", f"{b} runs (s)",
              "same output file"]
    body = (f"### Veil CLI at {a} and {b}, same clips, interleaved\n\n`{command_line()}` ({machine_note()}; "
            f"{args.repeats} runs each, alternating; whole `python -m app anonymize` process"
            f"{', with ' + ' '.join(args.cli_args) if args.cli_args else ''})\n\n"
            + md_table(header, rows))
    print(body)
    write_section(args.section, body)


if __name__ == "__main__":
    main()
