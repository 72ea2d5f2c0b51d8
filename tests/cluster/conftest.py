"""Ray's settings for every test here and every process they start (the nodes, drivers).

Ray reads `RAY_ENABLE_UV_RUN_RUNTIME_ENV` when it is imported; CI runs pytest through
`uv run`, and with it on, Ray would start each worker with `uv run` in a copy of the
test project, which is no uv project (see `opsbench/cluster/__init__.py`).
"""

from __future__ import annotations

import os

os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
