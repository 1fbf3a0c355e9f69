"""Shared test set-up: the plan cache lives in a temporary folder, never the user's."""

from __future__ import annotations

import os
import tempfile

# set before any test imports the engine: every CLI run in the suite uses this cache
os.environ.setdefault("INDEXLAB_PLAN_CACHE", tempfile.mkdtemp(prefix="indexlab-plans-"))
