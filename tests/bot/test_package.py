"""The wheel (issue 15): it carries the chart style and every other asset, its entry point is
`moonbot`, and installed on its own (outside this checkout) it finds its assets through
importlib.resources and answers `--version` from any directory.

Built offline from a copy of the sources (``pip wheel --no-deps --no-build-isolation``), so the
checkout gets no build/ or egg-info of the test's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.paths import REPO

PACKAGES = ("bot", "engine", "ml")
# Files under the packages that are not assets: lint configuration, caches.
NOT_ASSETS = {"ruff.toml"}


def _assets_in_tree() -> set[str]:
    """Every file under the packages that is not Python: what must ship as package data."""
    found = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*"):
            inside = path.relative_to(REPO).parts
            if (
                path.is_file()
                and path.suffix not in (".py", ".pyc")
                and path.name not in NOT_ASSETS
                and not any(part.startswith((".", "__pycache__")) for part in inside)
            ):
                found.add(path.relative_to(REPO).as_posix())
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for package in PACKAGES:
        shutil.copytree(
            REPO / package,
            src / package,
            ignore=shutil.ignore_patterns("__pycache__", ".ruff_cache"),
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["--no-index", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("moonbot-*.whl")
    return built


def test_wheel_carries_every_asset(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assets = _assets_in_tree()
    # the files this release ships (a new asset is found by the walk above as well)
    assert {
        "ml/charts/moonbot.mplstyle",
        "bot/dashboard/templates/index.html",
        "bot/dashboard/static/dashboard.css",
    } <= assets
    assert assets - names == set()
    assert not any(n.startswith("tests/") for n in names)


def test_wheel_entry_point_and_version(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        dist_info = next(
            n.split("/")[0] for n in zf.namelist() if n.endswith(".dist-info/METADATA")
        )
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
        metadata = zf.read(f"{dist_info}/METADATA").decode()
    assert "moonbot = bot.cli:main" in entry_points
    version = next(
        line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Version: ")
    )
    assert wheel.name.startswith(f"moonbot-{version}-")
    assert "Requires-Dist: jinja2" in metadata and "Requires-Dist: aiohttp" in metadata


def test_installed_wheel_finds_its_assets_from_any_directory(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
        + ["--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The installed copy comes first on sys.path (this checkout's editable finder comes after
    # every path entry), so the modules and their files are the wheel's.
    code = (
        "import sys, io, contextlib\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        "import ml.charts.base as base, bot.dashboard.app as app\n"
        "print(base.__file__)\n"
        "print(base.STYLE_PATH.is_file(), str(base.STYLE_PATH))\n"
        "print((app._ASSETS / 'static' / 'dashboard.css').is_file())\n"
        "sys.argv = ['moonbot', '--version']\n"
        "from bot.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    print('exit', e.code or 0)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    module, style, css, version, exit_line = ran.stdout.strip().splitlines()
    assert module.startswith(str(site))
    assert style == f"True {site / 'ml' / 'charts' / 'moonbot.mplstyle'}"
    assert css == "True"
    assert version.startswith("moonbot 0.") and exit_line == "exit 0"
