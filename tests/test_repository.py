"""The project stands alone: nothing tracked in the repository reads or points to files beside
it (a user's fresh clone has no team folder next to it)."""
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUTSIDE = ("..", "/shared")  # joined below, so this file does not name it itself


def _tracked_files():
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed]


def test_no_tracked_file_points_outside_the_repository():
    needle = "".join(OUTSIDE)
    offenders = []
    for path in _tracked_files():
        if path.is_file() and path.suffix in (".py", ".md", ".txt", ".toml", ".cfg", ""):
            text = path.read_text(encoding="utf-8", errors="ignore")
            if needle in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
