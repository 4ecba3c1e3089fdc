"""`moonbot --help`, `--version` and `config` load none of the ML stack: the commands import what
they need when they run (the timings are in BENCHMARKS.md; this checks what is imported)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.paths import REPO

HEAVY = ("torch", "xgboost", "matplotlib", "pandas", "shap", "scipy", "sklearn")


def _modules_after(argv: list[str]) -> tuple[int, list[str], str]:
    code = (
        "import json, sys\n"
        f"sys.argv = {['moonbot', *argv]!r}\n"
        "from bot.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code or 0\n"
        "else:\n    code = 0\n"
        f"print(json.dumps([code, sorted(m for m in {HEAVY!r} if m in sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    *printed, last = done.stdout.strip().splitlines()
    exit_code, loaded = json.loads(last)
    return exit_code, loaded, "\n".join(printed)


def test_help_loads_nothing_heavy() -> None:
    code, loaded, text = _modules_after(["--help"])
    assert code == 0 and loaded == []
    assert "Usage: moonbot" in text


def test_short_help_and_version() -> None:
    code, loaded, text = _modules_after(["-h"])
    assert code == 0 and loaded == [] and "Usage: moonbot" in text
    code, loaded, text = _modules_after(["--version"])
    assert code == 0 and loaded == []
    assert text.startswith("moonbot 0.")  # the version pyproject.toml declares


def test_config_loads_nothing_heavy(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MOONBOT_DATA_DIR", str(tmp_path))
    code, loaded, text = _modules_after(["config"])
    assert code == 0 and loaded == []
    assert "data_dir" in text
