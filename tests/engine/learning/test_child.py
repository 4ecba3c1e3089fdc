"""`/retrain`'s training in a child process (engine/learning/child.py): the same answer and the
same progress as in this process, errors as before, at a lower priority, and no child outlives
a stopped training or a dead parent (issue 13, point 6)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.errors import ModelUnavailable
from engine.learning import child
from engine.learning.training import Dataset, train_and_compare
from ml.registry import Registry
from tests.paths import REPO

FAST = {"n_estimators": 60, "max_depth": 3, "n_jobs": 1}
BOUND_S = 60.0


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def state_and_nice(pid: int) -> tuple[str, int] | None:
    """A process's state letter and niceness (proc(5) stat fields 3 and 19); None when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[16])


def job(tmp_path: Path, ds: Dataset | None, **kw: object) -> child.TrainJob:
    return child.TrainJob(
        models_dir=tmp_path / "models",
        holdout_fraction=0.2,
        min_gain=0.002,
        params=FAST,
        threex=False,
        dataset=ds,
        **kw,  # type: ignore[arg-type]
    )


async def test_the_child_gives_the_same_report_and_progress(
    sim_signals: Dataset, tmp_path: Path
) -> None:
    here: list[tuple[int, int]] = []
    expected = train_and_compare(
        sim_signals,
        Registry(tmp_path / "here"),
        holdout_fraction=0.2,
        min_gain=0.002,
        params=FAST,
        progress=lambda done, total: here.append((done, total)),
    )
    there: list[tuple[int, int]] = []
    report = await child.train_in_child(
        job(tmp_path, sim_signals), lambda done, total: there.append((done, total))
    )
    assert there == here and len(here) > 10  # every boosting round reached this process
    assert report.metrics == expected.metrics and report.prior_metrics == expected.prior_metrics
    assert (report.promoted, report.reason, report.objective) == (
        expected.promoted,
        expected.reason,
        expected.objective,
    )
    registry = Registry(tmp_path / "models")  # the child saved (and promoted) the model there
    assert registry.get(report.version).champion == report.promoted
    assert children(os.getpid()) == []


async def test_an_engine_error_is_the_same_error_and_a_bug_a_runtime_error(
    sim_signals: Dataset, tmp_path: Path
) -> None:
    few = sim_signals.rows(slice(0, 40))
    with pytest.raises(ModelUnavailable) as here:
        train_and_compare(few, Registry(tmp_path / "here"), holdout_fraction=0.2, min_gain=0.002)
    with pytest.raises(ModelUnavailable) as there:
        await child.train_in_child(job(tmp_path, few))
    assert (
        str(there.value)
        == str(here.value)
        == "not enough labeled signals to train: 40 (need about 72)"
    )
    with pytest.raises(RuntimeError) as bug:
        await child.train_in_child(job(tmp_path, None))  # neither a database nor signals
    assert str(bug.value) == (
        "the training process failed: RuntimeError: a training job needs a database URL or a dataset"
    )
    assert children(os.getpid()) == []


async def test_a_stopped_training_ends_its_child_which_ran_at_lower_priority(
    sim_signals: Dataset, tmp_path: Path
) -> None:
    started = asyncio.Event()
    task = asyncio.create_task(
        child.train_in_child(job(tmp_path, sim_signals), lambda done, total: started.set())
    )
    await asyncio.wait_for(started.wait(), BOUND_S)  # the child is boosting
    (pid,) = children(os.getpid())
    seen = state_and_nice(pid)
    assert seen is not None and seen[1] == min(19, os.nice(0) + child.NICE)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert state_and_nice(pid) is None  # ended and reaped, not left running
    assert children(os.getpid()) == []
    assert not list((tmp_path / "models").glob("*/model.json"))  # no model half-written


PARENT = """
import asyncio, os, sys
from pathlib import Path
from engine.learning import child
from tests.engine.learning.test_child import FAST, children
from tests.engine.learning.test_insights import _dataset

def progress(done, total):
    print(children(os.getpid())[0], flush=True)
    os._exit(0)  # the parent dies mid-training: no clean-up of any kind

job = child.TrainJob(models_dir=Path(sys.argv[1]), holdout_fraction=0.2, min_gain=0.002,
                     params=FAST, threex=False, dataset=_dataset(3000))
asyncio.run(child.train_in_child(job, progress))
"""


def test_the_child_leaves_when_its_parent_dies(tmp_path: Path) -> None:
    out = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", PARENT, str(tmp_path / "models")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        check=True,
    )
    pid = int(out.stdout.split()[0])
    deadline = datetime.now(UTC) + timedelta(seconds=BOUND_S)
    while (seen := state_and_nice(pid)) is not None and seen[0] != "Z":  # Z: exited, unreaped
        assert datetime.now(UTC) < deadline, f"training child {pid} still running: {seen}"
        time.sleep(0.05)  # poll again, bounded by the deadline
    assert seen is None or seen[0] == "Z"


def test_only_a_database_in_this_process_is_loaded_here() -> None:
    assert child.in_memory("sqlite+aiosqlite://")
    assert child.in_memory("sqlite+aiosqlite:///:memory:")
    assert child.in_memory("sqlite+aiosqlite:///file:shared?mode=memory&uri=true")
    assert not child.in_memory("sqlite+aiosqlite:////tmp/data/moonbot.db")
    assert not child.in_memory("postgresql+asyncpg://moonbot:secret@127.0.0.1:5432/moonbot")


def test_the_job_never_shows_the_database_url(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://moonbot:hunter2@db/moonbot"
    assert "hunter2" not in repr(job(tmp_path, None, db_url=url))
