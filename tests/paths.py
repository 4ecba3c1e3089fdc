"""Where the tests find the repository and the real payloads in ../shared/fixtures."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
SOLANA_FIXTURES = SHARED_FIXTURES / "solana"
