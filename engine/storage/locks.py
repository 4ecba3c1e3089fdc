"""Locks between the processes that share one data dir (the bot, and `moonbot train` or `ask
/retrain` from a shell): an exclusive ``flock`` on a file, which the system drops when its
holder dies, so a killed process never leaves a stale lock."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

TRAINING_LOCK = "training.lock"


@asynccontextmanager
async def held(path: Path) -> AsyncIterator[None]:
    """Hold the lock on ``path`` (made if missing), waiting for another process's hold."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def training(data_dir: Path) -> Path:
    """The lock one training (train, compare, save, promote, record) holds from start to end:
    a second one, in any process, then compares with the champion the first left."""
    return data_dir / TRAINING_LOCK
