"""Feature-schema hash: a short fingerprint of an ordered list of feature names.

A model is only valid for the exact feature list (names and order) it was trained on; the hash is
stored in the model sidecar and checked when the model is loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def feature_schema_hash(feature_names: Sequence[str]) -> str:
    """First 16 hex chars of sha256 over the names joined by ``"\\n"``, in order."""
    if isinstance(feature_names, str):
        raise TypeError("feature_names must be a sequence of names, not one string")
    joined = "\n".join(feature_names)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]
