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


def test_every_package_and_template_ships_in_the_wheel():
    """A package missing from pyproject's list installs without it (the fresh-clone CI run
    failed on graphc.ir.passes); templates ship as package data by suffix."""
    import pathlib
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 on
    root = pathlib.Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = set(config["packages"])
    for init in (root / "graphc").rglob("__init__.py"):
        name = ".".join(init.parent.relative_to(root).parts)
        assert name in packages, f"{name} is not in pyproject.toml's packages"
    for template in (root / "templates").rglob("*"):
        if template.is_file() and template.name != "README.md":
            package = ".".join(("graphc",) + template.parent.relative_to(root).parts)
            patterns = config["package-data"].get(package, [])
            assert any(template.match(pattern) for pattern in patterns), \
                f"{template.relative_to(root)} is not shipped ({package}: {patterns})"
